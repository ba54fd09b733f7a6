// The benchmarks' own command-line options, taken out of argv before Google
// Benchmark parses the rest (and reports what it does not know).
#pragma once

#include <hyena/core/execution.hpp>

#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace hyena::bench {

/// Removes `name value` from argv and returns the value; nullopt when absent.
/// Throws std::invalid_argument when the value is missing.
inline std::optional<std::string> take_option(int& argc, char** argv, const char* name) {
  std::optional<std::string> value;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) != 0) {
      argv[out++] = argv[i];
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
    value = argv[++i];
  }
  argc = out;
  return value;
}

/// Removes every `name` from argv; true if there was one.
inline bool take_flag(int& argc, char** argv, const char* name) {
  bool found = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) {
      found = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return found;
}

/// `--threads N`, 0 (every hardware thread, the default) to
/// execution_context::max_threads. Throws std::invalid_argument otherwise.
inline unsigned take_threads(int& argc, char** argv) {
  const auto text = take_option(argc, argv, "--threads");
  if (!text) return 0;
  unsigned n = 0;
  const char* const end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, n);
  if (text->empty() || ec != std::errc() || ptr != end || n > execution_context::max_threads)
    throw std::invalid_argument("--threads needs an integer from 0 to " +
                                std::to_string(execution_context::max_threads) + ", got '" + *text + "'");
  return n;
}

}  // namespace hyena::bench
