// Time slices of [batch][length][width] tensors, for the tools' --stream
// mode: a decoder takes one position of every sequence at a time, a prefill
// the first positions of every sequence.
#pragma once

#include <hyena/core/config.hpp>

#include <algorithm>
#include <vector>

namespace hyena::cli {

/// Positions [t0, t1) of every row of x [batch][length][width]:
/// [batch][t1 - t0][width].
template <class V>
std::vector<V> time_slice(const std::vector<V>& x, index_t batch, index_t length, index_t width, index_t t0,
                          index_t t1) {
  std::vector<V> out(batch * (t1 - t0) * width);
  for (index_t b = 0; b < batch; ++b)
    std::copy_n(x.data() + (b * length + t0) * width, (t1 - t0) * width, out.data() + b * (t1 - t0) * width);
  return out;
}

/// Writes part [batch][t1 - t0][width] to positions [t0, t1) of x [batch][length][width].
template <class V>
void time_store(std::vector<V>& x, index_t batch, index_t length, index_t width, index_t t0, index_t t1,
                const std::vector<V>& part) {
  for (index_t b = 0; b < batch; ++b)
    std::copy_n(part.data() + b * (t1 - t0) * width, (t1 - t0) * width, x.data() + (b * length + t0) * width);
}

}  // namespace hyena::cli
