// hyena/model/hyena_lm.hpp: the Hyena language model of HyenaDNA and safari (docs/language_model.md).
//
//   r = E[ids]                                        token embedding, no positions
//   for each layer i:
//       r = r + Hyena_i( LN1_i(r) )                   pre-LN residual blocks
//       r = r + fc2_i( gelu_tanh( fc1_i( LN2_i(r) ) ) )
//   hidden = LN_f(r)
//   logits = hidden E^T                               the head is tied to E, no bias
//
// Layout: ids [batch][length]; hidden [batch][length][d_model]; logits
// [batch][length][V'], where V' is the number of embedding rows (the
// vocabulary padded up to a multiple of 8 in HyenaDNA: 12 -> 16).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "feed_forward.hpp"
#include "../operator/hyena_operator.hpp"
#include "../operator/weights.hpp"
#include "layer_norm.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The mixer options of HyenaDNA's released models: the dna-standalone
/// operator's window shift 0.05 (docs/language_model.md), blocked layout (the same as
/// interleaved at order 2). safari's LM uses shift 0 and the interleaved layout.
inline hyena_options hyena_dna_mixer_options() {
  hyena_options options;
  options.modulation.shift = 0.05;
  return options;
}

/// What a language model's weights do not say.
struct hyena_lm_options {
  /// eps of every LayerNorm (norm1, norm2, ln_f); HyenaDNA's layer_norm_epsilon.
  double layer_norm_epsilon = 1e-5;
  /// Options of every mixer: window shift and modulate, filter layout, FFT
  /// planning, filter cache.
  hyena_options mixer = hyena_dna_mixer_options();
  /// The real vocabulary (ids a tokenizer produces, 12 for HyenaDNA), at most
  /// the number of embedding rows V'; 0 means V'. Only sampling uses it: the
  /// logits always have V' columns.
  index_t vocab_size = 0;
};

/// The parameters of one block, in PyTorch's layouts.
template <class T>
struct hyena_block_weights {
  layer_norm_weights<T> norm1;
  hyena_weights<T> mixer;
  layer_norm_weights<T> norm2;
  feed_forward_weights<T> mlp;
};

/// Every parameter of a language model.
template <class T>
struct hyena_lm_weights {
  index_t d_model = 0;                         ///< D
  index_t padded_vocab_size = 0;               ///< V', the embedding's rows
  std::vector<T> word_embeddings;              ///< E [V'][D], also the LM head
  std::vector<hyena_block_weights<T>> layers;  ///< n_layer >= 1 blocks
  layer_norm_weights<T> final_norm;            ///< ln_f

  /// Throws std::invalid_argument naming the first inconsistent member
  /// (with its layer), e.g. "layers[1].mlp: fc1_weight has ...".
  void validate() const {
    detail::require_positive(d_model, "hyena_lm_weights", "d_model");
    detail::require_positive(padded_vocab_size, "hyena_lm_weights", "padded_vocab_size");
    if (word_embeddings.size() != detail::checked_mul(padded_vocab_size, d_model, "V'*d_model"))
      detail::throw_invalid("hyena::hyena_lm_weights: word_embeddings has ", word_embeddings.size(),
                            " elements, expected padded_vocab_size*d_model = ", padded_vocab_size, "*", d_model);
    detail::require_finite(word_embeddings, "hyena_lm_weights", "word_embeddings");
    if (layers.empty()) detail::throw_invalid("hyena::hyena_lm_weights: no layers (n_layer must be >= 1)");
    for (index_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      const std::string at = detail::concat("layers[", i, "].");
      l.norm1.validate(d_model, at + "norm1");
      l.norm2.validate(d_model, at + "norm2");
      // The members' own messages do not know their layer: prepend it.
      try {
        l.mixer.validate();
      } catch (const std::invalid_argument& e) {
        detail::throw_invalid("hyena::hyena_lm_weights: ", at, "mixer: ", e.what());
      }
      try {
        l.mlp.validate();
      } catch (const std::invalid_argument& e) {
        detail::throw_invalid("hyena::hyena_lm_weights: ", at, "mlp: ", e.what());
      }
      if (l.mixer.d_model != d_model)
        detail::throw_invalid("hyena::hyena_lm_weights: ", at, "mixer has d_model ", l.mixer.d_model, ", expected ",
                              d_model);
      if (l.mlp.d_model != d_model)
        detail::throw_invalid("hyena::hyena_lm_weights: ", at, "mlp has d_model ", l.mlp.d_model, ", expected ",
                              d_model);
    }
    final_norm.validate(d_model, "final_norm");
  }
};

