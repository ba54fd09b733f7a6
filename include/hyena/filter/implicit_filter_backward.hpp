// hyena/filter/implicit_filter_backward.hpp: gradients of the implicit filter's weights.
//
// The forward (implicit_filter.hpp), at positions n < L:
//   q_1 = W_0 z_n + b_0,  a_1 = sin(phi ⊙ q_1),  q_{j+1} = W_j a_j + b_j,  a_{j+1} = sin(phi ⊙ q_{j+1}),
//   ĥ = W_last a_{R+1},   h[c][n] = ĥ[c][n] * w[c][n],   w[c][n] = exp(-t_n |delta_c|) + shift.
// Given dh = dLoss/dh [F][L]:
//   dĥ = dh ⊙ w,   d delta_c += sum_n dh ĥ * (-t_n sign(delta_c) exp(-t_n |delta_c|)),
//   dW_last += dĥ a_{R+1}^T,   da_{R+1} = W_last^T dĥ,
//   per sine layer, last to first: dr = da ⊙ cos(phi ⊙ q), dq = phi ⊙ dr, dphi += sum_n dr ⊙ q,
//     dW += dq a_prev^T, db += sum_n dq, da_prev = W^T dq,
//   dz_n += W_0^T dq_1 (z is trained by default in the reference; t is a buffer).
// phi is shared by every sine, so its gradient is the sum over the layers,
// which is what PyTorch reports under each of its tied names.
// Parameter gradients are added to (fft_conv_backward.hpp's convention).
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/row_sums.hpp"
#include "implicit_filter.hpp"

namespace hyena {

/// A gradient buffer for `weights`: every trainable member of the same
/// size, zero; the hyperparameters (sizes, positions.max_length/emb_dim)
/// copied. positions.t stays zero: it is a buffer, never trained.
template <class T>
implicit_filter_weights<T> zero_gradients(const implicit_filter_weights<T>& weights) {
  implicit_filter_weights<T> g;
  auto zeros = [](const std::vector<T>& v) { return std::vector<T>(v.size(), T(0)); };
  g.positions.max_length = weights.positions.max_length;
  g.positions.emb_dim = weights.positions.emb_dim;
  g.positions.z = zeros(weights.positions.z);
  g.positions.t = zeros(weights.positions.t);
  g.width = weights.width;
  g.channels = weights.channels;
  g.first_weight = zeros(weights.first_weight);
  g.first_bias = zeros(weights.first_bias);
  g.frequency = zeros(weights.frequency);
  for (const auto& w : weights.inner_weights) g.inner_weights.push_back(zeros(w));
  for (const auto& b : weights.inner_biases) g.inner_biases.push_back(zeros(b));
  g.last_weight = zeros(weights.last_weight);
  g.deltas = zeros(weights.deltas);
  g.bias = zeros(weights.bias);
  return g;
}

namespace detail {

/// Throws std::invalid_argument naming `function` and the first member of
/// `grads` whose size differs from the weights' (a gradient buffer made for
/// another filter).
template <class T>
void require_gradient_shapes(const implicit_filter_weights<T>& weights, const implicit_filter_weights<T>& grads,
                             const char* function) {
  auto same = [&](const std::vector<T>& w, const std::vector<T>& g, const std::string& name) {
    if (w.size() != g.size())
      throw_invalid("hyena::", function, ": the gradient of ", name, " has ", g.size(), " elements, expected ",
                    w.size(), " (use zero_gradients(weights))");
  };
  same(weights.positions.z, grads.positions.z, "filter z");
  same(weights.first_weight, grads.first_weight, "filter first_weight");
  same(weights.first_bias, grads.first_bias, "filter first_bias");
  same(weights.frequency, grads.frequency, "filter frequency");
  if (weights.inner_weights.size() != grads.inner_weights.size() ||
      weights.inner_biases.size() != grads.inner_biases.size())
    throw_invalid("hyena::", function, ": the gradient has ", grads.inner_weights.size(), " inner layers, expected ",
                  weights.inner_weights.size());
  for (index_t j = 0; j < weights.inner_weights.size(); ++j) {
    same(weights.inner_weights[j], grads.inner_weights[j], concat("filter inner_weights[", j, "]"));
    same(weights.inner_biases[j], grads.inner_biases[j], concat("filter inner_biases[", j, "]"));
  }
  same(weights.last_weight, grads.last_weight, "filter last_weight");
  same(weights.deltas, grads.deltas, "filter deltas");
  same(weights.bias, grads.bias, "filter bias");
}

}  // namespace detail

/// Reusable arrays for implicit_filter_backward: the recomputed
/// activations and their gradients ((R+6) M L values) and the windowed bank
/// gradient (F L). Grows to the largest call, then allocates nothing.
template <class T>
class implicit_filter_backward_workspace {
 public:
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  /// Bytes held, for memory accounting.
  index_t bytes() const noexcept {
    index_t values = index_t(a.size() + da.size() + dq.size() + dr.size() + previous.size() + window_gradient.size());
    for (const auto& m : q) values += index_t(m.size());
    return values * sizeof(T);
  }

