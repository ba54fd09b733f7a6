// hyena/model/feed_forward.hpp: the position-wise MLP of a Hyena block (docs/language_model.md).
//
//   mlp(x) = fc2( gelu_tanh( fc1(x) ) ),   fc1: d_model -> d_inner,  fc2: d_inner -> d_model
//
// Both Linear layers have a bias; weights are PyTorch's [out][in], y = x W^T + b.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "gelu.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The parameters of one feed-forward MLP, in PyTorch's layouts.
template <class T>
struct feed_forward_weights {
  index_t d_model = 0;
  index_t d_inner = 0;
  std::vector<T> fc1_weight;  ///< [d_inner][d_model]
  std::vector<T> fc1_bias;    ///< [d_inner]
  std::vector<T> fc2_weight;  ///< [d_model][d_inner]
  std::vector<T> fc2_bias;    ///< [d_model]

  /// Throws std::invalid_argument naming the first member of the wrong size
  /// or the first non-finite value.
  void validate() const {
    check_shapes();
    detail::require_finite(fc1_weight, "feed_forward_weights", "fc1_weight");
    detail::require_finite(fc1_bias, "feed_forward_weights", "fc1_bias");
    detail::require_finite(fc2_weight, "feed_forward_weights", "fc2_weight");
    detail::require_finite(fc2_bias, "feed_forward_weights", "fc2_bias");
  }

  /// The size checks of validate() alone: O(1), and no message is built
  /// unless one fails (feed_forward() runs them on every call).
  void check_shapes() const {
    detail::require_positive(d_model, "feed_forward_weights", "d_model");
    detail::require_positive(d_inner, "feed_forward_weights", "d_inner");
    const index_t D = d_model, H = d_inner;
    auto need = [D, H](const std::vector<T>& v, index_t expected, const char* name, const char* shape) {
      if (v.size() != expected)
        detail::throw_invalid("hyena::feed_forward_weights: ", name, " has ", v.size(), " elements, expected ", shape,
                              " = ", expected, " (d_model ", D, ", d_inner ", H, ")");
    };
    need(fc1_weight, detail::checked_mul(H, D, "d_inner*d_model"), "fc1_weight", "d_inner*d_model");
    need(fc1_bias, H, "fc1_bias", "d_inner");
    need(fc2_weight, detail::checked_mul(D, H, "d_model*d_inner"), "fc2_weight", "d_model*d_inner");
    need(fc2_bias, D, "fc2_bias", "d_model");
  }
};

namespace detail {

/// feed_forward and feed_forward_hidden: out empty stops after the GELU.
template <class T>
void feed_forward_impl(const feed_forward_weights<T>& w, index_t rows, span<const T> x, span<T> hidden,
                       span<T> out, const execution_context& exec) {
  static_assert(detail::is_real_v<T>, "hyena::feed_forward<T> needs T = float or double");
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  w.check_shapes();  // finiteness is the weights' owner's check (validate()), not every call's
  const index_t D = w.d_model, H = w.d_inner;
  detail::require_size(x.size(), detail::checked_mul(rows, D, "rows*d_model"), "feed_forward", "x",
                       "rows*d_model = ", rows, "*", D);
  detail::require_size(hidden.size(), detail::checked_mul(rows, H, "rows*d_inner"), "feed_forward", "hidden",
                       "rows*d_inner = ", rows, "*", H);
  const Eigen::Map<const row_matrix> w1(w.fc1_weight.data(), Eigen::Index(H), Eigen::Index(D));
  const Eigen::Map<const vector> b1(w.fc1_bias.data(), Eigen::Index(H));
  const Eigen::Map<const row_matrix> w2(w.fc2_weight.data(), Eigen::Index(D), Eigen::Index(H));
  const Eigen::Map<const vector> b2(w.fc2_bias.data(), Eigen::Index(D));
  // Row-major [rows][width] data is a column-major width x rows matrix: one
  // column per row, so fc(x) is W * X with the bias added to every column.
  // Fixed tiles of 256 rows by 256 outputs (not blocks of rows alone), so a
  // short sequence still gives every thread work.
  using tile_map = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  exec.for_each_tile(rows, 256, H, 256, D, [&](index_t r0, index_t n, index_t h0, index_t m) {
    const Eigen::Map<const matrix> xb(x.data() + r0 * D, Eigen::Index(D), Eigen::Index(n));
    tile_map hb(hidden.data() + r0 * H + h0, Eigen::Index(m), Eigen::Index(n), Eigen::OuterStride<>(H));
    hb.noalias() = w1.middleRows(Eigen::Index(h0), Eigen::Index(m)) * xb;
    hb.colwise() += b1.segment(Eigen::Index(h0), Eigen::Index(m));
    for (index_t r = 0; r < n; ++r) gelu_tanh_inplace<T>(span<T>(hidden.data() + (r0 + r) * H + h0, m));
  });
  if (out.empty()) return;
  exec.for_each_tile(rows, 256, D, 256, H, [&](index_t r0, index_t n, index_t e0, index_t m) {
    const Eigen::Map<const matrix> hb(hidden.data() + r0 * H, Eigen::Index(H), Eigen::Index(n));
    tile_map ob(out.data() + r0 * D + e0, Eigen::Index(m), Eigen::Index(n), Eigen::OuterStride<>(D));
    ob.noalias() = w2.middleRows(Eigen::Index(e0), Eigen::Index(m)) * hb;
    ob.colwise() += b2.segment(Eigen::Index(e0), Eigen::Index(m));
  });
}

}  // namespace detail

/// hidden = gelu_tanh(fc1(x)) for `rows` rows: the MLP's activations alone.
/// x: [rows][d_model]; hidden: [rows][d_inner]. Fixed tiles of rows by outputs over
/// `exec`'s threads (bit-identical for every thread count). Throws
/// std::invalid_argument on invalid weights or mismatched spans.
template <class T>
void feed_forward_hidden(const feed_forward_weights<T>& w, index_t rows, span_arg<const T> x, span_arg<T> hidden,
                         const execution_context& exec = {}) {
  detail::feed_forward_impl<T>(w, rows, x, hidden, span<T>(), exec);
}

/// out = fc2(gelu_tanh(fc1(x))) for `rows` independent rows.
/// x, out: [rows][d_model]; hidden: [rows][d_inner], caller-owned scratch
/// that holds the GELU activations afterwards. out must overlap neither x
/// nor hidden. Time O(rows * d_model * d_inner), split over `exec`'s
/// threads in fixed tiles of rows by outputs, so results
/// are bit-identical for every thread count. No allocation beyond Eigen's
/// GEMM packing buffers. Thread-safe for disjoint outputs.
/// Throws std::invalid_argument on invalid weights or mismatched spans.
template <class T>
void feed_forward(const feed_forward_weights<T>& w, index_t rows, span_arg<const T> x,
                  span_arg<T> hidden, span_arg<T> out, const execution_context& exec = {}) {
  detail::require_size(out.size(), detail::checked_mul(rows, w.d_model, "rows*d_model"), "feed_forward", "out",
                       "rows*d_model = ", rows, "*", w.d_model);
  detail::feed_forward_impl<T>(w, rows, x, hidden, out, exec);
}

}  // namespace hyena
