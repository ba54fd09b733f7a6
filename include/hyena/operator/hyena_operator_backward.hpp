// hyena/operator/hyena_operator_backward.hpp: gradients of the order-N Hyena operator.
//
// The forward (hyena_operator.hpp), per batch element, with v_0 the last stream:
//   p = W_in u + b_in,  s = short_conv(p) = [x_0 .. x_{N-1}, v_0],
//   g_o = v_o ⊙ x_{N-1-o},  v_{o+1} = k_o * g_o + D_o ⊙ g_o   (o = 0..N-2),
//   y = v_{N-1} ⊙ x_0,  out = W_out y + b_out.
// The backward runs it in reverse, gradients flowing first gate to last:
//   dy = W_out^T dout,  dW_out += dout y^T,  db_out += sum_t dout,
//   dv_{N-1} = dy ⊙ x_0,  dx_0 = dy ⊙ v_{N-1},
//   for o = N-2..0:  dg = dv_{o+1} correlated with k_o + D_o dv_{o+1},
//                    dk_o += dv_{o+1} correlated with g_o,  dD_o += sum_t dv_{o+1} g_o,
//                    dv_o = dg ⊙ x_{N-1-o},  dx_{N-1-o} = dg ⊙ v_o,
//   ds = [dx_0 .. dx_{N-1}, dv_0] through the short conv's backward to dp,
//   du = W_in^T dp,  dW_in += dp u^T,  db_in += sum_t dp,
// and the filters' dk_o, dD_o back through the implicit filter (its MLP, phi,
// decay rates and z) into the bank's layout.
//
// Memory: only the block's input u is kept from the forward; each batch
// element's forward is recomputed inside the backward (as safari's fused
// kernel does), so the workspace holds one element's streams, not the
// batch's activations. Parameter gradients are added to, the input gradient
// written (fft_conv_backward.hpp's convention).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <string>
#include <vector>

#include "../conv/fft_conv.hpp"
#include "../conv/fft_conv_backward.hpp"
#include "../conv/short_conv_backward.hpp"
#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../filter/implicit_filter_backward.hpp"
#include "../filter/layout.hpp"
#include "hyena_operator.hpp"
#include "weights.hpp"

namespace hyena {

/// A gradient buffer for `weights`: every trainable member of the same
/// size, zero; d_model, order and short_filter_size copied.
template <class T>
hyena_weights<T> zero_gradients(const hyena_weights<T>& weights) {
  hyena_weights<T> g;
  auto zeros = [](const std::vector<T>& v) { return std::vector<T>(v.size(), T(0)); };
  g.d_model = weights.d_model;
  g.order = weights.order;
  g.short_filter_size = weights.short_filter_size;
  g.in_proj_weight = zeros(weights.in_proj_weight);
  g.in_proj_bias = zeros(weights.in_proj_bias);
  g.out_proj_weight = zeros(weights.out_proj_weight);
  g.out_proj_bias = zeros(weights.out_proj_bias);
  g.short_filter_weight = zeros(weights.short_filter_weight);
  g.short_filter_bias = zeros(weights.short_filter_bias);
  g.filter = zero_gradients(weights.filter);
  return g;
}

/// Reusable buffers for hyena_backward, one per concurrent call. Grows to
/// the largest call it has served: per batch element 3 (N+1) D L values for
/// the projection, the streams (then their gradients) and the projection's
/// gradient, 2 (N-1) D L for the recomputed v_1..v_{N-1} and the filter
/// gradients, D L for dv, plus FFT rows per thread.
template <class T>
class hyena_backward_workspace {
 public:
  /// Bytes held: with the implicit filter's activations (implicit_filter_backward)
  /// and the operator's prepared filters, the backward's peak memory.
  index_t bytes() const noexcept {
    return (projected_.size() + streams_.size() + projected_gradient_.size() + mixed_.size() + dv_.size() +
            filter_gradient_.size() + skip_gradient_.size()) *
               sizeof(T) +
           forward_.bytes() + backward_.bytes();
  }

