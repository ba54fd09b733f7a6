// hyena/filter/implicit_filter.hpp: Hyena's implicit long filters, an MLP of the position (docs/implicit_filter.md).
//
//   a_0 = z_n,  a_1 = sin(phi ⊙ (W_0 a_0 + b_0)),  a_{j+1} = sin(phi ⊙ (W_j a_j + b_j)) (j = 1..R),
//   ĥ_n = W_last a_{R+1}  (no bias),   h[c][n] = ĥ[c][n] * (exp(-t_n |delta_c|) + shift)
//
// One frequency vector phi is shared by every sine (the reference ties them).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "exponential_modulation.hpp"
#include "layout.hpp"
#include "../core/execution.hpp"
#include "positional_features.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The learned (and stored) parameters of the implicit filter.
template <class T>
struct implicit_filter_weights {
  positional_features<T> positions;        ///< z [Lmax][E], t [Lmax]
  index_t width = 0;                       ///< M, the MLP's width
  index_t channels = 0;                    ///< F, the number of filters
  std::vector<T> first_weight;             ///< W_0 [M][E]
  std::vector<T> first_bias;               ///< b_0 [M]
  std::vector<T> frequency;                ///< phi [M]
  std::vector<std::vector<T>> inner_weights;  ///< R x [M][M]
  std::vector<std::vector<T>> inner_biases;   ///< R x [M]
  std::vector<T> last_weight;              ///< W_last [F][M]
  std::vector<T> deltas;                   ///< decay rates [F]
  std::vector<T> bias;                     ///< skip weights D [F] (PyTorch's filter_fn.bias)

  index_t max_length() const { return positions.max_length; }
  index_t emb_dim() const { return positions.emb_dim; }
  index_t inner_layers() const { return inner_weights.size(); }

  /// Throws std::invalid_argument naming the first member whose size does
  /// not match (max_length, emb_dim, width, channels).
  void validate() const {
    auto need = [](const std::vector<T>& v, index_t expected, const std::string& name, const std::string& shape) {
      if (v.size() != expected)
        detail::throw_invalid("hyena::implicit_filter: ", name, " has ", v.size(), " elements, expected ",
                              shape, " = ", expected);
    };
    const index_t L = max_length(), E = emb_dim(), M = width, F = channels;
    detail::require_positive(L, "implicit_filter", "max_length");
    detail::require_positive(M, "implicit_filter", "width");
    detail::require_positive(F, "implicit_filter", "channels");
    if (E < 3 || E % 2 == 0)
      detail::throw_invalid("hyena::implicit_filter: emb_dim must be odd and >= 3, got ", E);
    need(positions.z, detail::checked_mul(L, E, "max_length*emb_dim"), "z",
         detail::concat("max_length*emb_dim = ", L, "*", E));
    need(positions.t, L, "t", detail::concat("max_length = ", L));
    need(first_weight, detail::checked_mul(M, E, "width*emb_dim"), "first_weight",
         detail::concat("width*emb_dim = ", M, "*", E));
    need(first_bias, M, "first_bias", detail::concat("width = ", M));
    need(frequency, M, "frequency", detail::concat("width = ", M));
    if (inner_biases.size() != inner_weights.size())
      detail::throw_invalid("hyena::implicit_filter: ", inner_weights.size(), " inner weights but ",
                            inner_biases.size(), " inner biases");
    for (index_t j = 0; j < inner_weights.size(); ++j) {
      need(inner_weights[j], detail::checked_mul(M, M, "width*width"), detail::concat("inner_weights[", j, "]"),
           detail::concat("width*width = ", M, "*", M));
      need(inner_biases[j], M, detail::concat("inner_biases[", j, "]"), detail::concat("width = ", M));
    }
    need(last_weight, detail::checked_mul(F, M, "channels*width"), "last_weight",
         detail::concat("channels*width = ", F, "*", M));
    need(deltas, F, "deltas", detail::concat("channels = ", F));
    need(bias, F, "bias", detail::concat("channels = ", F));
    detail::require_finite(positions.z, "implicit_filter", "z");
    detail::require_finite(positions.t, "implicit_filter", "t");
    detail::require_finite(first_weight, "implicit_filter", "first_weight");
    detail::require_finite(first_bias, "implicit_filter", "first_bias");
    detail::require_finite(frequency, "implicit_filter", "frequency");
    for (index_t j = 0; j < inner_weights.size(); ++j) {
      detail::require_finite(inner_weights[j], "implicit_filter", detail::concat("inner_weights[", j, "]"));
      detail::require_finite(inner_biases[j], "implicit_filter", detail::concat("inner_biases[", j, "]"));
    }
    detail::require_finite(last_weight, "implicit_filter", "last_weight");
    detail::require_finite(deltas, "implicit_filter", "deltas");
    detail::require_finite(bias, "implicit_filter", "bias");
  }
};

