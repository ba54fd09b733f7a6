// hyena/operator/hyena_operator.hpp: the order-N Hyena operator (docs/operator.md).
//
//   p = u W_in^T + b_in                       input projection, (N+1) streams of width D
//   s = short_conv(p)                         depthwise causal, kernel K
//   x_0 .. x_{N-1}, v = split(s)              v is the last stream
//   for o = 0..N-2:  g = v ⊙ x_{N-1-o};  v = k_o * g + D_o ⊙ g      (gates last to first)
//   out = (v ⊙ x_0) W_out^T + b_out
//
// Module layout: u and out are [batch][length][d_model], as in PyTorch.
// Inside, streams are channel-major [channel][time] (time contiguous).
#pragma once

#include <Eigen/Core>

#include <array>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../filter/exponential_modulation.hpp"
#include "../conv/fft_conv.hpp"
#include "../conv/online_conv.hpp"
#include "decoder_state.hpp"
#include "step_filters.hpp"
#include "../fft/plan.hpp"
#include "weights.hpp"
#include "../filter/implicit_filter.hpp"
#include "../core/execution.hpp"
#include "../conv/short_conv.hpp"
#include "../core/span.hpp"

namespace hyena {

/// What the weights do not say.
struct hyena_options {
  /// How filter channels map to steps; matters for order >= 3. Checkpoints of
  /// safari's / HyenaDNA's training code are interleaved.
  filter_layout layout = filter_layout::blocked;
  /// shift and modulate of the decay window (the decay rates come from the weights).
  exponential_modulation_config modulation;
  fft_planning planning = fft_planning::estimate;
  /// Prepared filters are cached for this many distinct input lengths (LRU).
  index_t filter_cache_capacity = 4;
  /// Step-by-step decoding (make_state): the direct/FFT block crossover.
  online_conv_options online;
};

/// Optional copies of every intermediate stage of a forward call, for
/// checking a port stage by stage against the reference's dumps. All are
/// channel-major [batch][channels][length]; filling them costs copies only
/// when a trace is passed.
template <class T>
struct hyena_trace {
  std::vector<T> in_proj;                  ///< [B][(N+1)D][L]: the projection, before the short conv
  std::vector<T> short_conv;               ///< [B][(N+1)D][L]
  std::vector<std::vector<T>> step_in;     ///< [N-1] x [B][D][L]: g = v ⊙ x_{N-1-o}
  std::vector<std::vector<T>> step_out;    ///< [N-1] x [B][D][L]: k_o * g + D_o ⊙ g
  std::vector<T> out_proj_in;              ///< [B][D][L]: y = v ⊙ x_0
};

/// Reusable buffers for hyena_operator::forward: one per concurrent forward
/// call. Grows to the largest call it has served, then allocates nothing:
/// (N+1)*D*L values for the streams of one batch element plus one FFT row
/// per thread.
template <class T>
class hyena_workspace {
 public:
  index_t bytes() const noexcept { return streams_.size() * sizeof(T) + conv_.bytes(); }

 private:
  template <class>
  friend class hyena_operator;
  detail::aligned_vector<T> streams_;
  fft_conv_workspace<T> conv_;
};

/// Every call runs on execution() (set_execution(); default: every hardware
/// thread). Work is split in fixed blocks, so results are bit-identical for
/// every thread count (under EIGEN_USE_BLAS too, with a single-threaded BLAS:
/// each tile is one BLAS call).
template <class T>
class hyena_operator : public uses_execution {
  static_assert(detail::is_real_v<T>, "hyena::hyena_operator<T> needs T = float or double");
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

 public:
  /// Validates the weights (std::invalid_argument naming the member).
  hyena_operator(hyena_weights<T> weights, hyena_options options = {})
      : w_((weights.validate(), std::move(weights))),
        options_(options),
        filter_(w_.filter, options.modulation) {
    if (options_.filter_cache_capacity == 0) options_.filter_cache_capacity = 1;
  }

  index_t d_model() const noexcept { return w_.d_model; }
  index_t order() const noexcept { return w_.order; }
  index_t max_length() const noexcept { return filter_.max_length(); }
  const hyena_weights<T>& weights() const noexcept { return w_; }
  const hyena_options& options() const noexcept { return options_; }
  const implicit_filter<T>& filter_generator() const noexcept { return filter_; }