/// Per-stage copies of a forward call, all time-major like the reference's
/// dumps: [batch][length][width].
template <class T>
struct hyena_lm_layer_trace {
  std::vector<T> mixer_in;      ///< LN1(r), [B][L][D]
  std::vector<T> mixer_out;     ///< Hyena(LN1(r))
  std::vector<T> residual_mid;  ///< r after the mixer's add
  std::vector<T> mlp_in;        ///< LN2(r)
  std::vector<T> mlp_act;       ///< gelu_tanh(fc1(LN2(r))), [B][L][d_inner]
  std::vector<T> mlp_out;       ///< fc2(...)
  std::vector<T> residual_out;  ///< r after the block
};

template <class T>
struct hyena_lm_trace {
  std::vector<T> embeddings;                    ///< E[ids], [B][L][D]
  std::vector<hyena_lm_layer_trace<T>> layers;  ///< one per block
  // ln_f's output is the forward call's `hidden`.
};

/// Reusable buffers for hyena_lm::forward: one per concurrent call. Grows to
/// the largest call it served (4 B L D + B L d_inner values plus the mixer's
/// workspace), then allocates nothing more.
template <class T>
class hyena_lm_workspace {
 public:
  index_t bytes() const noexcept {
    return (residual_.size() + normed_.size() + branch_.size() + hidden_.size()) * sizeof(T) + mixer_.bytes();
  }

 private:
  template <class>
  friend class hyena_lm;
  detail::aligned_vector<T> residual_, normed_, branch_, hidden_;
  hyena_workspace<T> mixer_;
};

/// Hidden states and logits of one forward call.
template <class T>
struct hyena_lm_output {
  std::vector<T> hidden;  ///< [B][L][D]
  std::vector<T> logits;  ///< [B][L][V']
};

template <class T>
class hyena_lm;

/// The decoding state of `batch` sequences for one hyena_lm (made by its
/// make_state()): one hyena_decoder_state per layer plus one token's
/// activations. bytes() = sum of the layers' states (decoder_state.hpp) +
/// sizeof(T) B (3 D + d_inner). Movable; one per decoding loop.
template <class T>
class hyena_lm_state {
 public:
  // Every layer's state has the same batch, capacity and position: the first says them.
  index_t batch() const noexcept { return layers_.front().batch(); }
  index_t capacity() const noexcept { return layers_.front().capacity(); }
  /// Tokens consumed so far.
  index_t position() const noexcept { return layers_.front().position(); }
  index_t bytes() const noexcept {
    index_t total = 0;
    for (const auto& l : layers_) total += l.bytes();
    return total + (residual_.size() + normed_.size() + branch_.size() + act_.size()) * sizeof(T);
  }
  void reset() {
    for (auto& l : layers_) l.reset();
  }

 private:
  friend class hyena_lm<T>;
  hyena_lm_state() = default;
  const void* owner_ = nullptr;
  std::vector<hyena_decoder_state<T>> layers_;
  detail::aligned_vector<T> residual_, normed_, branch_, act_;  // [B][D] x3, [B][d_inner]
};

/// A Hyena language model, built once from its weights (the mixers' filters
/// are prepared lazily per input length and cached, see hyena_operator).
/// Immutable afterwards: every member function is const and thread-safe, each
/// concurrent forward call with its own workspace. Movable, not copyable.
/// Every stage runs on execution() (set_execution() sets it for the mixers
/// too); work is split in fixed blocks, so results do not depend on it.
template <class T>
class hyena_lm : public uses_execution {
  static_assert(detail::is_real_v<T>, "hyena::hyena_lm<T> needs T = float or double");
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

