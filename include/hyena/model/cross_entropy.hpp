// hyena/model/cross_entropy.hpp: the softmax cross-entropy loss of a language
// model and its gradient with respect to the logits.
//
//   loss = (1/n) sum over rows r with a target of  -log softmax(logits[r])[target[r]]
//   dlogits[r] = (softmax(logits[r]) - onehot(target[r])) / n   (0 for rows without a target)
//
// n is the number of rows with a target (torch's F.cross_entropy with
// reduction="mean" and ignore_index: a negative target here).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// The targets of next-token prediction: target[b][t] = ids[b][t+1], and -1
/// (no target) at each sequence's last position.
inline std::vector<std::int64_t> next_token_targets(index_t batch, index_t length, span<const std::int64_t> ids) {
  detail::require_size(ids.size(), detail::checked_mul(batch, length, "batch*length"), "next_token_targets", "ids",
                       "batch*length = ", batch, "*", length);
  std::vector<std::int64_t> targets(ids.size(), -1);
  for (index_t b = 0; b < batch; ++b)
    for (index_t t = 0; t + 1 < length; ++t) targets[b * length + t] = ids[b * length + t + 1];
  return targets;
}

/// Returns the loss above (0 when no row has a target) and writes dlogits
/// (may be empty: loss only). logits, dlogits: [rows][classes]; targets:
/// [rows], each in [0, classes) or negative (ignored). Each row's softmax
/// is taken in double after subtracting its maximum. Throws
/// std::invalid_argument on mismatched sizes, a target >= classes (naming
/// its row) or a non-finite logit in a row with a target.
template <class T>
double softmax_cross_entropy(index_t rows, index_t classes, span_arg<const T> logits,
                             span<const std::int64_t> targets, span_arg<T> dlogits) {
  const char* function = "softmax_cross_entropy";
  detail::require_positive(classes, function, "classes");
  const index_t n = detail::checked_mul(rows, classes, "rows*classes");
  detail::require_size(logits.size(), n, function, "logits", "rows*classes = ", rows, "*", classes);
  detail::require_size(targets.size(), rows, function, "targets", "rows = ", rows);
  if (!dlogits.empty()) detail::require_size(dlogits.size(), n, function, "dlogits", "rows*classes = ", rows, "*", classes);
  index_t counted = 0;
  for (index_t r = 0; r < rows; ++r) {
    if (targets[r] >= std::int64_t(classes))
      detail::throw_invalid("hyena::", function, ": target ", targets[r], " of row ", r, " is not below classes ",
                            classes);
    if (targets[r] >= 0) ++counted;
  }
  if (!dlogits.empty()) std::fill(dlogits.begin(), dlogits.end(), T(0));
  if (counted == 0) return 0.0;
  std::vector<double> p(classes);
  double loss = 0;
  for (index_t r = 0; r < rows; ++r) {
    if (targets[r] < 0) continue;
    const T* z = logits.data() + r * classes;
    double top = double(z[0]);
    for (index_t c = 0; c < classes; ++c) {
      if (!std::isfinite(z[c]))
        detail::throw_invalid("hyena::", function, ": logits[", r, "][", c, "] = ", z[c], " is not finite");
      top = std::max(top, double(z[c]));
    }
    double sum = 0;
    for (index_t c = 0; c < classes; ++c) sum += (p[c] = std::exp(double(z[c]) - top));
    const index_t target = index_t(targets[r]);
    loss += std::log(sum) - (double(z[target]) - top);
    if (dlogits.empty()) continue;
    T* g = dlogits.data() + r * classes;
    for (index_t c = 0; c < classes; ++c)
      g[c] = static_cast<T>((p[c] / sum - (c == target ? 1.0 : 0.0)) / double(counted));
  }
  return loss / double(counted);
}

}  // namespace hyena