/// The filter generator: evaluates the MLP and the window at the first
/// `length` grid points. Immutable and thread-safe once built.
template <class T>
class implicit_filter {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

 public:
  /// Hidden activations, M x length, column-major (column n: position n).
  using activations = matrix;

  implicit_filter(implicit_filter_weights<T> weights, exponential_modulation_config modulation)
      : w_(std::move(weights)), modulation_(modulation) {
    w_.validate();
  }

  index_t max_length() const noexcept { return w_.max_length(); }
  index_t channels() const noexcept { return w_.channels; }
  const implicit_filter_weights<T>& weights() const noexcept { return w_; }
  const exponential_modulation_config& modulation() const noexcept { return modulation_; }

  /// The MLP's last hidden layer a_{R+1} at the first `length` grid points:
  /// an M x length matrix (column n for position n), shared by every filter
  /// channel. O(length * M * (E + R*M)); positions are done in fixed blocks
  /// of 512 (so the activations stay in cache), split over `exec`'s
  /// threads; fixed blocks make the result independent of the thread count.
  activations hidden(index_t length, const execution_context& exec = {}) const {
    check_length(length, "hidden");
    const index_t M = w_.width, E = w_.emb_dim();
    detail::require_allocatable(detail::checked_mul(M, length, "width*length"), sizeof(T),
                                "implicit filter activations (width*length)");
    matrix out(static_cast<Eigen::Index>(M), static_cast<Eigen::Index>(length));
    const Eigen::Map<const row_matrix> w0(w_.first_weight.data(), Eigen::Index(M), Eigen::Index(E));
    const Eigen::Map<const vector> b0(w_.first_bias.data(), Eigen::Index(M));
    const Eigen::Map<const vector> phi(w_.frequency.data(), Eigen::Index(M));
    constexpr index_t block = 512;
    const index_t blocks = (length + block - 1) / block;
    exec.parallel_for(blocks, [&](index_t first, index_t last, unsigned) {
      matrix a, next;
      for (index_t start = first * block; start < std::min(length, last * block); start += block) {
        const index_t n = std::min(block, length - start);
        // z rows are positions: as a column-major E x Lmax matrix, column n is z_n.
        const Eigen::Map<const matrix> z(w_.positions.z.data() + start * E, Eigen::Index(E), Eigen::Index(n));
        a.noalias() = w0 * z;
        activate(a, b0, phi);
        for (index_t j = 0; j < w_.inner_layers(); ++j) {
          const Eigen::Map<const row_matrix> wj(w_.inner_weights[j].data(), Eigen::Index(M), Eigen::Index(M));
          const Eigen::Map<const vector> bj(w_.inner_biases[j].data(), Eigen::Index(M));
          next.noalias() = wj * a;
          activate(next, bj, phi);
          a.swap(next);
        }
        out.middleCols(Eigen::Index(start), Eigen::Index(n)) = a;
      }
    });
    return out;
  }

