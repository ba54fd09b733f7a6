// hyena/detail/lane_sum.hpp: dot products and sums the compiler can vectorize, in a fixed order.
//
// One running sum (s += a[i] * b[i]) fixes an order of additions the compiler
// must keep without -ffast-math, so such a loop stays scalar. Eight
// interleaved partial sums (lane k takes i = k mod 8), added together at the
// end in a fixed tree, state an order that SIMD registers of any width up to
// eight lanes follow exactly: the same bits on every ISA, at vector speed.
#pragma once

#include "../core/config.hpp"

namespace hyena::detail {

inline constexpr index_t sum_lanes = 8;

/// The lanes' total, in a fixed pairwise tree.
template <class T>
T combine_lanes(const T (&lane)[sum_lanes]) noexcept {
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

/// sum_i a[i] * b[i] for i in [0, n), in eight interleaved partial sums.
template <class T>
T lane_dot(const T* a, const T* b, index_t n) noexcept {
  T lane[sum_lanes] = {};
  index_t i = 0;
  for (; i + sum_lanes <= n; i += sum_lanes)
    for (index_t k = 0; k < sum_lanes; ++k) lane[k] += a[i + k] * b[i + k];
  for (index_t k = 0; i < n; ++i, ++k) lane[k] += a[i] * b[i];
  return combine_lanes(lane);
}

/// sum_i a[i] for i in [0, n), in eight interleaved partial sums.
template <class T>
T lane_sum(const T* a, index_t n) noexcept {
  T lane[sum_lanes] = {};
  index_t i = 0;
  for (; i + sum_lanes <= n; i += sum_lanes)
    for (index_t k = 0; k < sum_lanes; ++k) lane[k] += a[i + k];
  for (index_t k = 0; i < n; ++i, ++k) lane[k] += a[i];
  return combine_lanes(lane);
}

}  // namespace hyena::detail