 public:
  /// Validates the weights and options (std::invalid_argument naming the
  /// member) and builds one hyena_operator per layer. O(parameters).
  explicit hyena_lm(hyena_lm_weights<T> weights, hyena_lm_options options = {}) : options_(std::move(options)) {
    weights.validate();
    check_layer_norm_epsilon(options_.layer_norm_epsilon, "hyena_lm");
    if (options_.vocab_size > weights.padded_vocab_size)
      detail::throw_invalid("hyena::hyena_lm: options.vocab_size ", options_.vocab_size, " exceeds the embedding's ",
                            weights.padded_vocab_size, " rows");
    d_model_ = weights.d_model;
    padded_vocab_ = weights.padded_vocab_size;
    embeddings_ = std::move(weights.word_embeddings);
    final_norm_ = std::move(weights.final_norm);
    max_length_ = 0;
    for (auto& l : weights.layers) {
      block_state b;
      b.norm1 = std::move(l.norm1);
      b.norm2 = std::move(l.norm2);
      b.mlp = std::move(l.mlp);
      b.mixer = std::make_unique<hyena_operator<T>>(std::move(l.mixer), options_.mixer);
      max_length_ = max_length_ == 0 ? b.mixer->max_length() : std::min(max_length_, b.mixer->max_length());
      max_inner_ = std::max(max_inner_, b.mlp.d_inner);
      layers_.push_back(std::move(b));
    }
  }

  index_t d_model() const noexcept { return d_model_; }
  index_t n_layer() const noexcept { return layers_.size(); }
  /// d_inner of layer i's MLP (the same for every layer in HyenaDNA).
  index_t d_inner(index_t layer = 0) const { return at(layer).mlp.d_inner; }
  /// V': the embedding's rows, the logits' width.
  index_t padded_vocab_size() const noexcept { return padded_vocab_; }
  /// The real vocabulary: options().vocab_size, or V' when that is 0.
  index_t vocab_size() const noexcept { return options_.vocab_size != 0 ? options_.vocab_size : padded_vocab_; }
  /// The longest input: the smallest l_max of the mixers.
  index_t max_length() const noexcept { return max_length_; }
  const hyena_lm_options& options() const noexcept { return options_; }
  /// The threads of every stage, the mixers' included. Not synchronised
  /// with forward(): set before sharing the model.
  void set_execution(execution_context execution) {
    execution_ = execution;
    for (auto& b : layers_) b.mixer->set_execution(execution);
  }
  /// Layer i's mixer, e.g. for its filters (filter_generator().response(L)).
  const hyena_operator<T>& mixer(index_t layer) const { return *at(layer).mixer; }
  const layer_norm_weights<T>& norm1(index_t layer) const { return at(layer).norm1; }
  const layer_norm_weights<T>& norm2(index_t layer) const { return at(layer).norm2; }
  const feed_forward_weights<T>& mlp(index_t layer) const { return at(layer).mlp; }
  const layer_norm_weights<T>& final_norm() const noexcept { return final_norm_; }
  /// E [V'][D].
  const std::vector<T>& word_embeddings() const noexcept { return embeddings_; }

  /// hidden = the model's final hidden states, and logits = hidden E^T
  /// unless `logits` is empty (then the head is skipped).
  /// ids: [batch][length], each in [0, V'); hidden: [batch][length][d_model];
  /// logits: [batch][length][V'] or empty. 1 <= length <= max_length()
  /// (the reference fails on longer inputs). Sequences are independent.
  /// Time O(n_layer B (D L (3D + 2 d_inner) + D L log L)) + O(B L V' D) for
  /// the head, split over execution()'s threads; bit-identical for every
  /// thread count. Const and thread-safe with one workspace per caller.
  /// Throws std::invalid_argument on zero sizes, length > max_length(), an
  /// id outside [0, V') (naming its batch row and position), or spans of the
  /// wrong size. With `trace`, every stage of every block is copied into it.
  void forward(index_t batch, index_t length, span<const std::int64_t> ids, span_arg<T> hidden,
               span_arg<T> logits, hyena_lm_workspace<T>& ws,
               hyena_lm_trace<T>* trace = nullptr) const {
    detail::require_positive(batch, "hyena_lm::forward", "batch");
    detail::require_positive(length, "hyena_lm::forward", "length");
    if (length > max_length_)
      detail::throw_invalid("hyena::hyena_lm::forward: input length ", length, " exceeds the model's max_length ",
                            max_length_, " (l_max of its filters; the reference fails on longer inputs)");
    check_io("hyena_lm::forward", batch, length, ids, hidden, logits);
    run_blocks(batch, length, ids, hidden, logits, ws, trace,
               [&](index_t li, span<const T> normed, span<T> branch) {
                 layers_[li].mixer->forward(batch, length, normed, branch, ws.mixer_);
               });
  }