  /// Per-step filters k_o [D][L] and skips D_o [D] for inputs of `length`
  /// (the prefix of the max_length grid; docs/filter_layouts.md for the layout).
  step_filters<T> step_filters_at(index_t length) const {
    check_length(length, "step_filters_at");
    return split_filter_bank(filter_.response(length, execution_), w_.filter.bias, w_.d_model, w_.order - 1,
                             length, options_.layout);
  }

  /// The prepared filters for `length`, from the cache or computed now by
  /// prepare_filters. Thread-safe; concurrent misses of one length may both
  /// compute it (the lock is not held while computing), but the cache keeps
  /// one copy and every caller gets that one.
  std::shared_ptr<const hyena_prepared_filters<T>> prepared_filters(index_t length) const {
    check_length(length, "prepared_filters");
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (auto hit = cached(length)) return hit;
    }
    auto prepared = std::make_shared<const hyena_prepared_filters<T>>(prepare_filters(length));
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto hit = cached(length)) return hit;  // another thread stored it meanwhile
    cache_.push_front(prepared);
    while (cache_.size() > options_.filter_cache_capacity) cache_.pop_back();
    return prepared;
  }

  /// Distinct lengths whose filters the cache holds now (at most
  /// options().filter_cache_capacity).
  index_t cached_lengths() const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    return cache_.size();
  }

  /// The filters for `length` computed now, bypassing the cache: the MLP's
  /// hidden layer once (O(L*M*(E+R*M))), then each step's filters (the last
  /// Linear and the window, O(L*M*D)) block by block straight into their
  /// FFTs (O(D n log n)), so the bank is never whole in the time domain.
  hyena_prepared_filters<T> prepare_filters(index_t length) const {
    check_length(length, "prepare_filters");
    hyena_prepared_filters<T> prepared;
    prepared.length = length;
    const auto hidden = filter_.hidden(length, execution_);
    const index_t D = w_.d_model, steps = w_.order - 1;
    constexpr index_t block = fft_filter<T>::block_rows;
    for (index_t o = 0; o < steps; ++o) {
      auto channel = [&](index_t d) { return filter_bank_channel(options_.layout, D, steps, o, d); };
      std::vector<T> skip(D);
      for (index_t d = 0; d < D; ++d) skip[d] = w_.filter.bias[channel(d)];
      prepared.steps.push_back(fft_filter<T>::generate(
          D, length,
          [&](index_t d0, index_t d1, T* rows) {
            std::array<index_t, block> ids{};
            for (index_t d = d0; d < d1; ++d) ids[d - d0] = channel(d);
            filter_.response_rows(hidden, span<const index_t>(ids.data(), d1 - d0), rows);
          },
          skip, options_.planning, execution_));
    }
    return prepared;
  }

  /// out = Hyena(u). u, out: [batch][length][d_model]; 1 <= length <=
  /// max_length() (longer inputs are rejected, where the reference truncates
  /// silently). out must not overlap u. Time O(B (N+1) D (D L + L log L)),
  /// split over execution()'s threads. Const and thread-safe: call from
  /// many threads, each with its own workspace.
  /// Throws std::invalid_argument on zero sizes, length > max_length or spans
  /// whose size is not batch*length*d_model.
  /// With `trace`, every intermediate stage is also copied into it.
  void forward(index_t batch, index_t length, span_arg<const T> u,
               span_arg<T> out, hyena_workspace<T>& ws,
               hyena_trace<T>* trace = nullptr) const {
    detail::require_positive(batch, "hyena_operator::forward", "batch");
    check_length(length, "forward");
    const index_t D = w_.d_model, N = w_.order, L = length;
    const index_t elements = detail::checked_mul(batch, length, D, "batch*length*d_model");
    detail::require_size(u.size(), elements, "hyena_operator::forward", "u", "batch*length*d_model = ", batch, "*", length, "*", D);
    detail::require_size(out.size(), elements, "hyena_operator::forward", "out", "batch*length*d_model = ", batch, "*", length, "*", D);

    const auto filters = prepared_filters(length);
    const index_t stream_elements = detail::checked_mul(w_.streams(), L, "streams*length");
    detail::require_allocatable(stream_elements, sizeof(T), "hyena_workspace streams ((order+1)*d_model*length)");
    if (ws.streams_.size() < stream_elements) ws.streams_.resize(stream_elements);
    const span<T> streams(ws.streams_.data(), stream_elements);
    if (trace != nullptr) {
      trace->in_proj.assign(batch * stream_elements, T(0));
      trace->short_conv.assign(batch * stream_elements, T(0));
      trace->step_in.assign(N - 1, std::vector<T>(batch * D * L));
      trace->step_out.assign(N - 1, std::vector<T>(batch * D * L));
      trace->out_proj_in.assign(batch * D * L, T(0));
    }
    for (index_t b = 0; b < batch; ++b)
      forward_one(*filters, b, L, u, out, streams, ws.conv_, trace, no_recorder{});
  }

  // The stages forward() composes, one batch element at a time, public for
  // per-stage benchmarks and checks. `streams` is [(N+1)D][length],
  // channel-major: x_0 .. x_{N-1}, then v. Each stage splits its work over
  // execution()'s threads and throws std::invalid_argument on spans of
  // the wrong size.

  /// Stage 1: streams(c, t) = sum_d u_b[t][d] W_in[c][d] + b_in[c], for one
  /// batch element u_b [length][d_model]. One GEMM per fixed tile of 256
  /// time steps by 256 streams, so the rounding does not depend on the
  /// thread count.
  void project_in(index_t length, span_arg<const T> u_b,
                  span_arg<T> streams) const {
    const index_t D = w_.d_model, S = w_.streams(), L = length;
    check_length(L, "project_in");
    require_span("project_in", "u_b", u_b.size(), L * D, L);
    require_span("project_in", "streams", streams.size(), S * L, L);
    const Eigen::Map<const row_matrix> w_in(w_.in_proj_weight.data(), Eigen::Index(S), Eigen::Index(D));
    const Eigen::Map<const vector> b_in(w_.in_proj_bias.data(), Eigen::Index(S));
    const Eigen::Map<const matrix> u(u_b.data(), Eigen::Index(D), Eigen::Index(L));
    Eigen::Map<matrix> p(streams.data(), Eigen::Index(L), Eigen::Index(S));  // p(t, c): column c is stream c
    // The bias first, then the product accumulates onto it: one rounding
    // per output, as if added after.
    for_each_gemm_tile(L, S, [&](Eigen::Index t0, Eigen::Index n, Eigen::Index c0, Eigen::Index m) {
      auto tile = p.block(t0, c0, n, m);
      tile.rowwise() = b_in.segment(c0, m).transpose();
      tile.noalias() += u.middleCols(t0, n).transpose() * w_in.middleRows(c0, m).transpose();
    });
  }

  /// Stage 2: the depthwise short convolution, in place on all streams.
  void short_conv(index_t length, span_arg<T> streams) const {
    const index_t S = w_.streams(), L = length, K = w_.short_filter_size;
    check_length(L, "short_conv");
    require_span("short_conv", "streams", streams.size(), S * L, L);
    execution_.parallel_for(S, L * K, [&](index_t c0, index_t c1, unsigned) {
      const span<T> rows = streams.subspan(c0 * L, (c1 - c0) * L);
      short_causal_conv<T>(span<const T>(w_.short_filter_weight.data() + c0 * K, (c1 - c0) * K),
                           span<const T>(w_.short_filter_bias.data() + c0, c1 - c0), K, {1, c1 - c0, L}, rows,
                           rows);
    });
  }

  /// Stages 3-6, the mixer core: for o = 0..N-2, v = k_o * (v ⊙ x_{N-1-o}) +
  /// D_o ⊙ (v ⊙ x_{N-1-o}), then y = v ⊙ x_0, in place: y ends in the v
  /// stream. Gating is fused into the copy that feeds each forward FFT, the
  /// skip and (last step) the output gate into the pass after the inverse,
  /// so each step sweeps memory once. Split by channel across threads.
  void mix(const hyena_prepared_filters<T>& filters, span_arg<T> streams,
           fft_conv_workspace<T>& conv_ws, hyena_trace<T>* trace = nullptr, index_t trace_batch = 0) const {
    mix(filters, streams, conv_ws, trace, trace_batch, no_recorder{});
  }

 private:
  // mix() that also hands each gated row g_o[d][0..L) to record.gated(o, d, g).
  template <class Recorder>
  void mix(const hyena_prepared_filters<T>& filters, span<T> streams, fft_conv_workspace<T>& conv_ws,
           hyena_trace<T>* trace, index_t trace_batch, Recorder&& record) const {
    const index_t D = w_.d_model, N = w_.order, L = filters.length;
    check_length(L, "mix");
    require_span("mix", "streams", streams.size(), w_.streams() * L, L);
    if (filters.steps.size() + 1 != N)
      detail::throw_invalid("hyena::hyena_operator::mix: filters have ", filters.steps.size(),
                            " steps, expected order-1 = ", N - 1);
    conv_ws.reserve(filters.steps.front().fft_size(), execution_.workers(D));
    T* v = streams.data() + N * D * L;
    const T* x0 = streams.data();
    for (index_t o = 0; o + 1 < N; ++o) {
      const T* x = streams.data() + (N - 1 - o) * D * L;
      // The output gate rides on the last step's store, except when tracing
      // (step_out is recorded before the gate then).
      const bool gate_output = o + 2 == N && trace == nullptr;
      const fft_filter<T>& k = filters.steps[o];
      if (trace != nullptr) {
        T* g = trace->step_in[o].data() + trace_batch * D * L;
        for (index_t i = 0; i < D * L; ++i) g[i] = v[i] * x[i];
      }
      execution_.parallel_for(D, detail::fft_conv_row_work(k.fft_size()), [&](index_t d0, index_t d1, unsigned worker) {
        auto& buffers = conv_ws.slot(worker);
        for (index_t d = d0; d < d1; ++d) {
          T* vd = v + d * L;
          const T* xd = x + d * L;
          const T* x0d = x0 + d * L;
          const T skip = k.skip(d);
          detail::fft_conv_row(
              k, d, buffers,
              [&](T* dst) {
                for (index_t t = 0; t < L; ++t) dst[t] = vd[t] * xd[t];
                record.gated(o, d, static_cast<const T*>(dst), L);
              },
              [&](const T* conv, const T* gated) {
                if (gate_output)
                  for (index_t t = 0; t < L; ++t) vd[t] = (conv[t] + skip * gated[t]) * x0d[t];
                else
                  for (index_t t = 0; t < L; ++t) vd[t] = conv[t] + skip * gated[t];
              });
        }
      });
      if (trace != nullptr) {
        std::copy_n(v, D * L, trace->step_out[o].data() + trace_batch * D * L);
        if (o + 2 == N)
          for (index_t i = 0; i < D * L; ++i) v[i] *= x0[i];
      }
    }
  }


 public:
  /// Stage 7: out_b[t][e] = sum_d W_out[e][d] y[d][t] + b_out[e] for one batch
  /// element; y is [d_model][length] (the v stream after mix), out_b
  /// [length][d_model]. Fixed 256 x 256 GEMM tiles, as in project_in.
  void project_out(index_t length, span_arg<const T> y,
                   span_arg<T> out_b) const {
    const index_t D = w_.d_model, L = length;
    check_length(L, "project_out");
    require_span("project_out", "y", y.size(), D * L, L);
    require_span("project_out", "out_b", out_b.size(), L * D, L);
    const Eigen::Map<const row_matrix> w_out(w_.out_proj_weight.data(), Eigen::Index(D), Eigen::Index(D));
    const Eigen::Map<const vector> b_out(w_.out_proj_bias.data(), Eigen::Index(D));
    const Eigen::Map<const matrix> ym(y.data(), Eigen::Index(L), Eigen::Index(D));  // ym(t, d)
    Eigen::Map<matrix> o(out_b.data(), Eigen::Index(D), Eigen::Index(L));          // o(e, t)
    for_each_gemm_tile(L, D, [&](Eigen::Index t0, Eigen::Index n, Eigen::Index e0, Eigen::Index m) {
      auto tile = o.block(e0, t0, m, n);
      tile.colwise() = b_out.segment(e0, m);
      tile.noalias() += w_out.middleRows(e0, m) * ym.middleRows(t0, n).transpose();
    });
  }

  /// As above with a temporary workspace; returns out.
  std::vector<T> forward(index_t batch, index_t length, span_arg<const T> u) const {
    std::vector<T> out(detail::checked_mul(batch, length, w_.d_model, "batch*length*d_model"));
    hyena_workspace<T> ws;
    forward(batch, length, u, out, ws);
    return out;
  }

  // Step-by-step decoding (docs/online_conv.md): make_state, then prefill
  // with the prompt, then one step per token. Outputs equal forward()'s on
  // the whole sequence to rounding.

  /// The long filters prepared for online convolution of up to `capacity`
  /// tokens: O(capacity (M (E + R M) + (N-1) D M)) for the taps plus
  /// O((N-1) D capacity log capacity) for their block spectra. Shared while
  /// any state holds them: states of one capacity compute them once.
  std::shared_ptr<const hyena_online_filters<T>> online_filters(index_t capacity) const {
    check_length(capacity, "online_filters");
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (auto hit = online_cache_[capacity].lock()) return hit;
    }
    const step_filters<T> k = step_filters_at(capacity);
    auto made = std::make_shared<hyena_online_filters<T>>();
    made->length = capacity;
    const index_t D = w_.d_model;
    for (index_t o = 0; o < k.steps; ++o)
      made->steps.emplace_back(D, capacity, span<const T>(k.filter(o), D * capacity), span<const T>(k.skips(o), D),
                               options_.online, execution_);
    std::shared_ptr<const hyena_online_filters<T>> shared = std::move(made);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto& slot = online_cache_[capacity];
    if (auto hit = slot.lock()) return hit;  // another thread made them meanwhile
    slot = shared;
    return shared;
  }

  /// A fresh decoding state for `batch` sequences of up to `capacity` tokens
  /// (1 <= capacity <= max_length()). Its bytes() follow the formula in
  /// decoder_state.hpp. Throws std::invalid_argument on zero sizes or a
  /// capacity above max_length().
  hyena_decoder_state<T> make_state(index_t batch, index_t capacity) const {
    detail::require_positive(batch, "hyena_operator::make_state", "batch");
    check_length(capacity, "make_state");
    // The whole state up front (decoder_state.hpp's formula), so a batch or
    // capacity beyond memory is refused with its size rather than failing
    // in the middle of the allocations.
    const index_t D = w_.d_model, N = w_.order, K = w_.short_filter_size;
    const index_t per_sequence = detail::checked_mul(N + 1, D, K - 1, "state values") +
                                 detail::checked_mul(2 * (N - 1), D, capacity, "state values") + (N + 3) * D;
    detail::require_allocatable(detail::checked_mul(batch, per_sequence, "batch*state values"), sizeof(T),
                                "hyena_decoder_state (batch*((N+1)D(K-1) + 2(N-1)D*capacity + (N+3)D))");
    return hyena_decoder_state<T>(this, batch, capacity, online_filters(capacity), w_.d_model, w_.order,
                                  w_.short_filter_size);
  }

  /// Runs the first `length` tokens of every sequence through forward()'s
  /// FFT path and leaves `state` ready to step from there. u, out:
  /// [batch][length][d_model], as forward(); `ws` as forward()'s (reused
  /// across calls, it allocates only the first time). length may be 0
  /// (nothing to do). Throws std::invalid_argument, leaving the state
  /// unchanged, for a state from another operator or not fresh, length above
  /// its capacity, or spans of the wrong size.
  void prefill(hyena_decoder_state<T>& state, index_t length, span_arg<const T> u, span_arg<T> out,
               hyena_workspace<T>& ws) const {
    check_state(state, "prefill");
    detail::require_fresh_state_for("hyena_operator::prefill", state.position_, length, state.capacity_, "tokens");
    const index_t B = state.batch_, D = w_.d_model, S = w_.streams(), L = length;
    const index_t elements = detail::checked_mul(B, L, D, "batch*length*d_model");
    detail::require_size(u.size(), elements, "hyena_operator::prefill", "u", "batch*length*d_model = ", B, "*", L, "*", D);
    detail::require_size(out.size(), elements, "hyena_operator::prefill", "out", "batch*length*d_model = ", B, "*", L, "*", D);
    if (L == 0) return;

    const auto filters = prepared_filters(L);
    detail::require_allocatable(S * L, sizeof(T), "hyena_workspace streams ((order+1)*d_model*length)");
    if (ws.streams_.size() < S * L) ws.streams_.resize(S * L);
    const span<T> streams(ws.streams_.data(), S * L);
    for (index_t b = 0; b < B; ++b) {
      prefill_recorder record{state, b, D, S};
      forward_one(*filters, b, L, u, out, streams, ws.conv_, nullptr, record);
    }
    for (index_t o = 0; o + 1 < w_.order; ++o)
      online_conv_settle(state.filters_->steps[o], state.mix_[o], L, execution_);
    state.position_ = L;
  }

  /// As above with a temporary workspace.
  void prefill(hyena_decoder_state<T>& state, index_t length, span_arg<const T> u, span_arg<T> out) const {
    hyena_workspace<T> ws;
    prefill(state, length, u, out, ws);
  }

  /// Advances every sequence by one token: u_t, out_t: [batch][d_model],
  /// the inputs and outputs at position(). O(B (N+1) D^2) for the
  /// projections plus O(B (N-1) D log^2 capacity) amortised for the long
  /// convolutions; allocates nothing after a state's first FFT block.
  /// Throws std::invalid_argument, leaving the state unchanged, for a full
  /// state, a state from another operator, or spans of the wrong size.
  void step(hyena_decoder_state<T>& state, span_arg<const T> u_t, span_arg<T> out_t) const {
    check_state(state, "step");
    const index_t B = state.batch_, D = w_.d_model, S = w_.streams(), K = w_.short_filter_size, N = w_.order;
    detail::require_size(u_t.size(), B * D, "hyena_operator::step", "u_t", "batch*d_model = ", B, "*", D);
    detail::require_size(out_t.size(), B * D, "hyena_operator::step", "out_t", "batch*d_model = ", B, "*", D);
    detail::require_room_for_a_step("hyena_operator::step", state.position_, state.capacity_, "tokens");

    // p_t = W_in u_t + b_in for every sequence.
    affine_columns(w_.in_proj_weight.data(), w_.in_proj_bias.data(), S, D, u_t.data(), B, state.projected_.data());

    // The short convolution over the carried K-1 inputs.
    for (index_t b = 0; b < B; ++b)
      for (index_t c = 0; c < S; ++c) {
        T& pc = state.projected_[b * S + c];
        pc = state.short_.step(b * S + c, w_.short_filter_weight.data() + c * K, w_.short_filter_bias[c], pc);
      }

    // v = k_o * (v x_{N-1-o}) + D_o (v x_{N-1-o}), gates last to first.
    const T* s = state.projected_.data();
    T* v = state.mixed_.data();
    T* g = state.gated_.data();
    for (index_t b = 0; b < B; ++b) std::copy_n(s + b * S + N * D, D, v + b * D);
    for (index_t o = 0; o + 1 < N; ++o) {
      for (index_t b = 0; b < B; ++b)
        for (index_t d = 0; d < D; ++d) g[b * D + d] = v[b * D + d] * s[b * S + (N - 1 - o) * D + d];
      online_conv_step(state.filters_->steps[o], state.mix_[o], span<const T>(g, B * D), span<T>(v, B * D),
                       execution_);
    }
    for (index_t b = 0; b < B; ++b)
      for (index_t d = 0; d < D; ++d) v[b * D + d] *= s[b * S + d];

    // out_t = W_out y + b_out.
    affine_columns(w_.out_proj_weight.data(), w_.out_proj_bias.data(), D, D, v, B, out_t.data());
    ++state.position_;
  }

 private:

  // y[:, b] = W x[:, b] + bias for `batch` columns (one token per sequence):
  // W [rows][cols] row-major, x [batch][cols], y [batch][rows]. The bias
  // first, then the product onto it, one GEMM per fixed block of 256 rows, so
  // the rounding does not depend on the thread count.
  void affine_columns(const T* weight, const T* bias, index_t rows, index_t cols, const T* x, index_t batch,
                      T* y) const {
    const Eigen::Map<const row_matrix> w(weight, Eigen::Index(rows), Eigen::Index(cols));
    const Eigen::Map<const vector> b(bias, Eigen::Index(rows));
    const Eigen::Map<const matrix> xm(x, Eigen::Index(cols), Eigen::Index(batch));
    Eigen::Map<matrix> ym(y, Eigen::Index(rows), Eigen::Index(batch));
    execution_.for_each_block(rows, 256, [&](index_t r0, index_t n) {
      const Eigen::Index first(r0), count(n);
      ym.middleRows(first, count).colwise() = b.segment(first, count);
      ym.middleRows(first, count).noalias() += w.middleRows(first, count) * xm;
    });
  }

  // forward()'s hooks: a plain forward records nothing.
  struct no_recorder {
    void projected(span<const T>, index_t) const noexcept {}
    void gated(index_t, index_t, const T*, index_t) const noexcept {}
  };

  // prefill()'s hooks: the projection's last K-1 steps become the short
  // convolution's past, each gated row the history of its online convolution
  // (non-finite values as NaN, as online_conv_step stores them).
  struct prefill_recorder {
    hyena_decoder_state<T>& state;
    index_t b, D, S;
    void projected(span<const T> streams, index_t L) const {
      for (index_t c = 0; c < S; ++c) state.short_.remember(b * S + c, streams.data() + c * L, L);
    }
    void gated(index_t o, index_t d, const T* g, index_t L) const {
      std::transform(g, g + L, state.mix_[o].history_row(b * D + d), detail::nan_if_not_finite<T>);
    }
  };

  // One batch element of forward(): u, out are the whole [B][L][D] spans.
  template <class Recorder>
  void forward_one(const hyena_prepared_filters<T>& filters, index_t b, index_t L, span<const T> u, span<T> out,
                   span<T> streams, fft_conv_workspace<T>& conv_ws, hyena_trace<T>* trace,
                   const Recorder& record) const {
    const index_t D = w_.d_model, N = w_.order, stream_elements = w_.streams() * L;
    auto copy_to_trace = [&](std::vector<T>& to, const T* from, index_t count) {
      std::copy_n(from, count, to.data() + b * count);
    };
    project_in(L, u.subspan(b * L * D, L * D), streams);
    record.projected(streams, L);
    if (trace != nullptr) copy_to_trace(trace->in_proj, streams.data(), stream_elements);
    short_conv(L, streams);
    if (trace != nullptr) copy_to_trace(trace->short_conv, streams.data(), stream_elements);
    mix(filters, streams, conv_ws, trace, b, record);
    const span<const T> y = streams.subspan(N * D * L, D * L);
    if (trace != nullptr) copy_to_trace(trace->out_proj_in, y.data(), D * L);
    project_out(L, y, out.subspan(b * L * D, L * D));
  }

  void check_state(const hyena_decoder_state<T>& state, const char* what) const {
    if (state.owner_ != this)
      detail::throw_invalid("hyena::hyena_operator::", what,
                            ": the state was made by another operator (use this operator's make_state)");
  }

  // Projections are cut into fixed tiles of 256 time steps by 256 output
  // channels (not into one block per thread), so each GEMM, and hence every
  // rounding, is the same whatever the thread count, and a short sequence
  // still has a tile for every thread. Under EIGEN_USE_BLAS each tile is one
  // BLAS call: link a single-threaded BLAS (README: BLAS backend), or its own
  // threads fight ours.
  template <class Gemm>
  void for_each_gemm_tile(index_t length, index_t channels, Gemm&& gemm) const {
    execution_.for_each_tile(length, 256, channels, 256, w_.d_model, [&](index_t t0, index_t n, index_t c0, index_t m) {
      gemm(Eigen::Index(t0), Eigen::Index(n), Eigen::Index(c0), Eigen::Index(m));
    });
  }

  // A stage's span must hold exactly `expected` elements.
  static void require_span(const char* stage, const char* name, index_t actual, index_t expected, index_t length) {
    if (actual != expected)
      detail::throw_invalid("hyena::hyena_operator::", stage, ": ", name, " has ", actual, " elements, expected ",
                            expected, " for length ", length);
  }

  // The cache's entry for `length`, moved to the front (most recently
  // used), or null. The caller holds cache_mutex_.
  std::shared_ptr<const hyena_prepared_filters<T>> cached(index_t length) const {
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if ((*it)->length == length) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front();
      }
    return nullptr;
  }

  void check_length(index_t length, const char* what) const {
    if (length == 0) detail::throw_invalid("hyena::hyena_operator::", what, ": length must be >= 1, got 0");
    if (length > max_length())
      detail::throw_invalid("hyena::hyena_operator::", what, ": input length ", length,
                            " exceeds max_length ", max_length(),
                            " (the filters are defined on max_length points; the PyTorch reference "
                            "would silently truncate)");
  }

  hyena_weights<T> w_;
  hyena_options options_;
  implicit_filter<T> filter_;
  mutable std::mutex cache_mutex_;
  mutable std::list<std::shared_ptr<const hyena_prepared_filters<T>>> cache_;
  mutable std::map<index_t, std::weak_ptr<const hyena_online_filters<T>>> online_cache_;
};

}  // namespace hyena
