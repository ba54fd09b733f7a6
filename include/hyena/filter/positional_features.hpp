// hyena/filter/positional_features.hpp: the implicit filter's input, z_n and t_n (docs/implicit_filter.md).
#pragma once

#include <cmath>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"

namespace hyena {

/// The positional features of an Lmax-point grid: for n = 0..Lmax-1,
///   t_n = n / (Lmax - 1)                         (t = [0] when Lmax = 1)
///   z_n = [t_n, cos(f_0 w_n) .. cos(f_{K-1} w_n), -sin(f_0 w_n) .. -sin(f_{K-1} w_n)]
/// with w_n = 2 pi n / Lmax (note: Lmax, not Lmax - 1), K = (E-1)/2 bands
/// f_j = linspace(1e-4, K-1, K). They depend on Lmax only, never on the
/// input length: a shorter input uses the first rows.
template <class T>
struct positional_features {
  index_t max_length = 0;  ///< Lmax
  index_t emb_dim = 0;     ///< E = 1 + 2K, odd, >= 3
  std::vector<T> z;        ///< [Lmax][E], row-major
  std::vector<T> t;        ///< [Lmax]

  /// The closed form above. The phases f_j * w_n are computed in T, as the
  /// float32 reference does: for E = 33 the phase reaches ~94 rad and a
  /// double-precision phase would differ from the reference's z by ~1e-5.
  /// Use it to build fresh operators only: trained checkpoints store (and
  /// train) z, t, so loaders must take those from the weights.
  static positional_features closed_form(index_t max_length, index_t emb_dim) {
    detail::require_positive(max_length, "positional_features", "max_length");
    if (emb_dim < 3 || emb_dim % 2 == 0)
      detail::throw_invalid("hyena::positional_features: emb_dim must be odd and >= 3, got ", emb_dim);
    positional_features p;
    p.max_length = max_length;
    p.emb_dim = emb_dim;
    const index_t values = detail::checked_mul(max_length, emb_dim, "max_length*emb_dim");
    detail::require_allocatable(values, sizeof(T), "positional features z (max_length*emb_dim)");
    p.z.resize(values);
    p.t.resize(max_length);
    const index_t K = (emb_dim - 1) / 2;
    std::vector<T> band(K);
    for (index_t j = 0; j < K; ++j)
      band[j] = K == 1 ? T(1e-4) : static_cast<T>(1e-4 + double(j) * (double(K - 1) - 1e-4) / double(K - 1));
    const T two_pi = static_cast<T>(6.283185307179586476925286766559);
    for (index_t n = 0; n < max_length; ++n) {
      const T tn = max_length == 1 ? T(0) : static_cast<T>(double(n) / double(max_length - 1));
      const T omega = two_pi * static_cast<T>(n) / static_cast<T>(max_length);
      T* zn = p.z.data() + n * emb_dim;
      p.t[n] = tn;
      zn[0] = tn;
      for (index_t j = 0; j < K; ++j) {
        const T phase = band[j] * omega;
        zn[1 + j] = static_cast<T>(std::cos(static_cast<double>(phase)));
        zn[1 + K + j] = static_cast<T>(-std::sin(static_cast<double>(phase)));
      }
    }
    return p;
  }
};

}  // namespace hyena
