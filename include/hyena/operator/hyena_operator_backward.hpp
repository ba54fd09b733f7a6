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
// Two memory modes, the same gradients:
//  - recompute: only the block's input u is kept from the forward; each
//    batch element's forward is run again inside the backward (as safari's
//    fused kernel does): one element's streams of memory, and for order 2
//    11 D^2 L multiply-adds of projections against the forward's 4;
//  - store: forward_for_backward keeps the activations the backward needs,
//    (2(N+1) + N-1) D L values per batch element, and the backward skips
//    the forward: 8 D^2 L (dy, dW_out, du, dW_in).
// Per channel row the long convolutions take four real FFTs (dy's and the
// gated input's forward transforms, the input gradient's and the filter
// gradient's inverse) against the forward's two.
// Parameter gradients are added to, the input gradient written
// (fft_conv_backward.hpp's convention).
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
#include "../detail/lane_sum.hpp"
#include "../detail/row_sums.hpp"
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

template <class T>
class hyena_backward_workspace;
namespace detail {
template <class T>
struct hyena_backward_pass;
}  // namespace detail

/// The activations a forward leaves for its backward (store mode): per
/// batch element the projection p, the streams after the short convolution
/// and the mixes v_1 .. v_{N-1}, channel-major. Made by forward_for_backward,
/// read by hyena_backward; tied to the operator and the shape that made it.
template <class T>
class hyena_activations {
 public:
  index_t batch() const noexcept { return batch_; }
  index_t length() const noexcept { return length_; }
  /// Bytes held.
  index_t bytes() const noexcept { return (projected_.size() + streams_.size() + mixed_.size()) * sizeof(T); }

 private:
  template <class U>
  friend void forward_for_backward(const hyena_operator<U>&, index_t, index_t, span_arg<const U>, span_arg<U>,
                                   hyena_activations<U>&, hyena_backward_workspace<U>&);
  template <class U>
  friend void hyena_backward(const hyena_operator<U>&, const hyena_activations<U>&, span_arg<const U>,
                             span_arg<const U>, span_arg<U>, hyena_weights<U>&, hyena_backward_workspace<U>&);
  const void* owner_ = nullptr;
  index_t batch_ = 0, length_ = 0;
  detail::aligned_vector<T> projected_, streams_, mixed_;  // [B][S][L], [B][S][L], [B][N-1][D][L]
};

/// Reusable buffers for the backward (either mode) and forward_for_backward,
/// one per concurrent call. Grows to the largest call it has served: in
/// recompute mode (2 S + (N-1) D) L values for one element's forward, in
/// both modes 2 S L + D L for the gradients of the streams, the projection
/// and v, F L for the filter bank's gradient, the implicit filter's
/// activations, and FFT rows per thread (S = (N+1) D, F = (N-1) D).
template <class T>
class hyena_backward_workspace {
 public:
  /// Bytes held: with the operator's prepared filters (and, in store mode,
  /// the activations), the backward's peak working memory.
  index_t bytes() const noexcept {
    return (projected_.size() + streams_.size() + mixed_.size() + stream_gradient_.size() +
            projected_gradient_.size() + dv_.size() + bank_gradient_.size() + skip_gradient_.size()) *
               sizeof(T) +
           forward_.bytes() + backward_.bytes() + filter_.bytes();
  }