  /// As above with a temporary workspace; returns hidden states and logits.
  hyena_lm_output<T> forward(index_t batch, index_t length, span<const std::int64_t> ids) const {
    hyena_lm_output<T> out;
    out.hidden.resize(detail::checked_mul(batch, length, d_model_, "batch*length*d_model"));
    out.logits.resize(detail::checked_mul(batch, length, padded_vocab_, "batch*length*V'"));
    hyena_lm_workspace<T> ws;
    forward(batch, length, ids, out.hidden, out.logits, ws);
    return out;
  }

  // Step-by-step decoding (docs/online_conv.md): make_state, prefill with
  // the prompt, then one step per token; the outputs equal forward()'s on
  // the whole sequence to rounding.

  /// A fresh decoding state for `batch` sequences of up to `capacity`
  /// tokens (1 <= capacity <= max_length()). Throws std::invalid_argument on
  /// zero sizes or a capacity above max_length().
  hyena_lm_state<T> make_state(index_t batch, index_t capacity) const {
    detail::require_positive(batch, "hyena_lm::make_state", "batch");
    detail::require_positive(capacity, "hyena_lm::make_state", "capacity");
    if (capacity > max_length_)
      detail::throw_invalid("hyena::hyena_lm::make_state: capacity ", capacity, " exceeds the model's max_length ",
                            max_length_);
    hyena_lm_state<T> state;
    state.owner_ = this;
    for (const auto& b : layers_) state.layers_.push_back(b.mixer->make_state(batch, capacity));
    state.residual_.resize(batch * d_model_);
    state.normed_.resize(batch * d_model_);
    state.branch_.resize(batch * d_model_);
    state.act_.resize(batch * max_inner_);
    return state;
  }

  /// Runs the first `length` tokens of every sequence through the model as
  /// forward() does (same outputs: ids [batch][length], hidden
  /// [batch][length][d_model], logits [batch][length][V'] or empty) and
  /// leaves `state` ready to step from there. Throws std::invalid_argument,
  /// leaving the state unchanged, for a state from another model or not
  /// fresh, length 0 or above its capacity, bad ids or spans of the wrong size.
  void prefill(hyena_lm_state<T>& state, index_t length, span<const std::int64_t> ids, span_arg<T> hidden,
               span_arg<T> logits, hyena_lm_workspace<T>& ws) const {
    check_state(state, "prefill");
    detail::require_positive(length, "hyena_lm::prefill", "length");
    detail::require_fresh_state_for("hyena_lm::prefill", state.position(), length, state.capacity(), "tokens");
    check_io("hyena_lm::prefill", state.batch(), length, ids, hidden, logits);
    run_blocks(state.batch(), length, ids, hidden, logits, ws, nullptr,
               [&](index_t li, span<const T> normed, span<T> branch) {
                 layers_[li].mixer->prefill(state.layers_[li], length, normed, branch, ws.mixer_);
               });
  }

