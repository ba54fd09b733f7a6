// hyena/operator/decoder_state.hpp: what a Hyena operator carries from one
// token to the next when it decodes step by step (docs/online_conv.md), the
// analogue of attention's KV cache.
//
// Per sequence: the last K-1 projected inputs of every stream (the short
// convolution's past) and, per step o of the recurrence, an online
// convolution's state (its gated inputs so far and their pending
// contributions to future outputs). Bytes, with B sequences, S = (N+1) D
// streams, capacity C:
//   sizeof(T) * B * (S (K-1) + 2 (N-1) D C + S + 2 D)   plus one FFT row per thread,
// and the online filters (about 2 (N-1) D C values), shared by every state
// of one capacity.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "../conv/online_conv.hpp"
#include "../conv/short_conv.hpp"
#include "../core/config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "step_filters.hpp"

namespace hyena {

template <class T>
class hyena_operator;

/// The decoding state of `batch` sequences for one hyena_operator, made by
/// its make_state(): fill it with prefill(), advance it with step(). Only
/// the operator that made it accepts it. Movable; not thread-safe itself
/// (one state per decoding loop).
template <class T>
class hyena_decoder_state {
 public:
  index_t batch() const noexcept { return batch_; }
  /// The most tokens this state can hold (prefill plus steps).
  index_t capacity() const noexcept { return capacity_; }
  /// Tokens consumed so far: the time index of the next step.
  index_t position() const noexcept { return position_; }
  /// Bytes this state holds (see the formula at the top of this header);
  /// the shared online filters are not counted (filter_bytes()).
  index_t bytes() const noexcept {
    index_t total = short_.bytes() + (projected_.size() + gated_.size() + mixed_.size()) * sizeof(T);
    for (const auto& s : mix_) total += s.bytes();
    return total;
  }
  /// Bytes of the online filters this state shares with others of its capacity.
  index_t filter_bytes() const noexcept { return filters_->bytes(); }
  /// Back to position 0, keeping the memory.
  void reset() {
    short_.reset();
    for (auto& s : mix_) s.reset();
    position_ = 0;
  }

 private:
  friend class hyena_operator<T>;
  hyena_decoder_state(const void* owner, index_t batch, index_t capacity,
                      std::shared_ptr<const hyena_online_filters<T>> filters, index_t d_model, index_t order,
                      index_t kernel_size)
      : owner_(owner),
        batch_(batch),
        capacity_(capacity),
        filters_(std::move(filters)),
        short_(batch, (order + 1) * d_model, kernel_size) {
    const index_t S = (order + 1) * d_model;
    for (index_t o = 0; o + 1 < order; ++o) mix_.emplace_back(batch, d_model, capacity);
    projected_.resize(batch * S);
    gated_.resize(batch * d_model);
    mixed_.resize(batch * d_model);
  }

  const void* owner_;
  index_t batch_, capacity_, position_ = 0;
  std::shared_ptr<const hyena_online_filters<T>> filters_;
  short_conv_state<T> short_;               // rows b*S + c: p at t-K+1 .. t-1
  std::vector<online_conv_state<T>> mix_;   // [N-1], rows b*D + d
  detail::aligned_vector<T> projected_;     // [B][S]: p_t, then the short conv's output
  detail::aligned_vector<T> gated_, mixed_; // [B][D]: g = v x, and v
};

}  // namespace hyena