  /// ĥ, the MLP output before the window: [channels][length], channel-major.
  std::vector<T> mlp(index_t length, const execution_context& exec = {}) const {
    return bank(length, exec, false, "mlp");
  }

  /// h, the filter bank after the exponential window: [channels][length].
  std::vector<T> response(index_t length, const execution_context& exec = {}) const {
    return bank(length, exec, true, "response");
  }

  /// Rows h[c] (window included) of the bank channels `ids`, written to
  /// rows [ids.size()][length] where length = hidden.cols(): the last Linear
  /// and the window for those channels only, so a bank can be made block by
  /// block straight into its consumer, never whole in memory (what
  /// hyena_operator does when it prepares filters).
  void response_rows(const activations& hidden, span<const index_t> ids, T* rows) const {
    rows_of(hidden, ids, rows, true);
  }

 private:
  // The last Linear for channels `ids` into rows [ids.size()][hidden.cols()],
  // then the window if `window`.
  void rows_of(const activations& hidden, span<const index_t> ids, T* rows, bool window) const {
    const index_t M = w_.width, length = index_t(hidden.cols()), count = ids.size();
    if (index_t(hidden.rows()) != M)
      detail::throw_invalid("hyena::implicit_filter::response_rows: hidden has ", hidden.rows(),
                            " rows, expected width ", M);
    check_length(length, "response_rows");
    row_matrix w(static_cast<Eigen::Index>(count), static_cast<Eigen::Index>(M));
    std::vector<T> deltas(count);
    for (index_t i = 0; i < count; ++i) {
      if (ids[i] >= w_.channels)
        detail::throw_invalid("hyena::implicit_filter::response_rows: channel ", ids[i], " >= channels ",
                              w_.channels);
      w.row(Eigen::Index(i)) = Eigen::Map<const row_matrix>(w_.last_weight.data() + ids[i] * M, 1, Eigen::Index(M));
      deltas[i] = w_.deltas[ids[i]];
    }
    Eigen::Map<row_matrix>(rows, Eigen::Index(count), Eigen::Index(length)).noalias() = w * hidden;
    if (window) apply_exponential_modulation(rows, count, length, w_.positions.t.data(), deltas.data(), modulation_);
  }

  // The whole bank [channels][length]: hidden() once, then rows_of in fixed
  // blocks of 16 channels (contiguous rows, whatever the length's stride),
  // split over threads.
  std::vector<T> bank(index_t length, const execution_context& exec, bool window, const char* what) const {
    check_length(length, what);
    const index_t F = w_.channels;
    const index_t values = detail::checked_mul(F, length, "channels*length");
    detail::require_allocatable(values, 3 * sizeof(T), "implicit filter bank (channels*length)");
    const activations a = hidden(length, exec);
    std::vector<T> out(values);
    constexpr index_t block = 16;
    exec.parallel_for((F + block - 1) / block, [&](index_t b0, index_t b1, unsigned) {
      std::vector<index_t> ids;
      for (index_t b = b0; b < b1; ++b) {
        ids.clear();
        for (index_t c = b * block; c < std::min(F, (b + 1) * block); ++c) ids.push_back(c);
        rows_of(a, ids, out.data() + b * block * length, window);
      }
    });
    return out;
  }

  // a = sin(phi ⊙ (a + b)), per row (one row per hidden unit).
  static void activate(matrix& a, const Eigen::Map<const vector>& b, const Eigen::Map<const vector>& phi) {
    a.colwise() += b;
    a = (a.array().colwise() * phi.array()).sin().matrix();
  }

  void check_length(index_t length, const char* what) const {
    if (length == 0) detail::throw_invalid("hyena::implicit_filter::", what, ": length must be >= 1, got 0");
    if (length > max_length())
      detail::throw_invalid("hyena::implicit_filter::", what, ": length ", length,
                            " exceeds the filter grid's max_length ", max_length());
  }

  implicit_filter_weights<T> w_;
  exponential_modulation_config modulation_;
};

}  // namespace hyena