  /// Advances every sequence by one token: ids_t [batch] (the tokens at
  /// position()), hidden_t [batch][d_model], logits_t [batch][V'] or empty.
  /// O(n_layer B (D (3D + 2 d_inner) + (N-1) D log^2 capacity)) amortised,
  /// plus O(B V' D) for the head; allocates nothing after the state's first
  /// FFT blocks. Throws std::invalid_argument, leaving the state unchanged,
  /// for a full state, a state from another model, an id outside the
  /// embedding or spans of the wrong size.
  void step(hyena_lm_state<T>& state, span<const std::int64_t> ids_t, span_arg<T> hidden_t,
            span_arg<T> logits_t) const {
    check_state(state, "step");
    detail::require_room_for_a_step("hyena_lm::step", state.position(), state.capacity(), "tokens");
    const index_t B = state.batch(), D = d_model_;
    check_io("hyena_lm::step", B, 1, ids_t, hidden_t, logits_t);
    const span<T> r(state.residual_.data(), B * D), normed(state.normed_.data(), B * D),
        branch(state.branch_.data(), B * D);
    for (index_t b = 0; b < B; ++b)
      std::copy_n(embeddings_.data() + static_cast<index_t>(ids_t[b]) * D, D, r.data() + b * D);
    const double eps = options_.layer_norm_epsilon;
    for (index_t li = 0; li < layers_.size(); ++li) {
      const block_state& blk = layers_[li];
      layer_norm<T>(B, D, r, blk.norm1.weight, blk.norm1.bias, eps, normed, execution_);
      blk.mixer->step(state.layers_[li], normed, branch);
      for (index_t i = 0; i < B * D; ++i) r[i] += branch[i];
      layer_norm<T>(B, D, r, blk.norm2.weight, blk.norm2.bias, eps, normed, execution_);
      feed_forward<T>(blk.mlp, B, normed, span<T>(state.act_.data(), B * blk.mlp.d_inner), branch, execution_);
      for (index_t i = 0; i < B * D; ++i) r[i] += branch[i];
    }
    layer_norm<T>(B, D, r, final_norm_.weight, final_norm_.bias, eps, hidden_t, execution_);
    if (!logits_t.empty()) lm_head(B, hidden_t, logits_t);
  }

 private:
  // Sizes of ids, hidden and logits (may be empty) and the ids' range;
  // `where` is "hyena_lm::<function>" (a literal: nothing is built unless a check fails).
  void check_io(const char* where, index_t batch, index_t length, span<const std::int64_t> ids,
                span<const T> hidden, span<const T> logits) const {
    const index_t D = d_model_, V = padded_vocab_;
    const index_t rows = detail::checked_mul(batch, length, "batch*length");
    detail::require_size(ids.size(), rows, where, "ids", "batch*length = ", batch, "*", length);
    detail::require_size(hidden.size(), detail::checked_mul(rows, D, "batch*length*d_model"), where, "hidden",
                         "batch*length*d_model = ", batch, "*", length, "*", D);
    if (!logits.empty())
      detail::require_size(logits.size(), detail::checked_mul(rows, V, "batch*length*V'"), where, "logits",
                           "batch*length*V' = ", batch, "*", length, "*", V, " (or empty)");
    for (index_t i = 0; i < rows; ++i)
      if (ids[i] < 0 || static_cast<std::uint64_t>(ids[i]) >= V)
        detail::throw_invalid("hyena::", where, ": token id ", ids[i], " at batch ", i / length, ", position ",
                              i % length, " is outside the embedding's rows [0, ", V, ")");
  }

  void check_state(const hyena_lm_state<T>& state, const char* function) const {
    if (state.owner_ != this)
      detail::throw_invalid("hyena::hyena_lm::", function,
                            ": the state was made by another model (use this model's make_state)");
  }

