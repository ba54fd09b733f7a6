// hyena/model/weight_matrix.hpp: a dense weight matrix (a Linear's weight, in
// PyTorch's [out][in] layout) stored either as T or as bfloat16.
//
// BF16 checkpoints (Evo 2's) keep their projections and MLPs in BF16: half the
// memory of float32 (an Evo 2 7B model fits in 24 GiB) and half the memory
// traffic of a decode step, which streams every weight once. The kernels
// (linear(), gated_mlp()) widen BF16 to T on the fly, exactly, and
// accumulate in T.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/bfloat16.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// A weight matrix held as T (`values`) or as bfloat16 bit patterns
/// (`bf16_bits`): exactly one of the two is non-empty in a valid matrix. Its
/// shape is its owner's (the struct that holds it checks the size).
template <class T>
struct weight_matrix {
  std::vector<T> values;                 ///< T storage, or empty
  std::vector<std::uint16_t> bf16_bits;  ///< BF16 storage (bit patterns), or empty

  weight_matrix() = default;
  /// T storage of `v`. (Explicit, so that a std::vector<T> argument never
  /// converts silently; assigning one is allowed below.)
  explicit weight_matrix(std::vector<T> v) : values(std::move(v)) {}
  /// T storage of `v`; drops any BF16 storage.
  weight_matrix& operator=(std::vector<T> v) {
    values = std::move(v);
    bf16_bits.clear();
    return *this;
  }

  /// BF16 storage of the given bit patterns.
  static weight_matrix from_bf16(std::vector<std::uint16_t> bits) {
    weight_matrix m;
    m.bf16_bits = std::move(bits);
    return m;
  }
  /// BF16 storage of `v` rounded to nearest (ties to even; doubles go
  /// through float first): what a BF16 checkpoint of these weights holds.
  static weight_matrix rounded_to_bf16(const std::vector<T>& v) {
    std::vector<std::uint16_t> bits(v.size());
    for (std::size_t k = 0; k < v.size(); ++k) bits[k] = detail::float_to_bf16(static_cast<float>(v[k]));
    return from_bf16(std::move(bits));
  }

  bool is_bf16() const noexcept { return !bf16_bits.empty(); }
  index_t size() const noexcept { return is_bf16() ? bf16_bits.size() : values.size(); }
  bool empty() const noexcept { return size() == 0; }
  /// Element k, widened to T.
  T at(index_t k) const { return is_bf16() ? T(detail::bf16_to_float(bf16_bits.at(k))) : values.at(k); }
  /// Every element as T (a copy; exact for BF16).
  std::vector<T> widened() const {
    if (!is_bf16()) return values;
    std::vector<T> out(bf16_bits.size());
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = T(detail::bf16_to_float(bf16_bits[k]));
    return out;
  }
  /// Bytes of storage (what the matrix costs in memory and per pass over it).
  std::size_t storage_bytes() const noexcept { return values.size() * sizeof(T) + bf16_bits.size() * 2; }

  /// Throws std::invalid_argument naming `owner` and `name` unless the
  /// matrix holds one storage of `expected` elements (`shape...` says which).
  template <class... Shape>
  void check_size(index_t expected, const char* owner, const char* name, const Shape&... shape) const {
    if (!values.empty() && !bf16_bits.empty())
      detail::throw_invalid("hyena::", owner, ": ", name, " holds both T values and BF16 bits; keep one");
    detail::require_size(size(), expected, owner, name, shape...);
  }
  /// Throws std::invalid_argument naming `owner` and `name` at the first
  /// NaN or infinity.
  void require_finite(const char* owner, const char* name) const {
    if (!is_bf16()) return detail::require_finite(values, owner, name);
    for (std::size_t k = 0; k < bf16_bits.size(); ++k)
      if (!detail::bf16_is_finite(bf16_bits[k]))
        detail::throw_invalid("hyena::", owner, ": ", name, "[", k, "] = ", detail::bf16_to_float(bf16_bits[k]),
                              " is not finite");
  }
};

}  // namespace hyena
