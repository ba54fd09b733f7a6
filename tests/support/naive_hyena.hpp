// An all-naive, double-precision Hyena operator written from docs/operator.md and docs/implicit_filter.md with
// plain loops (no FFT, no Eigen, no library code): the reference the library
// operator is tested against.
#pragma once

#include <cmath>
#include <vector>

#include <hyena/operator/weights.hpp>

namespace hyena::test {

// The filter bank h[c][n] (after the window), c < F, n < L.
template <class T>
std::vector<double> naive_filter_bank(const hyena::implicit_filter_weights<T>& f, std::size_t L, double shift,
                                      bool modulate, bool apply_window = true) {
  const std::size_t M = f.width, E = f.emb_dim(), F = f.channels;
  std::vector<double> h(F * L);
  std::vector<double> a(M), next(M);
  for (std::size_t n = 0; n < L; ++n) {
    for (std::size_t m = 0; m < M; ++m) {
      double acc = f.first_bias[m];
      for (std::size_t e = 0; e < E; ++e) acc += double(f.first_weight[m * E + e]) * double(f.positions.z[n * E + e]);
      a[m] = std::sin(double(f.frequency[m]) * acc);
    }
    for (std::size_t j = 0; j < f.inner_weights.size(); ++j) {
      for (std::size_t m = 0; m < M; ++m) {
        double acc = f.inner_biases[j][m];
        for (std::size_t i = 0; i < M; ++i) acc += double(f.inner_weights[j][m * M + i]) * a[i];
        next[m] = std::sin(double(f.frequency[m]) * acc);
      }
      a = next;
    }
    for (std::size_t c = 0; c < F; ++c) {
      double acc = 0;
      for (std::size_t m = 0; m < M; ++m) acc += double(f.last_weight[c * M + m]) * a[m];
      double window = 1;
      if (modulate && apply_window) window = std::exp(-double(f.positions.t[n]) * std::fabs(double(f.deltas[c]))) + shift;
      h[c * L + n] = acc * window;
    }
  }
  return h;
}

// out [B][L][D] for u [B][L][D]; `interleaved` picks the filter layout.
template <class T>
std::vector<double> naive_hyena_forward(const hyena::hyena_weights<T>& w, std::size_t B, std::size_t L,
                                        const std::vector<T>& u, double shift, bool modulate, bool interleaved) {
  const std::size_t D = w.d_model, N = w.order, S = (N + 1) * D, K = w.short_filter_size;
  const auto h = naive_filter_bank(w.filter, L, shift, modulate);
  std::vector<double> out(B * L * D);
  for (std::size_t b = 0; b < B; ++b) {
    // p[c][t]
    std::vector<double> p(S * L), s(S * L);
    for (std::size_t t = 0; t < L; ++t)
      for (std::size_t c = 0; c < S; ++c) {
        double acc = w.in_proj_bias[c];
        for (std::size_t d = 0; d < D; ++d) acc += double(w.in_proj_weight[c * D + d]) * double(u[(b * L + t) * D + d]);
        p[c * L + t] = acc;
      }
    for (std::size_t c = 0; c < S; ++c)
      for (std::size_t t = 0; t < L; ++t) {
        double acc = w.short_filter_bias[c];
        for (std::size_t j = 0; j < K; ++j) {
          const long back = long(K - 1) - long(j);  // tap j reads t - (K-1-j)
          if (long(t) - back >= 0) acc += double(w.short_filter_weight[c * K + j]) * p[c * L + t - std::size_t(back)];
        }
        s[c * L + t] = acc;
      }
    auto stream = [&](std::size_t i, std::size_t d, std::size_t t) { return s[(i * D + d) * L + t]; };
    std::vector<double> v(D * L);
    for (std::size_t d = 0; d < D; ++d)
      for (std::size_t t = 0; t < L; ++t) v[d * L + t] = stream(N, d, t);
    for (std::size_t o = 0; o + 1 < N; ++o) {
      const std::size_t i = N - 1 - o;
      std::vector<double> next(D * L);
      for (std::size_t d = 0; d < D; ++d) {
        const std::size_t c = interleaved ? d * (N - 1) + o : o * D + d;
        for (std::size_t t = 0; t < L; ++t) {
          double acc = double(w.filter.bias[c]) * v[d * L + t] * stream(i, d, t);
          for (std::size_t m = 0; m <= t; ++m) acc += h[c * L + m] * v[d * L + t - m] * stream(i, d, t - m);
          next[d * L + t] = acc;
        }
      }
      v = next;
    }
    for (std::size_t t = 0; t < L; ++t)
      for (std::size_t e = 0; e < D; ++e) {
        double acc = w.out_proj_bias[e];
        for (std::size_t d = 0; d < D; ++d) acc += double(w.out_proj_weight[e * D + d]) * v[d * L + t] * stream(0, d, t);
        out[(b * L + t) * D + e] = acc;
      }
  }
  return out;
}

}  // namespace hyena::test
