// hyena/filter/exponential_modulation.hpp: the decay window of the implicit filter (docs/implicit_filter.md).
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// Constants of the exponential window; the defaults are the reference's.
struct exponential_modulation_config {
  double fast_decay_pct = 0.3;  ///< fastest channel reaches `target` at t = 0.3 (units of Lmax)
  double slow_decay_pct = 1.5;  ///< slowest channel reaches it at t = 1.5
  double target = 1e-2;
  double shift = 0.0;           ///< constant floor added to the window
  bool modulate = true;         ///< false: no window at all
};

/// The closed-form decay rates deltas_c = linspace(ln(target)/slow, ln(target)/fast, F)
/// (negative numbers). For fresh operators only: checkpoints store deltas.
template <class T>
std::vector<T> decay_rates(index_t channels, const exponential_modulation_config& config = {}) {
  detail::require_positive(channels, "decay_rates", "channels");
  if (!(config.target > 0) || !(config.fast_decay_pct > 0) || !(config.slow_decay_pct > 0))
    detail::throw_invalid("hyena::decay_rates: target and decay percentages must be > 0");
  const double lo = std::log(config.target) / config.slow_decay_pct;
  const double hi = std::log(config.target) / config.fast_decay_pct;
  std::vector<T> deltas(channels);
  for (index_t c = 0; c < channels; ++c)
    deltas[c] = channels == 1 ? static_cast<T>(lo)
                              : static_cast<T>(lo + (hi - lo) * double(c) / double(channels - 1));
  return deltas;
}

/// h[c][n] *= exp(-t_n |deltas_c|) + shift for c < channels, n < length, on a
/// channel-major filter bank h [channels][length]. Does nothing unless
/// config.modulate. The window uses t (the buffer), not z's copy of it.
/// Vectorised (Eigen's exp): a scalar std::exp per tap cost more than the MLP.
template <class T>
void apply_exponential_modulation(T* h, index_t channels, index_t length, const T* t, const T* deltas,
                                  const exponential_modulation_config& config) {
  if (!config.modulate) return;
  using array = Eigen::Array<T, Eigen::Dynamic, 1>;
  const T shift = static_cast<T>(config.shift);
  const Eigen::Map<const array> time(t, Eigen::Index(length));
  for (index_t c = 0; c < channels; ++c) {
    const T rate = std::fabs(deltas[c]);
    Eigen::Map<array>(h + c * length, Eigen::Index(length)) *= (time * -rate).exp() + shift;
  }
}

}  // namespace hyena