 private:
  template <class U>
  friend void hyena_backward(const hyena_operator<U>&, index_t, index_t, span_arg<const U>, span_arg<const U>,
                             span_arg<U>, hyena_weights<U>&, hyena_backward_workspace<U>&);
  detail::aligned_vector<T> projected_, streams_, projected_gradient_, mixed_, dv_;
  std::vector<T> filter_gradient_, skip_gradient_;
  fft_conv_workspace<T> forward_;
  fft_conv_backward_workspace<T> backward_;
};

namespace detail {

/// Throws std::invalid_argument naming `function` and the first member of
/// `grads` whose size differs from the weights'.
template <class T>
void require_gradient_shapes(const hyena_weights<T>& weights, const hyena_weights<T>& grads, const char* function) {
  auto same = [&](const std::vector<T>& w, const std::vector<T>& g, const char* name) {
    if (w.size() != g.size())
      throw_invalid("hyena::", function, ": the gradient of ", name, " has ", g.size(), " elements, expected ",
                    w.size(), " (use zero_gradients(weights))");
  };
  same(weights.in_proj_weight, grads.in_proj_weight, "in_proj_weight");
  same(weights.in_proj_bias, grads.in_proj_bias, "in_proj_bias");
  same(weights.out_proj_weight, grads.out_proj_weight, "out_proj_weight");
  same(weights.out_proj_bias, grads.out_proj_bias, "out_proj_bias");
  same(weights.short_filter_weight, grads.short_filter_weight, "short_filter_weight");
  same(weights.short_filter_bias, grads.short_filter_bias, "short_filter_bias");
  require_gradient_shapes(weights.filter, grads.filter, function);
}

/// Throws std::invalid_argument naming `function`, `name` and [b][t][d] of
/// the first non-finite value of a [batch][length][d_model] tensor.
template <class T>
void require_finite_module_tensor(span<const T> x, index_t length, index_t d_model, const char* function,
                                  const char* name) {
  const index_t i = first_non_finite(x);
  if (i != x.size())
    throw_invalid("hyena::", function, ": ", name, "[", i / (length * d_model), "][", i / d_model % length, "][",
                  i % d_model, "] = ", x[i], " is not finite");
}

}  // namespace detail

/// The gradients of out = op(u) (forward's u, out: [batch][length][d_model])
/// for the upstream gradient dout of out's shape: du (written, same shape;
/// must not overlap u or dout) and every weight's gradient, added to `grads`
/// (shaped by zero_gradients(op.weights())): the projections, the short
/// convolution, the implicit filter (MLP, phi, decay rates, z) and its bias
/// (the skips D). Time about 2-3x forward's; split over op.execution()'s
/// threads in fixed blocks, so results are bit-identical for every thread
/// count. Const and thread-safe on op, like forward(): one workspace per call.
/// Throws std::invalid_argument on zero sizes, length > max_length, spans of
/// the wrong size, gradients shaped for another operator, or a non-finite
/// value in u or dout (naming its [b][t][d]): a NaN there means the forward
/// or the loss already failed, and the FFTs would spread it over the rows.
template <class T>
void hyena_backward(const hyena_operator<T>& op, index_t batch, index_t length, span_arg<const T> u,
                    span_arg<const T> dout, span_arg<T> du, hyena_weights<T>& grads, hyena_backward_workspace<T>& ws) {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Eigen::Index;
  const char* function = "hyena_backward";
  const hyena_weights<T>& w = op.weights();
  const execution_context& exec = op.execution();
  detail::require_positive(batch, function, "batch");
  detail::require_positive(length, function, "length");
  if (length > op.max_length())
    detail::throw_invalid("hyena::", function, ": input length ", length, " exceeds max_length ", op.max_length());
  const index_t D = w.d_model, N = w.order, S = w.streams(), K = w.short_filter_size, L = length;
  const index_t elements = detail::checked_mul(batch, L, D, "batch*length*d_model");
  detail::require_size(u.size(), elements, function, "u", "batch*length*d_model = ", batch, "*", L, "*", D);
  detail::require_size(dout.size(), elements, function, "dout", "batch*length*d_model = ", batch, "*", L, "*", D);
  detail::require_size(du.size(), elements, function, "du", "batch*length*d_model = ", batch, "*", L, "*", D);
  detail::require_gradient_shapes(w, grads, function);
  detail::require_finite_module_tensor<T>(u, L, D, function, "u");
  detail::require_finite_module_tensor<T>(dout, L, D, function, "dout");

  const auto filters = op.prepared_filters(L);
  const index_t steps = N - 1, n = filters->steps.front().fft_size();
  const index_t stream_values = detail::checked_mul(S, L, "streams*length");
  detail::require_allocatable(detail::checked_mul(3 * S + 2 * steps * D + D, L, "backward values"), sizeof(T),
                              "hyena_backward workspace ((3(N+1) + 2(N-1) + 1) * d_model * length)");
  auto grow = [](auto& v, index_t size) {
    if (v.size() < size) v.resize(size);
  };
  grow(ws.projected_, stream_values);
  grow(ws.streams_, stream_values);
  grow(ws.projected_gradient_, stream_values);
  grow(ws.mixed_, steps * D * L);
  grow(ws.dv_, D * L);
  ws.filter_gradient_.assign(steps * D * L, T(0));
  ws.skip_gradient_.assign(steps * D, T(0));
  const index_t conv_work = detail::fft_conv_row_work(n);
  ws.forward_.reserve(n, exec.workers(D, conv_work));
  ws.backward_.reserve(n, exec.workers(D, 2 * conv_work));

  T* p = ws.projected_.data();
  T* s = ws.streams_.data();  // the streams, then (in place) their gradients
  T* dp = ws.projected_gradient_.data();
  T* dv = ws.dv_.data();
  // v_o: the last stream for o = 0, the recomputed mixes after.
  auto v_of = [&](index_t o) -> T* { return o == 0 ? s + N * D * L : ws.mixed_.data() + (o - 1) * D * L; };
  auto x_of = [&](index_t i) -> T* { return s + i * D * L; };

  for (index_t b = 0; b < batch; ++b) {
    const span<const T> u_b = u.subspan(b * L * D, L * D);
    // The forward again, keeping p, the streams and every v_o.
    op.project_in(L, u_b, span<T>(p, stream_values));
    std::copy_n(p, stream_values, s);
    op.short_conv(L, span<T>(s, stream_values));
    for (index_t o = 0; o < steps; ++o) {
      const fft_filter<T>& k = filters->steps[o];
      const T* v = v_of(o);
      const T* x = x_of(N - 1 - o);
      T* next = v_of(o + 1);
      exec.parallel_for(D, conv_work, [&](index_t d0, index_t d1, unsigned worker) {
        auto& buffers = ws.forward_.slot(worker);
        for (index_t d = d0; d < d1; ++d) {
          const T *vd = v + d * L, *xd = x + d * L;
          T* out = next + d * L;
          const T skip = k.skip(d);
          detail::fft_conv_row(
              k, d, buffers, [&](T* dst) { for (index_t t = 0; t < L; ++t) dst[t] = vd[t] * xd[t]; },
              [&](const T* conv, const T* gated) { for (index_t t = 0; t < L; ++t) out[t] = conv[t] + skip * gated[t]; });
        }
      });
    }

    // The output projection: dy = W_out^T dout into dv (as [D][L]), and
    // its weights' gradients, y = v_{N-1} ⊙ x_0 formed per block.
    const Eigen::Map<const row_matrix> w_out(w.out_proj_weight.data(), Index(D), Index(D));
    const Eigen::Map<const matrix> dout_b(dout.data() + b * L * D, Index(D), Index(L));  // column t: dout[t]
    Eigen::Map<matrix> dy(dv, Index(L), Index(D));                                       // dy(t, d)
    exec.for_each_block(L, 256, [&](index_t t0, index_t count) {
      dy.middleRows(Index(t0), Index(count)).noalias() = dout_b.middleCols(Index(t0), Index(count)).transpose() * w_out;
    });
    {
      // y(t, d) into dp's buffer, free until the short convolution's backward.
      Eigen::Map<matrix> y(dp, Index(L), Index(D));
      exec.for_each_block(D, 64, [&](index_t d0, index_t count) {
        const Index first(d0), cols(count);
        y.middleCols(first, cols) = Eigen::Map<const matrix>(v_of(steps), Index(L), Index(D)).middleCols(first, cols).array() *
                                    Eigen::Map<const matrix>(x_of(0), Index(L), Index(D)).middleCols(first, cols).array();
      });
      Eigen::Map<row_matrix> dw_out(grads.out_proj_weight.data(), Index(D), Index(D));
      exec.for_each_block(D, 64, [&](index_t e0, index_t count) {
        dw_out.middleRows(Index(e0), Index(count)).noalias() += dout_b.middleRows(Index(e0), Index(count)) * y;
      });
      Eigen::Map<vector>(grads.out_proj_bias.data(), Index(D)) += dout_b.rowwise().sum();
    }

    // The output gate: dv_{N-1} = dy ⊙ x_0 (in dv), dx_0 = dy ⊙ v_{N-1}
    // (over x_0, which no step reads again).
    exec.parallel_for(D, 4 * L, [&](index_t d0, index_t d1, unsigned) {
      for (index_t i = d0 * L; i < d1 * L; ++i) {
        const T g = dv[i], x0 = s[i];
        dv[i] = g * x0;
        s[i] = g * v_of(steps)[i];
      }
    });

    // The gates, last step first: dv_{o+1} in dv becomes dv_o, and dx over x.
    for (index_t o = steps; o-- > 0;) {
      const fft_filter<T>& k = filters->steps[o];
      const T* v = v_of(o);
      T* x = x_of(N - 1 - o);
      T* dk = ws.filter_gradient_.data() + o * D * L;
      T* dskip = ws.skip_gradient_.data() + o * D;
      exec.parallel_for(D, 2 * conv_work, [&](index_t d0, index_t d1, unsigned worker) {
        auto& slot = ws.backward_.slot(worker);
        for (index_t d = d0; d < d1; ++d) {
          T* dvd = dv + d * L;
          T* xd = x + d * L;
          const T* vd = v + d * L;
          const T skip = k.skip(d);
          std::fill(slot.filter_spectrum.begin(), slot.filter_spectrum.end(), std::complex<T>(0));
          dskip[d] += detail::fft_conv_backward_row(
              k, d, slot, [&](T* dst) { std::copy(dvd, dvd + L, dst); },
              [&](T* dst) { for (index_t t = 0; t < L; ++t) dst[t] = vd[t] * xd[t]; },
              [&](const T* corr, const T* upstream) {
                for (index_t t = 0; t < L; ++t) {
                  const T dg = corr[t] + skip * upstream[t];
                  dvd[t] = dg * xd[t];
                  xd[t] = dg * vd[t];
                }
              },
              function, b * D + d);
          detail::finish_filter_gradient(k, slot, dk + d * L);
        }
      });
    }
    std::copy_n(dv, D * L, s + N * D * L);  // dv_0, the last stream's gradient

    // The short convolution, by channel.
    exec.parallel_for(S, 4 * L * K, [&](index_t c0, index_t c1, unsigned) {
      const index_t rows = c1 - c0;
      short_causal_conv_backward<T>(span<const T>(w.short_filter_weight.data() + c0 * K, rows * K), K,
                                    {1, rows, L}, span<const T>(p + c0 * L, rows * L),
                                    span<const T>(s + c0 * L, rows * L), span<T>(dp + c0 * L, rows * L),
                                    span<T>(grads.short_filter_weight.data() + c0 * K, rows * K),
                                    span<T>(grads.short_filter_bias.data() + c0, rows));
    });

    // The input projection: du_b = W_in^T dp, dW_in += dp u^T, db_in += sum_t dp.
    const Eigen::Map<const row_matrix> w_in(w.in_proj_weight.data(), Index(S), Index(D));
    const Eigen::Map<const matrix> dpm(dp, Index(L), Index(S));                    // dp(t, c)
    const Eigen::Map<const matrix> u_m(u_b.data(), Index(D), Index(L));             // column t: u[t]
    Eigen::Map<matrix> du_b(du.data() + b * L * D, Index(D), Index(L));            // column t: du[t]
    exec.for_each_block(L, 256, [&](index_t t0, index_t count) {
      du_b.middleCols(Index(t0), Index(count)).noalias() =
          w_in.transpose() * dpm.middleRows(Index(t0), Index(count)).transpose();
    });
    Eigen::Map<row_matrix> dw_in(grads.in_proj_weight.data(), Index(S), Index(D));
    exec.for_each_block(S, 64, [&](index_t c0, index_t count) {
      dw_in.middleRows(Index(c0), Index(count)).noalias() +=
          dpm.middleCols(Index(c0), Index(count)).transpose() * u_m.transpose();
    });
    Eigen::Map<vector>(grads.in_proj_bias.data(), Index(S)) += dpm.colwise().sum().transpose();
  }

  // The filters: each step's dk_o, dD_o into the bank's channels, then
  // through the implicit filter.
  const filter_layout layout = op.options().layout;
  std::vector<T> bank_gradient(detail::checked_mul(w.filter.channels, L, "channels*length"));
  for (index_t o = 0; o < steps; ++o)
    for (index_t d = 0; d < D; ++d) {
      const index_t c = filter_bank_channel(layout, D, steps, o, d);
      std::copy_n(ws.filter_gradient_.data() + (o * D + d) * L, L, bank_gradient.data() + c * L);
      grads.filter.bias[c] += ws.skip_gradient_[o * D + d];
    }
  implicit_filter_backward<T>(op.filter_generator(), L, bank_gradient, grads.filter, exec);
}

/// As above with a temporary workspace.
template <class T>
void hyena_backward(const hyena_operator<T>& op, index_t batch, index_t length, span_arg<const T> u,
                    span_arg<const T> dout, span_arg<T> du, hyena_weights<T>& grads) {
  hyena_backward_workspace<T> ws;
  hyena_backward(op, batch, length, u, dout, du, grads, ws);
}

}  // namespace hyena