 private:
  template <class U>
  friend struct detail::hyena_backward_pass;
  template <class U>
  friend void hyena_backward(const hyena_operator<U>&, index_t, index_t, span_arg<const U>, span_arg<const U>,
                             span_arg<U>, hyena_weights<U>&, hyena_backward_workspace<U>&);
  template <class U>
  friend void forward_for_backward(const hyena_operator<U>&, index_t, index_t, span_arg<const U>, span_arg<U>,
                                   hyena_activations<U>&, hyena_backward_workspace<U>&);
  detail::aligned_vector<T> projected_, streams_, mixed_;  // recompute mode: one element's forward
  detail::aligned_vector<T> stream_gradient_, projected_gradient_, dv_;
  std::vector<T> bank_gradient_, skip_gradient_;
  fft_conv_workspace<T> forward_;
  fft_conv_backward_workspace<T> backward_;
  implicit_filter_backward_workspace<T> filter_;
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

/// Rows per block of a weight gradient's GEMM (inner dimension L): every
/// block packs the whole L x D right-hand side again, so the blocks are as
/// large as six per matrix allow (balanced on 2 and 3 threads), 128 rows at
/// least. A function of the shape alone: results do not depend on the
/// thread count.
inline index_t weight_gradient_block_rows(index_t rows) noexcept {
  return std::max<index_t>(128, (rows + 6 * 16 - 1) / (6 * 16) * 16);
}

/// Time steps per block of an input gradient's GEMM (dy = W_out^T dout,
/// du = W_in^T dp): every block packs the whole weight matrix again, so the
/// blocks grow with L up to 1024 while L / 8 allows (256 at least): as above,
/// a function of the shape alone.
inline index_t input_gradient_block_steps(index_t length) noexcept {
  return std::clamp<index_t>((length / 8 + 63) / 64 * 64, 256, 1024);
}

/// One backward (either mode) or recording forward: the checks, the
/// workspace sized, and the per-element steps both modes share.
template <class T>
struct hyena_backward_pass {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  const hyena_operator<T>& op;
  const hyena_weights<T>& w;
  const execution_context& exec;
  hyena_backward_workspace<T>& ws;
  const char* function;
  index_t batch, L, D, N, S, K, steps;
  std::shared_ptr<const hyena_prepared_filters<T>> filters;
  index_t n = 0, conv_work = 0;

  hyena_backward_pass(const hyena_operator<T>& op_, index_t batch_, index_t length, hyena_backward_workspace<T>& ws_,
                      const char* function_)
      : op(op_), w(op_.weights()), exec(op_.execution()), ws(ws_), function(function_), batch(batch_), L(length),
        D(w.d_model), N(w.order), S(w.streams()), K(w.short_filter_size), steps(w.order - 1) {
    require_positive(batch, function, "batch");
    require_positive(L, function, "length");
    if (L > op.max_length())
      throw_invalid("hyena::", function, ": input length ", L, " exceeds max_length ", op.max_length());
    checked_mul(batch, L, D, "batch*length*d_model");
  }

  void require_module_span(index_t size, const char* name) const {
    require_size(size, batch * L * D, function, name, "batch*length*d_model = ", batch, "*", L, "*", D);
  }

  // The filters and FFT rows; `recompute`: room for one element's forward.
  void prepare(bool recompute, bool gradients) {
    filters = op.prepared_filters(L);
    n = filters->steps.front().fft_size();
    conv_work = fft_conv_row_work(n);
    const index_t values = checked_mul(S, L, "streams*length");
    auto grow = [](auto& v, index_t size) {
      if (v.size() < size) v.resize(size);
    };
    if (recompute) {
      require_allocatable(checked_mul(2 * S + steps * D, L, "forward values"), sizeof(T),
                          "hyena_backward_workspace forward ((2(N+1) + N-1) * d_model * length)");
      grow(ws.projected_, values);
      grow(ws.streams_, values);
      grow(ws.mixed_, steps * D * L);
    }
    ws.forward_.reserve(n, exec.workers(D, conv_work));
    if (!gradients) return;
    require_allocatable(checked_mul(2 * S + D + steps * D, L, "backward values"), sizeof(T),
                        "hyena_backward_workspace gradients ((2(N+1) + 1 + N-1) * d_model * length)");
    grow(ws.stream_gradient_, values);
    grow(ws.projected_gradient_, values);
    grow(ws.dv_, D * L);
    grow(ws.bank_gradient_, w.filter.channels * L);  // written by batch element 0, no zeroing pass
    ws.skip_gradient_.assign(w.filter.channels, T(0));
    ws.backward_.reserve(n, exec.workers(D, 2 * conv_work));
  }

