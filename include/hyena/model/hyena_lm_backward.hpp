// hyena/model/hyena_lm_backward.hpp: gradients of the Hyena language model (hyena_lm.hpp).
//
// The forward (r: the residual stream, rows = batch * length):
//   r_0 = E[ids];  s_i = r_i + Hyena_i(LN1_i(r_i));  r_{i+1} = s_i + MLP_i(LN2_i(s_i));
//   hidden = LN_f(r_n);  logits = hidden E^T.
// The backward, given dlogits:
//   dE += dlogits^T hidden,  dhidden = dlogits E,  dr_n = LN_f'(dhidden),
//   for i = n-1..0:  ds_i = dr_{i+1} + LN2_i'(MLP_i'(dr_{i+1})),
//                    dr_i = ds_i + LN1_i'(Hyena_i'(ds_i)),
//   dE[ids[r]] += dr_0[r]  (the head and the embedding are one tensor).
// The forward is run once with a trace (hyena_lm_trace), which keeps every
// block's inputs; each mixer's backward then recomputes its own streams
// (hyena_backward's recompute mode). Parameter gradients are added to.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../operator/hyena_operator_backward.hpp"
#include "cross_entropy.hpp"
#include "feed_forward_backward.hpp"
#include "hyena_lm.hpp"
#include "layer_norm_backward.hpp"

