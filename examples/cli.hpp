// What hyena's command-line tools share: parsing `--name value` options and
// `--flag`s, `--help`, running one templated body as float or as double
// (`--double`), and how every problem ends the program.
//
// Exit statuses: 0 success; 1 bad input or a failure while running (a file
// that is missing or malformed, a shape the weights reject, ...); 2 a usage
// error (an unknown or repeated option, a missing value, a value out of its
// range). Either failure prints exactly one line on stderr, "<tool>: <what>",
// usage errors followed by "(see --help)". Values are checked when they are
// read, and tools read every option before touching any file, so usage errors
// come first and cost nothing.
#pragma once

#include <hyena/core/execution.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace hyena::cli {

enum exit_status : int { exit_ok = 0, exit_failure = 1, exit_usage = 2 };

/// Bad usage: the tool prints "<tool>: <what> (see --help)" and exits with 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a tool accepts. `--help` and `--double` are added to every tool's flags.
struct tool {
  const char* name;                // "hyena-lm": the prefix of every message
  const char* usage;               // printed by --help
  std::set<std::string> valued;    // options followed by a value
  std::set<std::string> flags;     // options that stand alone
};

/// `text` as an Int: decimal digits only (a leading '-' for signed types),
/// the whole text, no overflow; std::nullopt otherwise.
template <class Int>
std::optional<Int> parse_integer(const std::string& text) {
  static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>, "parse_integer<Int>: Int must be an integer type");
  Int v{};
  const char* const last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), last, v);
  if (text.empty() || ec != std::errc() || ptr != last) return std::nullopt;
  return v;
}

class args {
 public:
  /// Throws usage_error for an unknown argument, a missing value or an option given twice.
  args(int argc, char** argv, const tool& t) : tool_(t) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (t.valued.count(a)) {
        if (i + 1 >= argc) throw usage_error("option " + a + " needs a value");
        if (values_.count(a)) throw usage_error("option " + a + " given twice");
        values_[a] = argv[++i];
      } else if (t.flags.count(a) || a == "--help" || a == "--double") {
        flags_.insert(a);
      } else {
        throw usage_error("unknown argument '" + a + "'");
      }
    }
  }

  const char* program() const noexcept { return tool_.name; }
  bool has(const std::string& name) const { return values_.count(name) || flags_.count(name); }

  /// A required option's value.
  std::string get(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) throw usage_error("missing required option " + name);
    return it->second;
  }
  std::string get(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

  /// A finite number >= `min` (inf, nan and overflowing values are usage errors).
  double number(const std::string& name, double fallback,
                double min = -std::numeric_limits<double>::infinity()) const {
    const auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    const std::string& text = it->second;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      throw usage_error("option " + name + " needs a number, got '" + text + "'");
    if (!std::isfinite(v)) throw usage_error("option " + name + " needs a finite number, got '" + text + "'");
    if (v < min) throw usage_error(name + " must be >= " + format(min) + ", got '" + text + "'");
    return v;
  }

  /// An integer in [min, max], decimal digits only (a leading '-' for signed
  /// types). Values that overflow `Int`, or lie outside the range, are usage
  /// errors naming the option and the range.
  template <class Int>
  Int integer(const std::string& name, Int fallback, Int min = std::numeric_limits<Int>::min(),
              Int max = std::numeric_limits<Int>::max()) const {
    const auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    const std::string& text = it->second;
    const std::optional<Int> v = parse_integer<Int>(text);
    if (!v || *v < min || *v > max) {
      const bool natural = min == 0 && max == std::numeric_limits<Int>::max();
      throw usage_error(name + (natural ? std::string(" needs a non-negative integer")
                                        : " needs an integer from " + std::to_string(min) + " to " +
                                              std::to_string(max)) +
                        ", got '" + text + "'");
    }
    return *v;
  }

  /// `--threads N`: 0 (every hardware thread, the default) to
  /// execution_context::max_threads.
  execution_context threads() const {
    return execution_context(integer<unsigned>("--threads", 0u, 0u, execution_context::max_threads));
  }

  /// Prints "<tool>: note: <what>" on stderr: something the user should know
  /// that does not make the run fail.
  void note(const std::string& what) const { std::fprintf(stderr, "%s: note: %s\n", tool_.name, what.c_str()); }

 private:
  static std::string format(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  const tool& tool_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

namespace detail {

/// One line: a message with a newline in it would break the one-line contract.
inline std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace detail

/// A tool's whole main(): parses the arguments, answers --help, calls
/// body(args, T{}) with T = double under --double and float otherwise (so a
/// generic lambda runs the same templated code in either precision), and
/// turns every exception into one line on stderr and the exit status above.
template <class Body>
int run_tool(int argc, char** argv, const tool& t, Body&& body) noexcept {
  try {
    const args a(argc, argv, t);
    if (a.has("--help")) {
      std::fputs(t.usage, stdout);
      return exit_ok;
    }
    if (a.has("--double")) {
      body(a, double{});
    } else {
      body(a, float{});
    }
    if (std::fflush(stdout) != 0) throw std::runtime_error("cannot write the standard output");
    return exit_ok;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", t.name, detail::one_line(e.what()).c_str());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", t.name, detail::one_line(e.what()).c_str());
    return exit_failure;
  } catch (...) {
    std::fprintf(stderr, "%s: unknown error\n", t.name);
    return exit_failure;
  }
}

}  // namespace hyena::cli