  // One element's forward: p = W_in u_b + b_in, s = short_conv(p), and
  // v_{o+1} = k_o * (v_o ⊙ x_{N-1-o}) + D_o (...) into mixed; returns nothing
  // of the output (project_out is the caller's, if it wants it).
  void forward(span<const T> u_b, T* p, T* s, T* mixed) const {
    const index_t values = S * L;
    op.project_in(L, u_b, span<T>(p, values));
    std::copy_n(p, values, s);
    op.short_conv(L, span<T>(s, values));
    for (index_t o = 0; o < steps; ++o) {
      const fft_filter<T>& k = filters->steps[o];
      const T* v = o == 0 ? s + N * D * L : mixed + (o - 1) * D * L;
      const T* x = s + (N - 1 - o) * D * L;
      T* next = mixed + o * D * L;
      exec.parallel_for(D, conv_work, [&](index_t d0, index_t d1, unsigned worker) {
        auto& buffers = ws.forward_.slot(worker);
        for (index_t d = d0; d < d1; ++d) {
          const T *vd = v + d * L, *xd = x + d * L;
          T* out = next + d * L;
          const T skip = k.skip(d);
          fft_conv_row(
              k, d, buffers, [&](T* dst) { for (index_t t = 0; t < L; ++t) dst[t] = vd[t] * xd[t]; },
              [&](const T* conv, const T* gated) { for (index_t t = 0; t < L; ++t) out[t] = conv[t] + skip * gated[t]; });
        }
      });
    }
  }

  // y = v_{N-1} ⊙ x_0 into y [D][L].
  void output_gate(const T* s, const T* mixed, T* y) const {
    const T* v_last = mixed + (steps - 1) * D * L;
    exec.parallel_for(D, 2 * L, [&](index_t d0, index_t d1, unsigned) {
      for (index_t i = d0 * L; i < d1 * L; ++i) y[i] = v_last[i] * s[i];
    });
  }

  // What a non-finite row inside the pass is called (float overflow can make
  // one from finite u and dout): rows are b*D + d.
  static constexpr const char* step_gradient_names[4] = {
      "the gradient of step 0's output", "the gradient of step 1's output", "the gradient of step 2's output",
      "the gradient of a step's output"};
  static constexpr const char* step_input_names[4] = {"step 0's gated input", "step 1's gated input",
                                                      "step 2's gated input", "a step's gated input"};

