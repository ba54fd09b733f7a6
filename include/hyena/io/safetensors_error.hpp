// hyena/io/safetensors_error.hpp: the one exception type of the safetensors
// reader and writer, and the helpers that build its messages.
#pragma once

#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// Every problem with a safetensors file (malformed header, inconsistent
/// offsets, missing tensor, wrong shape, unrepresentable value, I/O failure).
/// The message names the file, the tensor when there is one, and the problem.
class safetensors_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};
namespace detail {

template <class... Parts>
[[noreturn]] void safetensors_fail(const std::string& source, Parts&&... parts) {
  throw safetensors_error(
      concat("hyena: safetensors file \"", source, "\": ", std::forward<Parts>(parts)...));
}

/// "[2, 3, 4]"; a hostile header's thousand-entry shape is cut after 16.
inline std::string format_shape(const std::vector<index_t>& shape) {
  constexpr std::size_t shown = 16;
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size() && i < shown; ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() > shown) s += concat(", ... (", shape.size(), " dimensions)");
  return s + "]";
}

/// a * b with overflow reported as false instead of wrapping.
inline bool mul_fits(index_t a, index_t b, index_t& out) noexcept {
  if (a != 0 && b > std::numeric_limits<index_t>::max() / a) return false;
  out = a * b;
  return true;
}

/// Throws safetensors_error naming `source`, the tensor `key` and the first
/// non-finite element: a weight file with a NaN or Inf is rejected when read,
/// before the value reaches every output through an FFT or a GEMM.
template <class Values>
void require_finite_tensor(const Values& values, const std::string& source, const std::string& key) {
  const index_t i = first_non_finite(values);
  if (i != values.size())
    safetensors_fail(source, "tensor \"", key, "\": element ", i, " is ", values[i],
                     ", not finite (weights must be finite)");
}

}  // namespace detail
}  // namespace hyena
