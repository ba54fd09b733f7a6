// hyena/operator/step_filters.hpp: the long filters of every step of the
// Hyena recurrence, prepared once for one way of convolving: FFT convolution
// of whole sequences (fft_filter) or online convolution, token by token
// (online_filter).
#pragma once

#include <vector>

#include "../conv/fft_conv.hpp"
#include "../conv/online_conv.hpp"
#include "../core/config.hpp"

namespace hyena {

/// steps[o] holds k_o and the skip D_o of step o, prepared for sequences of
/// `length` samples (an online filter: up to `length` steps). Immutable once
/// made; shared between callers.
template <class Filter>
struct prepared_step_filters {
  index_t length = 0;
  std::vector<Filter> steps;

  /// Bytes of the prepared filters (shared FFT plans not counted).
  index_t bytes() const noexcept {
    index_t total = 0;
    for (const auto& s : steps) total += s.bytes();
    return total;
  }
};

/// For forward(): spectra at the FFT size of one input length.
template <class T>
using hyena_prepared_filters = prepared_step_filters<fft_filter<T>>;

/// For decoding: block spectra up to a capacity (length) of tokens.
template <class T>
using hyena_online_filters = prepared_step_filters<online_filter<T>>;

}  // namespace hyena