  // The blocks of forward() and prefill(); mix(li, normed, branch) runs layer li's mixer.
  template <class Mix>
  void run_blocks(index_t batch, index_t length, span<const std::int64_t> ids, span<T> hidden, span<T> logits,
                  hyena_lm_workspace<T>& ws, hyena_lm_trace<T>* trace, Mix&& mix) const {
    const index_t D = d_model_;
    const index_t rows = batch * length, elements = rows * D;
    ws.residual_.resize(elements);
    ws.normed_.resize(elements);
    ws.branch_.resize(elements);
    ws.hidden_.resize(detail::checked_mul(rows, max_inner_, "batch*length*d_inner"));
    const span<T> r(ws.residual_.data(), elements), normed(ws.normed_.data(), elements),
        branch(ws.branch_.data(), elements);
    const double eps = options_.layer_norm_epsilon;
    auto copy = [](span<const T> from) { return std::vector<T>(from.begin(), from.end()); };
    auto add = [elements](span<T> to, span<const T> from) {
      for (index_t i = 0; i < elements; ++i) to[i] += from[i];
    };

    for (index_t i = 0; i < rows; ++i)
      std::copy_n(embeddings_.data() + static_cast<index_t>(ids[i]) * D, D, r.data() + i * D);
    if (trace != nullptr) {
      trace->embeddings = copy(r);
      trace->layers.assign(layers_.size(), {});
    }
    for (index_t li = 0; li < layers_.size(); ++li) {
      const block_state& b = layers_[li];
      const span<T> act(ws.hidden_.data(), rows * b.mlp.d_inner);
      layer_norm<T>(rows, D, r, b.norm1.weight, b.norm1.bias, eps, normed, execution_);
      if (trace != nullptr) trace->layers[li].mixer_in = copy(normed);
      mix(li, normed, branch);
      if (trace != nullptr) trace->layers[li].mixer_out = copy(branch);
      add(r, branch);
      if (trace != nullptr) trace->layers[li].residual_mid = copy(r);
      layer_norm<T>(rows, D, r, b.norm2.weight, b.norm2.bias, eps, normed, execution_);
      if (trace != nullptr) trace->layers[li].mlp_in = copy(normed);
      feed_forward<T>(b.mlp, rows, normed, act, branch, execution_);
      if (trace != nullptr) {
        trace->layers[li].mlp_act = copy(act);
        trace->layers[li].mlp_out = copy(branch);
      }
      add(r, branch);
      if (trace != nullptr) trace->layers[li].residual_out = copy(r);
    }
    layer_norm<T>(rows, D, r, final_norm_.weight, final_norm_.bias, eps, hidden, execution_);
    if (!logits.empty()) lm_head(rows, hidden, logits);
  }

 public:

  /// logits = hidden E^T for `rows` rows: hidden [rows][D], logits [rows][V'].
  /// O(rows V' D), in fixed blocks of rows over execution()'s threads.
  /// Throws std::invalid_argument on spans of the wrong size.
  void lm_head(index_t rows, span_arg<const T> hidden,
               span_arg<T> logits) const {
    const index_t D = d_model_, V = padded_vocab_;
    detail::require_size(hidden.size(), detail::checked_mul(rows, D, "rows*d_model"), "hyena_lm::lm_head", "hidden",
                         "rows*d_model = ", rows, "*", D);
    detail::require_size(logits.size(), detail::checked_mul(rows, V, "rows*V'"), "hyena_lm::lm_head", "logits",
                         "rows*V' = ", rows, "*", V);
    const Eigen::Map<const row_matrix> e(embeddings_.data(), Eigen::Index(V), Eigen::Index(D));
    // Row-major [rows][width] is a column-major width x rows matrix, so the
    // head is one GEMM per block: logits(:, r) = E hidden(:, r).
    execution_.for_each_block(rows, 256, [&](index_t r0, index_t n) {
      const Eigen::Map<const matrix> h(hidden.data() + r0 * D, Eigen::Index(D), Eigen::Index(n));
      Eigen::Map<matrix> out(logits.data() + r0 * V, Eigen::Index(V), Eigen::Index(n));
      out.noalias() = e * h;
    });
  }

 private:
  struct block_state {
    layer_norm_weights<T> norm1;
    std::unique_ptr<hyena_operator<T>> mixer;  // holds a mutex: pinned in place
    layer_norm_weights<T> norm2;
    feed_forward_weights<T> mlp;
  };

  const block_state& at(index_t layer) const {
    if (layer >= layers_.size())
      detail::throw_invalid("hyena::hyena_lm: layer ", layer, " does not exist (n_layer = ", layers_.size(), ")");
    return layers_[layer];
  }

  hyena_lm_options options_;
  index_t d_model_ = 0, padded_vocab_ = 0, max_length_ = 0, max_inner_ = 0;
  std::vector<T> embeddings_;
  layer_norm_weights<T> final_norm_;
  std::vector<block_state> layers_;
};

}  // namespace hyena
