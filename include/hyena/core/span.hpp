// hyena/core/span.hpp: a minimal contiguous view (C++17 has no std::span).
#pragma once

#include <type_traits>
#include <vector>

#include "config.hpp"
#include "../detail/type_traits.hpp"

namespace hyena {

/// A pointer and an element count; what every kernel takes for its arrays.
/// Kernels check the count against the shape they are given and throw when it
/// differs, so a view never lets a kernel read past its end.
template <class T>
class span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;

  constexpr span() noexcept = default;
  constexpr span(T* data, index_t size) noexcept : data_(data), size_(size) {}
  template <class U, class A,
            class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
  span(std::vector<U, A>& v) noexcept : data_(v.data()), size_(v.size()) {}
  template <class U, class A,
            class = std::enable_if_t<std::is_convertible_v<const U (*)[], T (*)[]>>>
  span(const std::vector<U, A>& v) noexcept : data_(v.data()), size_(v.size()) {}
  template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
  constexpr span(span<U> other) noexcept : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr index_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](index_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  /// Elements [offset, offset + count); the caller guarantees the range.
  constexpr span subspan(index_t offset, index_t count) const noexcept {
    return span(data_ + offset, count);
  }

 private:
  T* data_ = nullptr;
  index_t size_ = 0;
};

template <class T, class A>
span(std::vector<T, A>&) -> span<T>;
template <class T, class A>
span(const std::vector<T, A>&) -> span<const T>;

/// The span type of a parameter whose element type another argument fixes:
/// it takes no part in template deduction, so a std::vector converts at the
/// call site (C++20's std::type_identity_t<span<T>>).
template <class T>
using span_arg = detail::type_identity_t<span<T>>;

}  // namespace hyena