namespace hyena {

/// A gradient buffer for `model`: hyena_lm_weights of its sizes, zero.
template <class T>
hyena_lm_weights<T> zero_gradients(const hyena_lm<T>& model) {
  const index_t D = model.d_model();
  auto zeros = [](index_t n) { return std::vector<T>(n, T(0)); };
  hyena_lm_weights<T> g;
  g.d_model = D;
  g.padded_vocab_size = model.padded_vocab_size();
  g.word_embeddings = zeros(model.word_embeddings().size());
  for (index_t i = 0; i < model.n_layer(); ++i) {
    hyena_block_weights<T> b;
    b.norm1 = {zeros(D), zeros(D)};
    b.norm2 = {zeros(D), zeros(D)};
    b.mixer = zero_gradients(model.mixer(i).weights());
    b.mlp.d_model = D;
    b.mlp.d_inner = model.d_inner(i);
    b.mlp.fc1_weight = zeros(model.mlp(i).fc1_weight.size());
    b.mlp.fc1_bias = zeros(model.mlp(i).fc1_bias.size());
    b.mlp.fc2_weight = zeros(model.mlp(i).fc2_weight.size());
    b.mlp.fc2_bias = zeros(model.mlp(i).fc2_bias.size());
    g.layers.push_back(std::move(b));
  }
  g.final_norm = {zeros(D), zeros(D)};
  return g;
}

namespace detail {

/// Throws std::invalid_argument unless `grads` is shaped like `model` (zero_gradients(model)).
template <class T>
void require_lm_gradient_shapes(const hyena_lm<T>& model, const hyena_lm_weights<T>& grads, const char* function) {
  const index_t D = model.d_model(), V = model.padded_vocab_size(), n_layer = model.n_layer();
  if (grads.d_model != D || grads.padded_vocab_size != V || grads.layers.size() != n_layer ||
      grads.word_embeddings.size() != V * D || grads.final_norm.weight.size() != D ||
      grads.final_norm.bias.size() != D)
    detail::throw_invalid("hyena::", function, ": the gradients are shaped for another model (use zero_gradients(model))");
  for (index_t i = 0; i < n_layer; ++i) {
    const auto& l = grads.layers[i];
    if (l.norm1.weight.size() != D || l.norm1.bias.size() != D || l.norm2.weight.size() != D ||
        l.norm2.bias.size() != D || l.mlp.d_model != D || l.mlp.d_inner != model.d_inner(i))
      detail::throw_invalid("hyena::", function, ": the gradients of layer ", i,
                            " are shaped for another model (use zero_gradients(model))");
    detail::require_gradient_shapes(model.mixer(i).weights(), l.mixer, function);
    l.mlp.check_shapes();
  }
}

/// The backward proper, from the forward's trace and final hidden states
/// (hidden [B][L][D]); dlogits and grads already checked.
template <class T>
void hyena_lm_backward_from_trace(const hyena_lm<T>& model, index_t batch, index_t length,
                                  span<const std::int64_t> ids, span<const T> dlogits, span<const T> hidden,
                                  const hyena_lm_trace<T>& trace, hyena_lm_weights<T>& grads) {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Eigen::Index;
  const index_t D = model.d_model(), V = model.padded_vocab_size(), n_layer = model.n_layer();
  const index_t rows = batch * length;
  const execution_context& exec = model.execution();
  const double eps = model.options().layer_norm_epsilon;

  // The tied head: dE += dlogits^T hidden, dhidden = dlogits E.
  const Eigen::Map<const matrix> dl(dlogits.data(), Index(V), Index(rows));  // column r: row r's dlogits
  const Eigen::Map<const matrix> h(hidden.data(), Index(D), Index(rows));
  const Eigen::Map<const matrix> e_t(model.word_embeddings().data(), Index(D), Index(V));  // E^T
  Eigen::Map<matrix> de_t(grads.word_embeddings.data(), Index(D), Index(V));
  exec.for_each_block(V, 64, [&](index_t v0, index_t count) {
    de_t.middleCols(Index(v0), Index(count)).noalias() += h * dl.middleRows(Index(v0), Index(count)).transpose();
  });
  std::vector<T> dhidden(rows * D), dr(rows * D), dnormed(rows * D), dbranch(rows * D);
  Eigen::Map<matrix> dh(dhidden.data(), Index(D), Index(rows));
  exec.for_each_block(rows, 256, [&](index_t r0, index_t count) {
    dh.middleCols(Index(r0), Index(count)).noalias() = e_t * dl.middleCols(Index(r0), Index(count));
  });
  const std::vector<T>& last = n_layer ? trace.layers.back().residual_out : trace.embeddings;
  layer_norm_backward<T>(rows, D, last, model.final_norm().weight, eps, dhidden, dr, grads.final_norm.weight,
                         grads.final_norm.bias, exec);

  std::vector<T> scratch;
  hyena_backward_workspace<T> mixer_ws;
  for (index_t i = n_layer; i-- > 0;) {
    const auto& t = trace.layers[i];
    auto& g = grads.layers[i];
    // The MLP branch: ds = dr + LN2'(MLP'(dr)).
    scratch.resize(rows * model.d_inner(i));
    feed_forward_backward<T>(model.mlp(i), rows, t.mlp_in, t.mlp_act, dr, dnormed, scratch, g.mlp, exec);
    layer_norm_backward<T>(rows, D, t.residual_mid, model.norm2(i).weight, eps, dnormed, dbranch, g.norm2.weight,
                           g.norm2.bias, exec);
    for (index_t k = 0; k < rows * D; ++k) dr[k] += dbranch[k];
    // The mixer branch: dr = ds + LN1'(Hyena'(ds)).
    hyena_backward<T>(model.mixer(i), batch, length, t.mixer_in, dr, dnormed, g.mixer, mixer_ws);
    const std::vector<T>& input = i == 0 ? trace.embeddings : trace.layers[i - 1].residual_out;
    layer_norm_backward<T>(rows, D, input, model.norm1(i).weight, eps, dnormed, dbranch, g.norm1.weight,
                           g.norm1.bias, exec);
    for (index_t k = 0; k < rows * D; ++k) dr[k] += dbranch[k];
  }
  // The embedding lookup, in row order.
  for (index_t r = 0; r < rows; ++r) {
    T* row = grads.word_embeddings.data() + static_cast<index_t>(ids[r]) * D;
    for (index_t d = 0; d < D; ++d) row[d] += dr[r * D + d];
  }
}


}  // namespace detail

/// Adds to `grads` (zero_gradients(model)) the gradients of every weight
/// for the upstream gradient dlogits [batch][length][V'] of the logits of
/// ids [batch][length]. O(forward + backward of every block); the blocks'
/// work is split over model.execution()'s threads in fixed blocks, so the
/// gradients are bit-identical for every thread count. Memory: the forward's
/// trace, about (5 n_layer + 2) B L D + n_layer B L d_inner values.
/// Throws std::invalid_argument as forward() does, for dlogits of the wrong
/// size or not finite, and for gradients shaped for another model.
template <class T>
void hyena_lm_backward(const hyena_lm<T>& model, index_t batch, index_t length, span<const std::int64_t> ids,
                       span_arg<const T> dlogits, hyena_lm_weights<T>& grads) {
  const char* function = "hyena_lm_backward";
  const index_t D = model.d_model(), V = model.padded_vocab_size();
  const index_t rows = detail::checked_mul(batch, length, "batch*length");
  detail::require_size(dlogits.size(), detail::checked_mul(rows, V, "rows*V'"), function, "dlogits",
                       "batch*length*V' = ", batch, "*", length, "*", V);
  detail::require_finite(dlogits, function, "dlogits");
  detail::require_lm_gradient_shapes(model, grads, function);
  // The forward, keeping every block's inputs.
  hyena_lm_trace<T> trace;
  hyena_lm_workspace<T> ws;
  std::vector<T> hidden(rows * D);
  model.forward(batch, length, ids, hidden, span<T>(), ws, &trace);
  detail::hyena_lm_backward_from_trace<T>(model, batch, length, ids, dlogits, hidden, trace, grads);
}

/// The loss of ids against `targets` [batch][length] (softmax_cross_entropy
/// of the logits; a negative target: no loss at that position) and its
/// gradients added to `grads`: one forward (its logits give the loss, its
/// trace the backward) and the backward. Returns the loss. Throws as
/// hyena_lm_backward and softmax_cross_entropy do.
template <class T>
double hyena_lm_loss_and_gradients(const hyena_lm<T>& model, index_t batch, index_t length,
                                   span<const std::int64_t> ids, span<const std::int64_t> targets,
                                   hyena_lm_weights<T>& grads) {
  const index_t rows = detail::checked_mul(batch, length, "batch*length");
  detail::require_lm_gradient_shapes(model, grads, "hyena_lm_loss_and_gradients");
  // One forward serves both: its logits give the loss, its trace the backward.
  hyena_lm_trace<T> trace;
  hyena_lm_workspace<T> ws;
  std::vector<T> hidden(rows * model.d_model()),
      logits(detail::checked_mul(rows, model.padded_vocab_size(), "rows*V'")), dlogits(logits.size());
  model.forward(batch, length, ids, hidden, logits, ws, &trace);
  const double loss = softmax_cross_entropy<T>(rows, model.padded_vocab_size(), logits, targets, dlogits);
  detail::hyena_lm_backward_from_trace<T>(model, batch, length, ids, dlogits, hidden, trace, grads);
  return loss;
}

/// As above for next-token prediction (targets = next_token_targets(ids)).
template <class T>
double hyena_lm_loss_and_gradients(const hyena_lm<T>& model, index_t batch, index_t length,
                                   span<const std::int64_t> ids, hyena_lm_weights<T>& grads) {
  const auto targets = next_token_targets(batch, length, ids);
  return hyena_lm_loss_and_gradients<T>(model, batch, length, ids, targets, grads);
}

}  // namespace hyena
