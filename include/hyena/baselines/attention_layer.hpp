// hyena/baselines/attention_layer.hpp: a full causal multi-head attention
// layer around any of the attention cores: input projection to q, k, v,
// the core, output projection. What a transformer block's mixer does, and
// what Hyena's operator replaces.
//
//   [q | k | v] = x W_qkv^T + b_qkv,   y = concat_heads(core(q, k, v)) W_out^T + b_out
//
// Weights follow PyTorch's nn.Linear (y = x W^T + b, W is [out][in]): W_qkv
// is [3 d_model][d_model] with the rows of q first, then k, then v; within
// each, head h owns rows h*head_dim .. (h+1)*head_dim - 1 (what
// nn.MultiheadAttention's in_proj_weight and a fused qkv Linear store).
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "attention_common.hpp"
#include "linear_attention.hpp"
#include "local_attention.hpp"
#include "softmax_attention.hpp"
#include "tiled_attention.hpp"

namespace hyena {

/// The layer above with the core `Attention` (softmax_attention<T>,
/// tiled_attention<T>, linear_attention<T>, local_attention<T>, or any type
/// with the same value_type / workspace_size / apply / execution /
/// set_execution members).
///
/// Construction validates the sizes and copies the weights. Immutable
/// afterwards (once its thread count is set); one layer serves any number of
/// threads, each call with its own attention_workspace.
template <class Attention>
class attention_layer {
 public:
  using value_type = typename Attention::value_type;
  using attention_type = Attention;

 private:
  using T = value_type;

 public:
  /// qkv_weight: [3 d_model][d_model]; qkv_bias: [3 d_model] or empty (no
  /// bias); out_weight: [d_model][d_model]; out_bias: [d_model] or empty.
  /// Heads get head_dim = d_model / heads features each. O(d_model^2) to
  /// copy the weights.
  /// Throws std::invalid_argument on d_model or heads of 0, d_model not
  /// divisible by heads, or a weight span of the wrong size.
  attention_layer(index_t d_model, index_t heads, span<const T> qkv_weight, span<const T> qkv_bias,
                  span<const T> out_weight, span<const T> out_bias,
                  Attention attention = Attention())
      : d_model_(d_model), heads_(heads), attention_(std::move(attention)) {
    detail::require_positive(d_model, "attention_layer", "d_model");
    detail::require_positive(heads, "attention_layer", "heads");
    if (d_model % heads != 0)
      detail::throw_invalid("hyena::attention_layer: d_model = ", d_model,
                            " is not divisible by heads = ", heads);
    head_dim_ = d_model / heads;
    const index_t D = d_model;
    const index_t square = detail::checked_mul(D, D, "d_model*d_model");
    detail::require_size(qkv_weight.size(), detail::checked_mul(3, square, "3*d_model*d_model"),
                         "attention_layer", "qkv_weight", "3*d_model*d_model = 3*", D, "*", D);
    if (!qkv_bias.empty())
      detail::require_size(qkv_bias.size(), 3 * D, "attention_layer", "qkv_bias",
                           "3*d_model = 3*", D);
    detail::require_size(out_weight.size(), square, "attention_layer", "out_weight",
                         "d_model*d_model = ", D, "*", D);
    if (!out_bias.empty())
      detail::require_size(out_bias.size(), D, "attention_layer", "out_bias",
                           "d_model = ", D);
    qkv_weight_.assign(qkv_weight.begin(), qkv_weight.end());
    out_weight_.assign(out_weight.begin(), out_weight.end());
    // Missing biases become zeros: adding 0 is exact, and one code path is simpler.
    qkv_bias_.assign(3 * D, T(0));
    out_bias_.assign(D, T(0));
    std::copy(qkv_bias.begin(), qkv_bias.end(), qkv_bias_.begin());
    std::copy(out_bias.begin(), out_bias.end(), out_bias_.begin());
  }

  index_t d_model() const noexcept { return d_model_; }
  index_t heads() const noexcept { return heads_; }
  index_t head_dim() const noexcept { return head_dim_; }
  const Attention& attention() const noexcept { return attention_; }

  /// The threads of apply(). The layer and its core share one context: the
  /// core's as passed to the constructor (every hardware thread unless set
  /// on it), and set_execution sets both. The projections run in fixed
  /// blocks and the core gives each head to one thread, so the output is
  /// bit-identical for every count. Set before sharing the layer: not
  /// synchronised with apply().
  void set_execution(execution_context execution) { attention_.set_execution(execution); }
  const execution_context& execution() const noexcept { return attention_.execution(); }

  /// The shape the core sees for a [batch][length][d_model] input.
  attention_shape core_shape(index_t batch, index_t length) const {
    return {batch, heads_, length, head_dim_};
  }

  /// Bytes of attention_workspace that apply() uses: q, k, v and o
  /// (4 batch length d_model elements) plus the core's scratch (which grows
  /// with the thread count; the projections need none).
  index_t workspace_bytes(index_t batch, index_t length) const {
    const attention_shape shape = core_shape(batch, length);
    const index_t elements = detail::checked_mul(4, shape.elements(), "4*batch*length*d_model") +
                             attention_.workspace_size(shape);
    return detail::checked_mul(elements, sizeof(T), "workspace bytes");
  }

