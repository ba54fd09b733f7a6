// Naive references for the attention baselines: plain loops straight from the
// definitions, accumulated in long double (64-bit significand on x86-64, so
// well below double's rounding), and obviously correct rather than fast.
#pragma once

#include <hyena/baselines/attention_common.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace hyena::test {

using wide = long double;

/// Element (b, h, t, j) of a [batch][heads][length][head_dim] array.
inline std::size_t attention_index(const attention_shape& s, std::size_t b, std::size_t h,
                                   std::size_t t, std::size_t j) {
  return ((b * s.heads + h) * s.length + t) * s.head_dim + j;
}

/// Causal softmax attention by the definition: query t attends keys
/// max(0, t-window+1)..t (window = 0: all of 0..t), weights
/// softmax(q.k / sqrt(head_dim)). q, k, v: [batch][heads][length][head_dim].
template <class In>
std::vector<wide> reference_softmax_attention(const attention_shape& s, const std::vector<In>& q,
                                              const std::vector<In>& k, const std::vector<In>& v,
                                              std::size_t window = 0) {
  std::vector<wide> out(s.elements());
  const wide scale = 1.0L / std::sqrt(static_cast<wide>(s.head_dim));
  std::vector<wide> weight(s.length);
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t h = 0; h < s.heads; ++h)
      for (std::size_t t = 0; t < s.length; ++t) {
        const std::size_t first = (window == 0 || t + 1 <= window) ? 0 : t + 1 - window;
        wide max = -std::numeric_limits<wide>::infinity();
        for (std::size_t u = first; u <= t; ++u) {
          wide dot = 0;
          for (std::size_t j = 0; j < s.head_dim; ++j)
            dot += static_cast<wide>(q[attention_index(s, b, h, t, j)]) *
                   static_cast<wide>(k[attention_index(s, b, h, u, j)]);
          weight[u] = dot * scale;
          max = std::max(max, weight[u]);
        }
        wide sum = 0;
        for (std::size_t u = first; u <= t; ++u) {
          weight[u] = std::exp(weight[u] - max);
          sum += weight[u];
        }
        for (std::size_t j = 0; j < s.head_dim; ++j) {
          wide acc = 0;
          for (std::size_t u = first; u <= t; ++u)
            acc += weight[u] * static_cast<wide>(v[attention_index(s, b, h, u, j)]);
          out[attention_index(s, b, h, t, j)] = acc / sum;
        }
      }
  return out;
}

/// elu(x) + 1.
inline wide elu_plus_one(wide x) { return x > 0 ? x + 1 : std::exp(x); }

/// Causal linear attention by its quadratic definition (not the running-sum
/// recurrence the library uses): o[t] = sum_{s<=t} w_ts v[s] / sum_{s<=t} w_ts
/// with w_ts = phi(q[t]) . phi(k[s]), phi = elu + 1.
template <class In>
std::vector<wide> reference_linear_attention(const attention_shape& s, const std::vector<In>& q,
                                             const std::vector<In>& k, const std::vector<In>& v) {
  std::vector<wide> out(s.elements());
  std::vector<wide> weight(s.length);
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t h = 0; h < s.heads; ++h)
      for (std::size_t t = 0; t < s.length; ++t) {
        wide sum = 0;
        for (std::size_t u = 0; u <= t; ++u) {
          wide dot = 0;
          for (std::size_t j = 0; j < s.head_dim; ++j)
            dot += elu_plus_one(static_cast<wide>(q[attention_index(s, b, h, t, j)])) *
                   elu_plus_one(static_cast<wide>(k[attention_index(s, b, h, u, j)]));
          weight[u] = dot;
          sum += dot;
        }
        for (std::size_t j = 0; j < s.head_dim; ++j) {
          wide acc = 0;
          for (std::size_t u = 0; u <= t; ++u)
            acc += weight[u] * static_cast<wide>(v[attention_index(s, b, h, u, j)]);
          out[attention_index(s, b, h, t, j)] = acc / sum;
        }
      }
  return out;
}

/// A full attention layer by the definition, with `core(shape, q, k, v)` one
/// of the references above on long double operands:
///   [q | k | v] = x W_qkv^T + b_qkv (PyTorch Linear, W is [3D][D], q rows
///   first, head h owning rows h*dh..(h+1)*dh-1 of each), o = core(q, k, v),
///   y = concat_heads(o) W_out^T + b_out.
/// x, y: [batch][length][d_model]; empty biases mean none.
template <class In, class Core>
std::vector<wide> reference_attention_layer(std::size_t d_model, std::size_t heads,
                                            std::size_t batch, std::size_t length,
                                            const std::vector<In>& x, const std::vector<In>& w_qkv,
                                            const std::vector<In>& b_qkv,
                                            const std::vector<In>& w_out,
                                            const std::vector<In>& b_out, Core&& core) {
  const std::size_t D = d_model, dh = d_model / heads;
  const attention_shape s{batch, heads, length, dh};
  std::vector<wide> proj[3] = {std::vector<wide>(s.elements()), std::vector<wide>(s.elements()),
                               std::vector<wide>(s.elements())};
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < length; ++t)
      for (std::size_t r = 0; r < 3 * D; ++r) {
        wide acc = b_qkv.empty() ? 0 : static_cast<wide>(b_qkv[r]);
        for (std::size_t c = 0; c < D; ++c)
          acc += static_cast<wide>(x[(b * length + t) * D + c]) * static_cast<wide>(w_qkv[r * D + c]);
        const std::size_t part = r / D, feature = r % D;
        proj[part][attention_index(s, b, feature / dh, t, feature % dh)] = acc;
      }
  const std::vector<wide> o = core(s, proj[0], proj[1], proj[2]);
  std::vector<wide> y(batch * length * D);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < length; ++t)
      for (std::size_t r = 0; r < D; ++r) {
        wide acc = b_out.empty() ? 0 : static_cast<wide>(b_out[r]);
        for (std::size_t c = 0; c < D; ++c)
          acc += o[attention_index(s, b, c / dh, t, c % dh)] * static_cast<wide>(w_out[r * D + c]);
        y[(b * length + t) * D + r] = acc;
      }
  return y;
}

}  // namespace hyena::test
