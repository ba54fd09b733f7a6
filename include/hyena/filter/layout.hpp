// hyena/filter/layout.hpp: how an order-N operator's D*(N-1) filters are
// laid out in the filter bank (docs/filter_layouts.md), and the layout's
// names, parsed once here.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// How the F = D*(N-1) filter channels map to (step o, channel d).
enum class filter_layout {
  blocked,     ///< c = o*D + d: safari's standalone_hyena.py
  interleaved  ///< c = d*(N-1) + o: safari's training code, hence trained checkpoints
};

/// "blocked" or "interleaved": the names configs and the CLIs use.
inline const char* filter_layout_name(filter_layout layout) noexcept {
  return layout == filter_layout::blocked ? "blocked" : "interleaved";
}

/// The layout called `name`, or nothing for any other name.
inline std::optional<filter_layout> parse_filter_layout(std::string_view name) noexcept {
  if (name == "blocked") return filter_layout::blocked;
  if (name == "interleaved") return filter_layout::interleaved;
  return std::nullopt;
}

/// The bank channel c that holds step o's filter for channel d.
inline index_t filter_bank_channel(filter_layout layout, index_t d_model, index_t steps, index_t o, index_t d) noexcept {
  return layout == filter_layout::blocked ? o * d_model + d : d * steps + o;
}

/// Per-step long filters of an order-N operator: k[o][d][n] and skip[o][d],
/// o = 0..N-2 in the order the recurrence consumes them.
template <class T>
struct step_filters {
  index_t steps = 0, channels = 0, length = 0;
  std::vector<T> k;     ///< [steps][channels][length]
  std::vector<T> skip;  ///< [steps][channels]
  const T* filter(index_t o) const noexcept { return k.data() + o * channels * length; }
  const T* skips(index_t o) const noexcept { return skip.data() + o * channels; }
};

/// Splits a bank h [F][length] and its biases [F], F = d_model*steps, into
/// per-step filters with the given layout (docs/filter_layouts.md).
template <class T>
step_filters<T> split_filter_bank(const std::vector<T>& h, const std::vector<T>& bias, index_t d_model,
                                  index_t steps, index_t length, filter_layout layout) {
  const index_t F = detail::checked_mul(d_model, steps, "d_model*steps");
  detail::require_size(h.size(), detail::checked_mul(F, length, "channels*length"), "split_filter_bank", "h",
                       "d_model*steps*length = ", d_model, "*", steps, "*", length);
  detail::require_size(bias.size(), F, "split_filter_bank", "bias",
                       "d_model*steps = ", d_model, "*", steps);
  step_filters<T> out;
  out.steps = steps;
  out.channels = d_model;
  out.length = length;
  out.k.resize(h.size());
  out.skip.resize(F);
  for (index_t o = 0; o < steps; ++o)
    for (index_t d = 0; d < d_model; ++d) {
      const index_t c = filter_bank_channel(layout, d_model, steps, o, d);
      std::copy_n(h.data() + c * length, length, out.k.data() + (o * d_model + d) * length);
      out.skip[o * d_model + d] = bias[c];
    }
  return out;
}

}  // namespace hyena
