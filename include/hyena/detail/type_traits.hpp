// hyena/detail/type_traits.hpp
#pragma once

#include <type_traits>

namespace hyena::detail {

/// Blocks template deduction, so spans convert from vectors at call sites
/// whose element type is fixed by another argument (C++20's std::type_identity).
template <class T>
struct type_identity {
  using type = T;
};
template <class T>
using type_identity_t = typename type_identity<T>::type;

/// Accumulator for reference sums: at least double; long double for double.
template <class T>
using wide_t = std::conditional_t<std::is_same_v<T, float>, double, long double>;

template <class T>
inline constexpr bool is_real_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace hyena::detail
