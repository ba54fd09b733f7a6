// hyena/core/shape.hpp: the shape of channel-major activations.
#pragma once

#include <ostream>
#include <string>

#include "config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// Shape of a channel-major signal `[batch][channels][length]`: element
/// (b, c, t) lives at `(b * channels + c) * length + t`, so each channel's
/// time series is contiguous. This is the layout of every operator's inside
/// (PyTorch's `b d l`); module inputs and outputs are `[batch][length][channels]`.
struct signal_shape {
  index_t batch = 1;
  index_t channels = 1;
  index_t length = 1;

  /// batch * channels: the number of independent time series.
  index_t rows() const { return detail::checked_mul(batch, channels, "batch*channels"); }
  /// batch * channels * length, checked for overflow.
  index_t elements() const {
    return detail::checked_mul(batch, channels, length, "batch*channels*length");
  }
  /// "batch*channels*length = 2*3*5", for error messages (operator<< writes it).
  std::string describe() const;
  /// Throws std::invalid_argument naming `function` if any extent is zero.
  void require_nonempty(const char* function) const {
    detail::require_positive(batch, function, "batch");
    detail::require_positive(channels, function, "channels");
    detail::require_positive(length, function, "length");
  }
};

/// Writes describe()'s text, so messages can format a shape only when they fail.
inline std::ostream& operator<<(std::ostream& os, const signal_shape& s) {
  return os << "batch*channels*length = " << s.batch << "*" << s.channels << "*" << s.length;
}

inline std::string signal_shape::describe() const { return detail::concat(*this); }

inline bool operator==(const signal_shape& a, const signal_shape& b) {
  return a.batch == b.batch && a.channels == b.channels && a.length == b.length;
}
inline bool operator!=(const signal_shape& a, const signal_shape& b) { return !(a == b); }

}  // namespace hyena
