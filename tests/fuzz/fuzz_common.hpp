// tests/fuzz/fuzz_common.hpp: what every fuzz body shares. The bodies live in
// headers (fuzz_<target>.hpp) so that the libFuzzer drivers and the GoogleTest
// regression test (tests/test_fuzz_regressions.cpp) run the very same code.
//
// The contract a body checks: on any input the library either succeeds or
// throws one of its documented exception types (safetensors_error,
// std::invalid_argument, std::length_error, std::runtime_error). Anything else
// -- another exception type, a broken invariant, a crash, a sanitizer report,
// a leak, a hang, an allocation the harness's limits did not allow -- is a bug.
#pragma once

#include <hyena/io/safetensors_reader.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hyena::fuzz {

/// A property the library promises was broken (e.g. a file it wrote does not
/// read back). Deliberately not one of the documented exception types, so
/// that no body swallows it: libFuzzer reports it as a crash, the regression
/// test as an unexpected exception.
class invariant_error : public std::logic_error {
 public:
  using logic_error::logic_error;
};
static_assert(!std::is_base_of_v<std::runtime_error, invariant_error> &&
                  !std::is_base_of_v<std::invalid_argument, invariant_error> &&
                  !std::is_base_of_v<std::length_error, invariant_error>,
              "a broken invariant must not be caught as one of the library's documented exceptions");

template <class... Parts>
inline void require(bool ok, Parts&&... what) {
  if (!ok) throw invariant_error(detail::concat("fuzz invariant broken: ", std::forward<Parts>(what)...));
}

/// Limits that keep one execution small. They bound what a model built from
/// the input could allocate, from the header's declared shapes alone, before
/// any tensor is read. The library has no such limits: a 64 MiB model is
/// legitimate, just not what a fuzzer should spend its memory on.
inline constexpr index_t max_model_bytes = index_t(64) << 20;
inline constexpr index_t max_filter_length = 4096;
/// The input length of the forward calls: short, so an execution stays cheap.
inline constexpr index_t forward_length = 8;

/// True when the file's tensors, converted to double (the widest type a
/// loader may hold them in), fit in max_model_bytes together, and every
/// implicit filter's grid (the second extent of each "pos_emb.z") is at most
/// max_filter_length points. Never throws for a parsed file.
inline bool within_limits(const safetensors_file& file) {
  index_t total = 0;
  const std::string z_suffix = "pos_emb.z";
  for (const std::string& name : file.names()) {
    const tensor_info& t = file.info(name);
    // A parsed file's element counts are known not to overflow; a zero
    // extent anywhere makes the tensor empty however large the others are.
    const index_t bytes = (t.end - t.begin) / dtype_size(t.type) * sizeof(double);
    if (bytes > max_model_bytes - total) return false;
    total += bytes;
    if (name.size() >= z_suffix.size() && name.compare(name.size() - z_suffix.size(), z_suffix.size(), z_suffix) == 0 &&
        t.shape.size() >= 2 && t.shape[1] > max_filter_length)
      return false;
  }
  return true;
}

/// `load()`'s result, or nothing when it refuses the input with one of the
/// loaders' documented exceptions (std::invalid_argument, std::length_error,
/// std::runtime_error, safetensors_error among the last).
template <class Load>
auto load_or_refuse(Load&& load) -> std::optional<decltype(load())> {
  try {
    return load();
  } catch (const std::invalid_argument&) {
  } catch (const std::length_error&) {
  } catch (const std::runtime_error&) {
  }
  return std::nullopt;
}

/// Parses `data` as a safetensors file; nothing when the library rejects it
/// with safetensors_error, the only exception parse documents.
inline std::optional<safetensors_file> parse(const std::uint8_t* data, std::size_t size) {
  try {
    return safetensors_file::parse(std::vector<std::uint8_t>(data, data + size), "<fuzz input>");
  } catch (const safetensors_error&) {
    return std::nullopt;
  }
}

/// Bitwise equality of two vectors (NaNs with equal payloads compare equal).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// A short deterministic input in [-1, 1], different in every position.
inline std::vector<float> test_signal(index_t n) {
  std::vector<float> u(n);
  for (index_t i = 0; i < n; ++i) u[i] = static_cast<float>(static_cast<int>((i * 7) % 13) - 6) / 6.0f;
  return u;
}

}  // namespace hyena::fuzz