  // Element b's gradients from its forward (p, s, mixed): du_b written,
  // the weights' added to grads; the filters' collected in the workspace.
  void backward(span<const T> u_b, const T* dout_b_data, const T* p, const T* s, const T* mixed, T* du_b_data,
                hyena_weights<T>& grads, index_t b) {
    using Eigen::Index;
    T* ds = ws.stream_gradient_.data();
    T* dp = ws.projected_gradient_.data();
    T* dv = ws.dv_.data();
    auto v_of = [&](index_t o) -> const T* { return o == 0 ? s + N * D * L : mixed + (o - 1) * D * L; };
    const filter_layout layout = op.options().layout;

    // The output projection: dy = W_out^T dout into dv (as [D][L]), and the
    // weights' gradients with y = v_{N-1} ⊙ x_0 formed in dp's buffer (free
    // until the short convolution's backward).
    const Eigen::Map<const row_matrix> w_out(w.out_proj_weight.data(), Index(D), Index(D));
    const Eigen::Map<const matrix> dout_b(dout_b_data, Index(D), Index(L));  // column t: dout[t]
    Eigen::Map<matrix> dy(dv, Index(L), Index(D));                          // dy(t, d)
    exec.for_each_block(L, input_gradient_block_steps(L), [&](index_t t0, index_t count) {
      dy.middleRows(Index(t0), Index(count)).noalias() = dout_b.middleCols(Index(t0), Index(count)).transpose() * w_out;
    });
    output_gate(s, mixed, dp);
    const Eigen::Map<const matrix> y(dp, Index(L), Index(D));
    Eigen::Map<row_matrix> dw_out(grads.out_proj_weight.data(), Index(D), Index(D));
    exec.for_each_block(D, weight_gradient_block_rows(D), [&](index_t e0, index_t count) {
      dw_out.middleRows(Index(e0), Index(count)).noalias() += dout_b.middleRows(Index(e0), Index(count)) * y;
    });
    detail::add_row_sums(dout_b, grads.out_proj_bias.data());

    // The output gate: dv_{N-1} = dy ⊙ x_0 (in dv), dx_0 = dy ⊙ v_{N-1}.
    const T* v_last = v_of(steps);
    exec.parallel_for(D, 4 * L, [&](index_t d0, index_t d1, unsigned) {
      for (index_t i = d0 * L; i < d1 * L; ++i) {
        const T g = dv[i];
        dv[i] = g * s[i];
        ds[i] = g * v_last[i];
      }
    });

    // The gates, last step first: dv_{o+1} in dv becomes dv_o (step 0's
    // straight into ds as the last stream's gradient); dx_{N-1-o} into ds;
    // dk_o and dD_o straight into the bank's channel.
    for (index_t o = steps; o-- > 0;) {
      const fft_filter<T>& k = filters->steps[o];
      const T* v = v_of(o);
      const T* x = s + (N - 1 - o) * D * L;
      T* dx = ds + (N - 1 - o) * D * L;
      T* dv_next = o == 0 ? ds + N * D * L : dv;
      exec.parallel_for(D, 2 * conv_work, [&](index_t d0, index_t d1, unsigned worker) {
        auto& slot = ws.backward_.slot(worker);
        for (index_t d = d0; d < d1; ++d) {
          const T* dvd = dv + d * L;
          T* dv_out = dv_next + d * L;
          T* dxd = dx + d * L;
          const T *xd = x + d * L, *vd = v + d * L;
          const T skip = k.skip(d);
          const index_t c = filter_bank_channel(layout, D, steps, o, d);
          slot.begin_filter_gradient();
          ws.skip_gradient_[c] += fft_conv_backward_row(
              k, d, slot, [&](T* dst) { std::copy(dvd, dvd + L, dst); },
              [&](T* dst) { for (index_t t = 0; t < L; ++t) dst[t] = vd[t] * xd[t]; },
              [&](const T* corr, const T* upstream) {
                for (index_t t = 0; t < L; ++t) {
                  const T dg = corr[t] + skip * upstream[t];
                  dv_out[t] = dg * xd[t];
                  dxd[t] = dg * vd[t];
                }
              },
              function, step_gradient_names[std::min<index_t>(o, 3)], step_input_names[std::min<index_t>(o, 3)],
              b * D + d);
          // Every channel of the bank is some (o, d): element 0 writes it.
          finish_filter_gradient(k, slot, ws.bank_gradient_.data() + c * L, b == 0);
        }
      });
    }
    // The short convolution by channel, and db_in += sum_t dp while its
    // rows are in cache.
    exec.parallel_for(S, 4 * L * K, [&](index_t c0, index_t c1, unsigned) {
      const index_t rows = c1 - c0;
      short_causal_conv_backward<T>(span<const T>(w.short_filter_weight.data() + c0 * K, rows * K), K,
                                    {1, rows, L}, span<const T>(p + c0 * L, rows * L),
                                    span<const T>(ds + c0 * L, rows * L), span<T>(dp + c0 * L, rows * L),
                                    span<T>(grads.short_filter_weight.data() + c0 * K, rows * K),
                                    span<T>(grads.short_filter_bias.data() + c0, rows));
      for (index_t c = c0; c < c1; ++c) grads.in_proj_bias[c] += detail::lane_sum(dp + c * L, L);
    });

    // The input projection: dW_in += dp u^T, du_b = W_in^T dp.
    const Eigen::Map<const row_matrix> w_in(w.in_proj_weight.data(), Index(S), Index(D));
    const Eigen::Map<const matrix> dpm(dp, Index(L), Index(S));         // dp(t, c)
    const Eigen::Map<const matrix> u_m(u_b.data(), Index(D), Index(L));  // column t: u[t]
    // dW_in first: it reads u, which du then may overwrite.
    Eigen::Map<row_matrix> dw_in(grads.in_proj_weight.data(), Index(S), Index(D));
    exec.for_each_block(S, weight_gradient_block_rows(S), [&](index_t c0, index_t count) {
      dw_in.middleRows(Index(c0), Index(count)).noalias() +=
          dpm.middleCols(Index(c0), Index(count)).transpose() * u_m.transpose();
    });
    Eigen::Map<matrix> du_b(du_b_data, Index(D), Index(L));              // column t: du[t]
    exec.for_each_block(L, input_gradient_block_steps(L), [&](index_t t0, index_t count) {
      du_b.middleCols(Index(t0), Index(count)).noalias() =
          w_in.transpose() * dpm.middleRows(Index(t0), Index(count)).transpose();
    });
  }

