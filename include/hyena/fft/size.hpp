// hyena/fft/size.hpp: choosing FFT lengths that FFTW transforms fast.
#pragma once

#include <limits>
#include <stdexcept>

#include "../core/config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// The smallest n >= min_size of the form 2^a 3^b 5^c 7^d (FFTW's fast radices).
/// Such sizes are at most ~1.2x larger than min_size; a power of two can be 2x.
/// Throws std::length_error if no such n fits in index_t.
inline index_t next_fast_fft_size(index_t min_size) {
  if (min_size <= 1) return 1;
  constexpr index_t limit = std::numeric_limits<index_t>::max() / 8;
  if (min_size > limit)
    throw std::length_error(detail::concat("hyena::next_fast_fft_size: size ", min_size, " too large"));
  index_t best = std::numeric_limits<index_t>::max();
  // Enumerate 7^d 5^c 3^b, then complete with the smallest power of two.
  for (index_t p7 = 1; p7 < best; p7 *= 7) {
    for (index_t p75 = p7; p75 < best; p75 *= 5) {
      for (index_t p753 = p75; p753 < best; p753 *= 3) {
        index_t n = p753;
        while (n < min_size) n *= 2;
        if (n < best) best = n;
        if (p753 >= min_size) break;
      }
      if (p75 >= min_size) break;
    }
    if (p7 >= min_size) break;
  }
  return best;
}

/// FFT length for a linear (non-wrapping) causal convolution of `length`
/// samples with a filter of `length` taps: the fast size >= 2*length - 1.
inline index_t causal_conv_fft_size(index_t length) {
  detail::require_positive(length, "causal_conv_fft_size", "length");
  return next_fast_fft_size(detail::checked_mul(2, length, "2*length") - 1);
}

}  // namespace hyena