  /// y = the attention layer applied to x.
  ///
  /// x, y: `[batch][length][d_model]` (time-major, PyTorch's module layout).
  /// y may alias x in any way: x is read completely before y is written.
  /// O(batch length d_model^2) for the projections (4 GEMMs' worth) plus
  /// the core's cost, all split over execution()'s threads. Uses
  /// workspace_bytes(batch, length) of `workspace`, allocating only when it
  /// has less. Thread-safe with one workspace per call. Throws
  /// std::invalid_argument on batch or length of 0 or a span whose size is
  /// not batch*length*d_model.
  void apply(index_t batch, index_t length, span<const T> x, span<T> y,
             attention_workspace<T>& workspace) const {
    using Eigen::Index;
    detail::require_positive(batch, "attention_layer::apply", "batch");
    detail::require_positive(length, "attention_layer::apply", "length");
    const attention_shape shape = core_shape(batch, length);
    const index_t n = shape.elements(), D = d_model_, dh = head_dim_, L = length;
    const std::string expected =
        detail::concat("batch*length*d_model = ", batch, "*", length, "*", D);
    detail::require_size(x.size(), n, "attention_layer::apply", "x", expected);
    detail::require_size(y.size(), n, "attention_layer::apply", "y", expected);

    T* const q = workspace.activations(detail::checked_mul(4, n, "4*batch*length*d_model"));
    T* const k = q + n;
    T* const v = k + n;
    T* const o = v + n;
    T* const projected[3] = {q, k, v};

    // Input projection straight into the per-head layout, so no [L][3D]
    // intermediate is needed: one GEMM per (batch, q/k/v, head, block of
    // time steps), x_b's rows of the block times that head's dh rows of
    // W_qkv transposed. Every task writes its own rows.
    const execution_context& exec = execution();
    const auto w_qkv = detail::matrix_view(qkv_weight_.data(), 3 * D, D);
    const index_t time_blocks = blocks_of(L);
    const index_t in_tasks = detail::checked_mul(shape.head_count(), 3 * time_blocks, "projection blocks");
    exec.parallel_for(in_tasks, [&](index_t first, index_t last, unsigned) {
      for (index_t task = first; task < last; ++task) {
        const index_t t0 = task % time_blocks * time_block, rows = std::min(time_block, L - t0);
        const index_t h = task / time_blocks % heads_, part = task / (time_blocks * heads_) % 3;
        const index_t b = task / (time_blocks * heads_ * 3);
        const index_t row = part * D + h * dh;
        const auto xb = detail::matrix_view(x.data() + (b * L + t0) * D, rows, D);
        auto dst = detail::matrix_view(projected[part] + ((b * heads_ + h) * L + t0) * dh, rows, dh);
        dst.noalias() = xb * w_qkv.middleRows(static_cast<Index>(row), static_cast<Index>(dh)).transpose();
        dst.rowwise() += row_vector(qkv_bias_.data() + row, dh);
      }
    });

    attention_.apply(shape, span<const T>(q, n), span<const T>(k, n), span<const T>(v, n),
                     span<T>(o, n), workspace);

    // Per block of tokens (rows of the [batch*length][d_model] output): the
    // heads back to the module layout (into q's storage, free now), then
    // the output projection GEMM on those rows.
    T* const merged = q;
    const index_t tokens = batch * L;
    const auto w_out = detail::matrix_view(out_weight_.data(), D, D);
    exec.parallel_for(blocks_of(tokens), [&](index_t first, index_t last, unsigned) {
      for (index_t blk = first; blk < last; ++blk) {
        const index_t r0 = blk * time_block, rows = std::min(time_block, tokens - r0);
        for (index_t r = r0; r < r0 + rows; ++r) {
          const index_t b = r / L, t = r % L;
          for (index_t h = 0; h < heads_; ++h) {
            const T* src = o + ((b * heads_ + h) * L + t) * dh;
            std::copy(src, src + dh, merged + r * D + h * dh);
          }
        }
        auto out = detail::matrix_view(y.data() + r0 * D, rows, D);
        const auto merged_rows = detail::matrix_view(static_cast<const T*>(merged) + r0 * D, rows, D);
        out.noalias() = merged_rows * w_out.transpose();
        out.rowwise() += row_vector(out_bias_.data(), D);
      }
    });
  }

  /// As above with a temporary workspace (allocates once per call).
  void apply(index_t batch, index_t length, span<const T> x, span<T> y) const {
    attention_workspace<T> workspace;
    apply(batch, length, x, y, workspace);
  }

 private:
  // Projection GEMMs are cut into fixed blocks of rows, not into one block
  // per thread, so each GEMM, and hence every rounding, is the same whatever
  // the thread count (hyena_operator cuts its output channels too). 256 rows
  // keep a block's GEMM large enough to run near full speed.
  static constexpr index_t time_block = 256;
  static index_t blocks_of(index_t rows) { return (rows + time_block - 1) / time_block; }

  static Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> row_vector(const T* data, index_t n) {
    return {data, static_cast<Eigen::Index>(n)};
  }

  index_t d_model_;
  index_t heads_;
  index_t head_dim_ = 0;
  Attention attention_;
  detail::aligned_vector<T> qkv_weight_;
  detail::aligned_vector<T> qkv_bias_;
  detail::aligned_vector<T> out_weight_;
  detail::aligned_vector<T> out_bias_;
};

/// The four baselines as layers, for benchmarks and examples.
template <class T>
using softmax_attention_layer = attention_layer<softmax_attention<T>>;
template <class T>
using tiled_attention_layer = attention_layer<tiled_attention<T>>;
template <class T>
using linear_attention_layer = attention_layer<linear_attention<T>>;
template <class T>
using local_attention_layer = attention_layer<local_attention<T>>;

}  // namespace hyena