 private:
  template <class U>
  friend void implicit_filter_backward(const implicit_filter<U>&, index_t, span_arg<const U>,
                                       implicit_filter_weights<U>&, implicit_filter_backward_workspace<U>&,
                                       const execution_context&);
  std::vector<matrix> q;
  matrix a, da, dq, dr, previous;
  row_matrix window_gradient;
};

/// Adds the gradients of every weight of `filter` (z, the MLP, phi, the
/// decay rates) for the bank h = filter.response(length), given dh [F][length],
/// to `grads` (shaped by zero_gradients). grads.bias is untouched: the skip
/// weights D enter the convolution, not the bank (causal_conv_backward's dskip).
/// O(L M (E + R M + F)); the two GEMMs with F rows, the window and the
/// position-wise work (the MLP's recomputed forward, sines, cosines, the
/// input gradients) are split over `exec`'s threads in fixed blocks, so
/// results do not depend on the thread count.
/// Recomputes the forward's activations into `ws` (one per concurrent call).
/// Throws std::invalid_argument on a length outside [1, max_length], dh of
/// the wrong size or non-finite, or gradients shaped for another filter.
template <class T>
void implicit_filter_backward(const implicit_filter<T>& filter, index_t length, span_arg<const T> dh,
                              implicit_filter_weights<T>& grads, implicit_filter_backward_workspace<T>& ws,
                              const execution_context& exec = {}) {
  using matrix = typename implicit_filter_backward_workspace<T>::matrix;
  using row_matrix = typename implicit_filter_backward_workspace<T>::row_matrix;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Eigen::Index;
  const char* function = "implicit_filter_backward";
  const auto& w = filter.weights();
  if (length == 0 || length > filter.max_length())
    detail::throw_invalid("hyena::", function, ": length must be in [1, max_length = ", filter.max_length(),
                          "], got ", length);
  const index_t F = w.channels, M = w.width, E = w.emb_dim(), R = w.inner_layers(), L = length;
  detail::require_size(dh.size(), detail::checked_mul(F, L, "channels*length"), function, "dh",
                       "channels*length = ", F, "*", L);
  detail::require_finite(dh, function, "dh");
  detail::require_gradient_shapes(w, grads, function);
  detail::require_allocatable(detail::checked_mul(R + 3, M, L, "activations"), sizeof(T),
                              "implicit_filter_backward activations ((inner_layers+3)*width*length)");

  // The forward again, keeping each layer's pre-activation q (before phi).
  // Everything that works column by column (position by position) runs in
  // fixed blocks of positions over the threads; the sums over positions
  // (the weights' gradients) stay whole, so no result depends on the
  // thread count.
  const Eigen::Map<const vector> phi(w.frequency.data(), Index(M));
  const Eigen::Map<const matrix> z(w.positions.z.data(), Index(E), Index(L));  // column n: z_n
  std::vector<matrix>& q = ws.q;
  q.resize(R + 1);
  for (auto& m : q) m.resize(Index(M), Index(L));
  matrix& a = ws.a;
  a.resize(Index(M), Index(L));
  constexpr index_t position_block = 2048;
  exec.for_each_block(L, position_block, [&](index_t t0, index_t n) {
    const Index first(t0), count(n);
    auto a_block = a.middleCols(first, count);
    q[0].middleCols(first, count).noalias() =
        Eigen::Map<const row_matrix>(w.first_weight.data(), Index(M), Index(E)) * z.middleCols(first, count);
    q[0].middleCols(first, count).colwise() += Eigen::Map<const vector>(w.first_bias.data(), Index(M));
    a_block = (q[0].middleCols(first, count).array().colwise() * phi.array()).sin().matrix();
    for (index_t j = 0; j < R; ++j) {
      auto q_block = q[j + 1].middleCols(first, count);
      q_block.noalias() = Eigen::Map<const row_matrix>(w.inner_weights[j].data(), Index(M), Index(M)) * a_block;
      q_block.colwise() += Eigen::Map<const vector>(w.inner_biases[j].data(), Index(M));
      a_block = (q_block.array().colwise() * phi.array()).sin().matrix();
    }
  });

  // The window: dĥ = dh ⊙ w, and the decay rates' gradient needs ĥ.
  const Eigen::Map<const row_matrix> w_last(w.last_weight.data(), Index(F), Index(M));
  const Eigen::Map<const row_matrix> dh_m(dh.data(), Index(F), Index(L));
  const auto& modulation = filter.modulation();
  row_matrix& dmlp = ws.window_gradient;
  dmlp.resize(Index(F), Index(L));
  if (!modulation.modulate) {
    dmlp = dh_m;
  } else {
    using array = Eigen::Array<T, 1, Eigen::Dynamic>;
    const Eigen::Map<const array> time(w.positions.t.data(), Index(L));
    const T shift = static_cast<T>(modulation.shift);
    exec.for_each_block(F, 16, [&](index_t c0, index_t count) {
      dmlp.middleRows(Index(c0), Index(count)) = dh_m.middleRows(Index(c0), Index(count));
      row_matrix mlp = w_last.middleRows(Index(c0), Index(count)) * a;  // ĥ for these channels
      for (index_t i = 0; i < count; ++i) {
        const index_t c = c0 + i;
        const T delta = w.deltas[c];
        const array decay = (time * -std::fabs(delta)).exp();
        const T sign = delta > 0 ? T(1) : delta < 0 ? T(-1) : T(0);  // d|delta|/d delta, 0 at 0 as in PyTorch
        auto row = dmlp.row(Index(c)).array();
        grads.deltas[c] += -sign * (row * mlp.row(Index(i)).array() * time * decay).sum();
        row *= decay + shift;
      }
    });
  }

  // The last Linear: dW_last by fixed blocks of channels, da by fixed blocks
  // of positions: each block is one GEMM, so the rounding is the same for
  // every thread count.
  Eigen::Map<row_matrix> dw_last(grads.last_weight.data(), Index(F), Index(M));
  exec.for_each_block(F, 64, [&](index_t c0, index_t count) {
    dw_last.middleRows(Index(c0), Index(count)).noalias() += dmlp.middleRows(Index(c0), Index(count)) * a.transpose();
  });
  matrix& da = ws.da;
  da.resize(Index(M), Index(L));
  exec.for_each_block(L, 512, [&](index_t t0, index_t count) {
    da.middleCols(Index(t0), Index(count)).noalias() = w_last.transpose() * dmlp.middleCols(Index(t0), Index(count));
  });

  // The sine layers, last to first. a is recomputed from q as each layer
  // needs its input.
  matrix &dq = ws.dq, &dr = ws.dr, &previous = ws.previous;
  dr.resize(Index(M), Index(L));
  dq.resize(Index(M), Index(L));
  previous.resize(Index(M), Index(L));
  for (index_t j = R + 1; j-- > 0;) {
    exec.for_each_block(L, position_block, [&](index_t t0, index_t n) {
      const Index first(t0), count(n);
      dr.middleCols(first, count) =
          (da.middleCols(first, count).array() * (q[j].middleCols(first, count).array().colwise() * phi.array()).cos())
              .matrix();
      dq.middleCols(first, count) = (dr.middleCols(first, count).array().colwise() * phi.array()).matrix();
      if (j > 0)  // a_j, this layer's input
        previous.middleCols(first, count) =
            (q[j - 1].middleCols(first, count).array().colwise() * phi.array()).sin().matrix();
    });
    detail::add_row_sums((dr.array() * q[j].array()).matrix(), grads.frequency.data());
    if (j == 0) {
      Eigen::Map<row_matrix>(grads.first_weight.data(), Index(M), Index(E)).noalias() += dq * z.transpose();
      detail::add_row_sums(dq, grads.first_bias.data());
      Eigen::Map<matrix>(grads.positions.z.data(), Index(E), Index(L)).noalias() +=
          Eigen::Map<const row_matrix>(w.first_weight.data(), Index(M), Index(E)).transpose() * dq;
    } else {
      const Eigen::Map<const row_matrix> wj(w.inner_weights[j - 1].data(), Index(M), Index(M));
      Eigen::Map<row_matrix>(grads.inner_weights[j - 1].data(), Index(M), Index(M)).noalias() +=
          dq * previous.transpose();
      detail::add_row_sums(dq, grads.inner_biases[j - 1].data());
      exec.for_each_block(L, position_block, [&](index_t t0, index_t n) {
        da.middleCols(Index(t0), Index(n)).noalias() = wj.transpose() * dq.middleCols(Index(t0), Index(n));
      });
    }
  }
}

/// As above with a temporary workspace.
template <class T>
void implicit_filter_backward(const implicit_filter<T>& filter, index_t length, span_arg<const T> dh,
                              implicit_filter_weights<T>& grads, const execution_context& exec = {}) {
  implicit_filter_backward_workspace<T> ws;
  implicit_filter_backward(filter, length, dh, grads, ws, exec);
}

}  // namespace hyena
