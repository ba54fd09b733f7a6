// hyena/model/gated_mlp.hpp: the gated MLP of StripedHyena 2 (Evo 2)
// blocks (vortex's ParallelGatedMLP, SPEC.md 2):
//
//   mlp(z) = l3( act(l1 z) * (l2 z) ),   l1, l2: [inner][d_model], l3: [d_model][inner]
//
// no biases; act is the exact (erf) GELU in layer 0 and the identity in every
// later layer (Evo 2's evo2_style_activations).
#pragma once

#include <cmath>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "linear.hpp"
#include "weight_matrix.hpp"

namespace hyena {

/// The exact GELU, x/2 (1 + erf(x / sqrt 2)) (PyTorch's F.gelu default).
template <class T>
T gelu_erf(T x) noexcept {
  return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
}

/// The parameters of one gated MLP, in PyTorch's [out][in] layouts, each
/// matrix stored as T or as BF16.
template <class T>
struct gated_mlp_weights {
  index_t d_model = 0;
  index_t inner = 0;
  weight_matrix<T> l1;  ///< [inner][d_model]
  weight_matrix<T> l2;  ///< [inner][d_model]
  weight_matrix<T> l3;  ///< [d_model][inner]
  bool gelu = false;  ///< act = exact GELU (layer 0 of Evo 2), else identity

  /// Throws std::invalid_argument naming the first member of the wrong size
  /// or the first non-finite value.
  void validate() const {
    check_shapes();
    l1.require_finite("gated_mlp_weights", "l1");
    l2.require_finite("gated_mlp_weights", "l2");
    l3.require_finite("gated_mlp_weights", "l3");
  }

  /// The size checks alone: O(1) (gated_mlp() runs them on every call).
  void check_shapes() const {
    detail::require_positive(d_model, "gated_mlp_weights", "d_model");
    detail::require_positive(inner, "gated_mlp_weights", "inner");
    const index_t n = detail::checked_mul(inner, d_model, "inner*d_model");
    l1.check_size(n, "gated_mlp_weights", "l1", "inner*d_model");
    l2.check_size(n, "gated_mlp_weights", "l2", "inner*d_model");
    l3.check_size(n, "gated_mlp_weights", "l3", "d_model*inner");
  }
};

/// out = mlp(z) for `rows` rows: z, out [rows][d_model]; hidden [rows][2*inner],
/// caller-owned scratch (each row: act(l1 z) * l2 z, then l2 z, afterwards).
/// out must overlap neither z nor hidden. Each Linear is a
/// detail::weight_product (fixed tiles over `exec`'s threads): bit-identical
/// for every thread count; no allocation beyond Eigen's GEMM packing and,
/// for BF16 weights from 8 rows up, one widened panel per thread per call.
/// Throws std::invalid_argument on mismatched weights or spans.
template <class T>
void gated_mlp(const gated_mlp_weights<T>& w, index_t rows, span_arg<const T> z, span_arg<T> hidden,
               span_arg<T> out, const execution_context& exec = {}) {
  static_assert(detail::is_real_v<T>, "hyena::gated_mlp<T> needs T = float or double");
  w.check_shapes();
  detail::require_positive(rows, "gated_mlp", "rows");
  const index_t D = w.d_model, I = w.inner, H = 2 * I;
  detail::require_size(z.size(), detail::checked_mul(rows, D, "rows*d_model"), "gated_mlp", "z", "rows*d_model = ",
                       rows, "*", D);
  detail::require_size(out.size(), detail::checked_mul(rows, D, "rows*d_model"), "gated_mlp", "out",
                       "rows*d_model = ", rows, "*", D);
  detail::require_size(hidden.size(), detail::checked_mul(rows, H, "rows*2*inner"), "gated_mlp", "hidden",
                       "rows*2*inner = ", rows, "*", H);
  // Outputs [0, I) of a hidden row are l1 z, [I, 2I) l2 z; then the first
  // half becomes act(l1 z) * l2 z.
  detail::weight_product(w.l1, static_cast<const T*>(nullptr), I, D, rows, z.data(), D, hidden.data(), H, exec);
  detail::weight_product(w.l2, static_cast<const T*>(nullptr), I, D, rows, z.data(), D, hidden.data() + I, H, exec);
  exec.parallel_for(rows, 4 * I, [&](index_t first, index_t last, unsigned) {
    for (index_t r = first; r < last; ++r) {
      T* a = hidden.data() + r * H;
      const T* b = a + I;
      if (w.gelu)
        for (index_t i = 0; i < I; ++i) a[i] = gelu_erf(a[i]) * b[i];
      else
        for (index_t i = 0; i < I; ++i) a[i] *= b[i];
    }
  });
  detail::weight_product(w.l3, static_cast<const T*>(nullptr), D, I, rows, hidden.data(), H, out.data(), D, exec);
}

}  // namespace hyena