  // The filters' gradients, collected over the batch, through the implicit filter.
  void finish(hyena_weights<T>& grads) {
    for (index_t c = 0; c < w.filter.channels; ++c) grads.filter.bias[c] += ws.skip_gradient_[c];
    implicit_filter_backward<T>(op.filter_generator(), L,
                                span<const T>(ws.bank_gradient_.data(), w.filter.channels * L), grads.filter,
                                ws.filter_, exec);
  }
};

}  // namespace detail

/// Store mode's forward: out = op(u) as forward() computes it (to rounding:
/// the output gate is applied in a separate pass), keeping in `saved` what
/// hyena_backward needs (hyena_activations). u, out: [batch][length][d_model].
/// Throws std::invalid_argument as forward() does.
template <class T>
void forward_for_backward(const hyena_operator<T>& op, index_t batch, index_t length, span_arg<const T> u,
                          span_arg<T> out, hyena_activations<T>& saved, hyena_backward_workspace<T>& ws) {
  detail::hyena_backward_pass<T> pass(op, batch, length, ws, "forward_for_backward");
  pass.require_module_span(u.size(), "u");
  pass.require_module_span(out.size(), "out");
  const index_t L = length, D = pass.D, S = pass.S, steps = pass.steps;
  detail::require_allocatable(detail::checked_mul(batch, 2 * S + steps * D, L, "activations"), sizeof(T),
                              "hyena_activations (batch * (2(N+1) + N-1) * d_model * length)");
  pass.prepare(false, false);
  saved.owner_ = nullptr;  // invalid until complete
  saved.projected_.resize(batch * S * L);
  saved.streams_.resize(batch * S * L);
  saved.mixed_.resize(batch * steps * D * L);
  for (index_t b = 0; b < batch; ++b) {
    T* p = saved.projected_.data() + b * S * L;
    T* s = saved.streams_.data() + b * S * L;
    T* mixed = saved.mixed_.data() + b * steps * D * L;
    pass.forward(u.subspan(b * L * D, L * D), p, s, mixed);
    // y in the workspace's v row, then the output projection.
    if (ws.dv_.size() < D * L) ws.dv_.resize(D * L);
    pass.output_gate(s, mixed, ws.dv_.data());
    op.project_out(L, span<const T>(ws.dv_.data(), D * L), out.subspan(b * L * D, L * D));
  }
  saved.owner_ = &op;
  saved.batch_ = batch;
  saved.length_ = L;
}

