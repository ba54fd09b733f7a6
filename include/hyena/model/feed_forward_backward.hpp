// hyena/model/feed_forward_backward.hpp: gradients of the block MLP (feed_forward.hpp).
//
// With z = fc1(x) = W1 x + b1, h = gelu_tanh(z), out = W2 h + b2:
//   dW2 += dout h^T,  db2 += sum dout,  dz = (W2^T dout) ⊙ gelu_tanh'(z),
//   dW1 += dz x^T,    db1 += sum dz,    dx = W1^T dz.
// Input gradients written, parameter gradients added to (conv/fft_conv_backward.hpp).
#pragma once

#include <Eigen/Core>

#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/row_sums.hpp"
#include "feed_forward.hpp"
#include "gelu.hpp"

namespace hyena {

/// Gradients of out = feed_forward(w, rows, x) given dout: dx written, the
/// weights' added to `grads` (feed_forward_weights of the same sizes).
/// x, dout, dx: [rows][d_model] (dx must not overlap x or dout); act: the
/// forward's activations gelu_tanh(fc1(x)) [rows][d_inner] (feed_forward's
/// `hidden` after the call, an LM trace's mlp_act); scratch: [rows][d_inner],
/// overwritten. The pre-activations fc1(x) are recomputed (one GEMM), block
/// by block. The GEMMs run in fixed blocks over `exec`'s threads:
/// bit-identical for every thread count. Throws std::invalid_argument on
/// mismatched sizes.
template <class T>
void feed_forward_backward(const feed_forward_weights<T>& w, index_t rows, span_arg<const T> x,
                           span_arg<const T> act, span_arg<const T> dout, span_arg<T> dx, span_arg<T> scratch,
                           feed_forward_weights<T>& grads, const execution_context& exec = {}) {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Eigen::Index;
  const char* function = "feed_forward_backward";
  w.check_shapes();
  grads.check_shapes();
  const index_t D = w.d_model, H = w.d_inner;
  if (grads.d_model != D || grads.d_inner != H)
    detail::throw_invalid("hyena::", function, ": the gradients are of d_model ", grads.d_model, ", d_inner ",
                          grads.d_inner, ", expected ", D, ", ", H);
  const index_t n = detail::checked_mul(rows, D, "rows*d_model");
  const index_t hidden = detail::checked_mul(rows, H, "rows*d_inner");
  detail::require_size(x.size(), n, function, "x", "rows*d_model = ", rows, "*", D);
  detail::require_size(act.size(), hidden, function, "act", "rows*d_inner = ", rows, "*", H);
  detail::require_size(dout.size(), n, function, "dout", "rows*d_model = ", rows, "*", D);
  detail::require_size(dx.size(), n, function, "dx", "rows*d_model = ", rows, "*", D);
  detail::require_size(scratch.size(), hidden, function, "scratch", "rows*d_inner = ", rows, "*", H);
  const Eigen::Map<const row_matrix> w1(w.fc1_weight.data(), Index(H), Index(D));
  const Eigen::Map<const vector> b1(w.fc1_bias.data(), Index(H));
  const Eigen::Map<const row_matrix> w2(w.fc2_weight.data(), Index(D), Index(H));
  // Row-major [rows][width] data as column-major width x rows: column r is row r.
  const Eigen::Map<const matrix> xm(x.data(), Index(D), Index(rows)), gm(dout.data(), Index(D), Index(rows));
  const Eigen::Map<const matrix> h(act.data(), Index(H), Index(rows));
  Eigen::Map<matrix> dz(scratch.data(), Index(H), Index(rows));
  // dz = (W2^T dout) ⊙ gelu'(W1 x + b1), by fixed blocks of rows; z goes
  // through dz's own block first, so nothing is allocated.
  exec.for_each_block(rows, 256, [&](index_t r0, index_t count) {
    const Index first(r0), cols(count);
    auto z = dz.middleCols(first, cols);
    z.noalias() = w1 * xm.middleCols(first, cols);
    z.colwise() += b1;
    T* zp = scratch.data() + r0 * H;
    for (index_t i = 0; i < count * H; ++i) zp[i] = gelu_tanh_derivative(zp[i]);
    z.array() *= (w2.transpose() * gm.middleCols(first, cols)).array();
  });
  Eigen::Map<row_matrix> dw2(grads.fc2_weight.data(), Index(D), Index(H));
  exec.for_each_block(D, 64, [&](index_t e0, index_t count) {
    dw2.middleRows(Index(e0), Index(count)).noalias() += gm.middleRows(Index(e0), Index(count)) * h.transpose();
  });
  detail::add_row_sums(gm, grads.fc2_bias.data());
  Eigen::Map<row_matrix> dw1(grads.fc1_weight.data(), Index(H), Index(D));
  exec.for_each_block(H, 64, [&](index_t h0, index_t count) {
    dw1.middleRows(Index(h0), Index(count)).noalias() += dz.middleRows(Index(h0), Index(count)) * xm.transpose();
  });
  detail::add_row_sums(dz, grads.fc1_bias.data());
  Eigen::Map<matrix> dxm(dx.data(), Index(D), Index(rows));
  exec.for_each_block(rows, 256, [&](index_t r0, index_t count) {
    dxm.middleCols(Index(r0), Index(count)).noalias() = w1.transpose() * dz.middleCols(Index(r0), Index(count));
  });
}

/// As above without the forward's activations: they are recomputed
/// (fc1 and the GELU once more, into a temporary [rows][d_inner]).
template <class T>
void feed_forward_backward(const feed_forward_weights<T>& w, index_t rows, span_arg<const T> x,
                           span_arg<const T> dout, span_arg<T> dx, span_arg<T> scratch,
                           feed_forward_weights<T>& grads, const execution_context& exec = {}) {
  w.check_shapes();
  detail::require_size(x.size(), detail::checked_mul(rows, w.d_model, "rows*d_model"), "feed_forward_backward",
                       "x", "rows*d_model = ", rows, "*", w.d_model);
  std::vector<T> act(detail::checked_mul(rows, w.d_inner, "rows*d_inner"));
  feed_forward_hidden<T>(w, rows, x, act, exec);
  feed_forward_backward<T>(w, rows, x, act, dout, dx, scratch, grads, exec);
}

}  // namespace hyena