/// The gradients of out = op(u) (forward's u, out: [batch][length][d_model])
/// for the upstream gradient dout of out's shape, recompute mode (see the
/// top of this header): du (written, same shape; may be u itself, must not
/// overlap dout) and every weight's gradient, added to `grads` (shaped by
/// zero_gradients(op.weights())): the projections, the short convolution,
/// the implicit filter (MLP, phi, decay rates, z) and its bias (the skips D).
/// Split over op.execution()'s threads in fixed blocks, so results are
/// bit-identical for every thread count. Const and thread-safe on op, like
/// forward(): one workspace per concurrent call.
/// Throws std::invalid_argument on zero sizes, length > max_length, spans of
/// the wrong size, gradients shaped for another operator, or a non-finite
/// value in u or dout (naming its [b][t][d]): a NaN there means the forward
/// or the loss already failed, and the FFTs would spread it over the rows.
/// Arguments are checked before anything is added to grads. A non-finite
/// value arising inside the pass (float overflow) also throws, naming the
/// step and row; grads may then hold part of the call's sum: zero them
/// before trying again.
template <class T>
void hyena_backward(const hyena_operator<T>& op, index_t batch, index_t length, span_arg<const T> u,
                    span_arg<const T> dout, span_arg<T> du, hyena_weights<T>& grads, hyena_backward_workspace<T>& ws) {
  detail::hyena_backward_pass<T> pass(op, batch, length, ws, "hyena_backward");
  pass.require_module_span(u.size(), "u");
  pass.require_module_span(dout.size(), "dout");
  pass.require_module_span(du.size(), "du");
  detail::require_gradient_shapes(op.weights(), grads, "hyena_backward");
  detail::require_finite_module_tensor<T>(u, length, pass.D, "hyena_backward", "u");
  detail::require_finite_module_tensor<T>(dout, length, pass.D, "hyena_backward", "dout");
  pass.prepare(true, true);
  const index_t LD = length * pass.D;
  for (index_t b = 0; b < batch; ++b) {
    pass.forward(u.subspan(b * LD, LD), ws.projected_.data(), ws.streams_.data(), ws.mixed_.data());
    pass.backward(u.subspan(b * LD, LD), dout.data() + b * LD, ws.projected_.data(), ws.streams_.data(),
                  ws.mixed_.data(), du.data() + b * LD, grads, b);
  }
  pass.finish(grads);
}

/// The same gradients in store mode, from the activations forward_for_backward
/// kept for this operator and this u (not checked: the activations must be
/// of the same u). Throws std::invalid_argument as above, and for
/// activations made by another operator or for another batch or length.
template <class T>
void hyena_backward(const hyena_operator<T>& op, const hyena_activations<T>& saved, span_arg<const T> u,
                    span_arg<const T> dout, span_arg<T> du, hyena_weights<T>& grads, hyena_backward_workspace<T>& ws) {
  if (saved.owner_ != &op)
    detail::throw_invalid("hyena::hyena_backward: the activations were not made by this operator's "
                          "forward_for_backward");
  const index_t batch = saved.batch_, length = saved.length_;
  detail::hyena_backward_pass<T> pass(op, batch, length, ws, "hyena_backward");
  const index_t D = pass.D, S = pass.S, steps = pass.steps, L = length;
  if (u.size() != batch * L * D || dout.size() != batch * L * D)
    detail::throw_invalid("hyena::hyena_backward: the activations are of batch ", batch, " and length ", L,
                          " (", batch * L * D, " values), u has ", u.size(), " and dout ", dout.size());
  pass.require_module_span(du.size(), "du");
  // An operator destroyed and another made at its address would pass the
  // owner check: the buffers must also be of this operator's widths.
  if (saved.projected_.size() != batch * S * L || saved.streams_.size() != batch * S * L ||
      saved.mixed_.size() != batch * steps * D * L)
    detail::throw_invalid("hyena::hyena_backward: the activations do not have this operator's widths "
                          "(made by another operator)");
  detail::require_gradient_shapes(op.weights(), grads, "hyena_backward");
  detail::require_finite_module_tensor<T>(u, L, D, "hyena_backward", "u");
  detail::require_finite_module_tensor<T>(dout, L, D, "hyena_backward", "dout");
  pass.prepare(false, true);
  for (index_t b = 0; b < batch; ++b)
    pass.backward(u.subspan(b * L * D, L * D), dout.data() + b * L * D, saved.projected_.data() + b * S * L,
                  saved.streams_.data() + b * S * L, saved.mixed_.data() + b * steps * D * L,
                  du.data() + b * L * D, grads, b);
  pass.finish(grads);
}

/// Recompute mode with a temporary workspace.
template <class T>
void hyena_backward(const hyena_operator<T>& op, index_t batch, index_t length, span_arg<const T> u,
                    span_arg<const T> dout, span_arg<T> du, hyena_weights<T>& grads) {
  hyena_backward_workspace<T> ws;
  hyena_backward(op, batch, length, u, dout, du, grads, ws);
}

}  // namespace hyena
