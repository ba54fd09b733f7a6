// hyena/io/operator_weights.hpp: a Hyena operator's weights from and to a PyTorch state_dict saved as
// safetensors, driven by the key table of operator/state_dict.hpp.
#pragma once

#include <algorithm>
#include <utility>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../operator/hyena_operator.hpp"
#include "../operator/state_dict.hpp"
#include "../operator/weights.hpp"
#include "safetensors_reader.hpp"
#include "safetensors_writer.hpp"

namespace hyena {

namespace detail {

/// The index of the filter MLP's final Linear: the highest Linear present
/// (indices of at most 6 digits; anything longer is not a layer PyTorch
/// writes), or 0 when there is none.
inline index_t highest_mlp_linear(const checkpoint_reader& r) {
  index_t last = 0;
  const std::string mlp = r.key(hyena_mlp_prefix);
  for (const auto& name : r.file().names()) {
    if (name.compare(0, mlp.size(), mlp) != 0) continue;
    const std::string rest = name.substr(mlp.size());
    const auto dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || dot > 6 || rest.substr(dot) != ".weight") continue;
    if (rest.find_first_not_of("0123456789") != dot) continue;
    last = std::max<index_t>(last, std::stoul(rest.substr(0, dot)));
  }
  return last;
}

/// Learns the extents from the tensors that define them, checking each
/// against what `x` already knows (a config, or an earlier layer): D and N
/// from in_proj.weight, K from short_filter.weight, Lmax and E from z, M
/// from the first Linear, R from the Linear layers present.
inline void infer_hyena_extents(const checkpoint_reader& r, hyena_extents& x) {
  const std::string in_w = "in_proj.weight";
  const auto& in = r.shape(in_w, describe_shape({hyena_extent::streams, hyena_extent::d_model}, x));
  const bool in_ok = in.size() == 2 && in[1] != 0 && (x.d_model == 0 || in[1] == x.d_model) && in[0] % in[1] == 0 &&
                     in[0] / in[1] >= 3 && (x.order == 0 || in[0] / in[1] == x.order + 1);
  if (!in_ok)
    r.fail(in_w, "has shape ", format_shape(in), ", expected ",
           describe_shape({hyena_extent::streams, hyena_extent::d_model}, x), x.order ? "" : " with order >= 2");
  x.d_model = in[1];
  x.order = in[0] / in[1] - 1;

  const std::string sf = "short_filter.weight";
  const std::vector<hyena_extent> sf_shape = {hyena_extent::streams, hyena_extent::one, hyena_extent::kernel};
  const auto& k = r.shape(sf, describe_shape(sf_shape, x));
  if (k.size() != 3 || k[0] != extent_value(hyena_extent::streams, x) || k[1] != 1 || k[2] == 0 ||
      (x.kernel != 0 && k[2] != x.kernel))
    r.fail(sf, "has shape ", format_shape(k), ", expected ", describe_shape(sf_shape, x));
  x.kernel = k[2];

  const std::string z_name = "filter_fn.pos_emb.z";
  const std::vector<hyena_extent> z_shape = {hyena_extent::one, hyena_extent::max_length, hyena_extent::emb_dim};
  const auto& z = r.shape(z_name, describe_shape(z_shape, x));
  const bool z_rank = z.size() == 3 && z[0] == 1;
  const bool z_length = z_rank && z[1] != 0 && (x.max_length == 0 || z[1] == x.max_length);
  const bool z_emb = z_rank && z[2] >= 3 && z[2] % 2 == 1 && (x.emb_dim == 0 || z[2] == x.emb_dim);
  if (!z_length || !z_emb) {
    // Spell out the extent that is right as it is, so the message points at the wrong one.
    hyena_extents shown = x;
    if (z_length) shown.max_length = z[1];
    if (z_emb) shown.emb_dim = z[2];
    r.fail(z_name, "has shape ", format_shape(z), ", expected ", describe_shape(z_shape, shown),
           x.emb_dim ? "" : " (emb_dim odd and >= 3)");
  }
  x.max_length = z[1];
  x.emb_dim = z[2];

  const std::string first = concat(hyena_mlp_prefix, "0.weight");
  const std::vector<hyena_extent> first_shape = {hyena_extent::width, hyena_extent::emb_dim};
  const auto& m = r.shape(first, describe_shape(first_shape, x));
  if (m.size() != 2 || m[1] != x.emb_dim || m[0] == 0 || (x.width != 0 && m[0] != x.width))
    r.fail(first, "has shape ", format_shape(m), ", expected ", describe_shape(first_shape, x));
  x.width = m[0];

  // R: the final Linear (no bias) sits at 2R+2. When R is not known it is
  // the highest Linear present, unless that one has a bias: then it is an
  // inner layer and the final Linear is missing.
  const index_t F = extent_value(hyena_extent::filters, x);
  if (!x.inner_layers) {
    const index_t last = highest_mlp_linear(r);
    if (last == 0 || last % 2 != 0 || r.has(concat(hyena_mlp_prefix, last, ".bias")))
      r.fail(concat(hyena_mlp_prefix, last == 0 ? 2 : last + 2, ".weight"), "missing (expected shape [", F, ", ",
             x.width, "]): the filter MLP's final Linear, which has no bias, is not in the state_dict");
    x.inner_layers = last / 2 - 1;
  }
}

}  // namespace detail

/// Reads the weights of one operator stored under `prefix` (e.g. "" or
/// "backbone.layers.0.mixer.") with the reference's key names: every key of
/// hyena_state_dict_keys() (docs/operator.md, "Weights"); the tied sine
/// frequency may be under any of hyena_frequency_slots() (any one present
/// is enough; when several are, they must be equal).
/// Hyperparameters (D, N, K, M, E, R, Lmax) come from the tensor shapes;
/// those `known` already holds (a config's, or an earlier layer's) must
/// agree, and the rest are filled in. z, t and deltas are always the stored
/// ones (trained checkpoints change them). Any float dtype the reader
/// converts is accepted.
/// Throws safetensors_error naming the file and the key for a missing key, a
/// key of the wrong shape (with the expected shape), unequal tied keys or an
/// unexpected bias on the final Linear; std::invalid_argument naming the
/// member for non-finite values.
template <class T>
hyena_weights<T> load_hyena_weights(const safetensors_file& file, const std::string& prefix, hyena_extents& known) {
  const detail::checkpoint_reader r(file, prefix);
  detail::infer_hyena_extents(r, known);
  const hyena_extents& x = known;
  const index_t R = *x.inner_layers, last = 2 * R + 2;
  hyena_weights<T> w;
  w.d_model = x.d_model;
  w.order = x.order;
  w.short_filter_size = x.kernel;
  w.filter.width = x.width;
  w.filter.channels = extent_value(hyena_extent::filters, x);
  w.filter.positions.max_length = x.max_length;
  w.filter.positions.emb_dim = x.emb_dim;
  w.filter.inner_weights.resize(R);
  w.filter.inner_biases.resize(R);
  for (const auto& key : hyena_state_dict_keys(R)) {
    if (key.parameter == hyena_parameter::frequency) continue;
    hyena_parameter_of(w, key) = r.template read<T>(key.name, resolve_shape(key.shape, x));
  }
  if (r.has(detail::concat(hyena_mlp_prefix, last, ".bias")))
    r.fail(detail::concat(hyena_mlp_prefix, last, ".bias"), "unexpected: the filter's final Linear (index ", last,
           ") has no bias in the reference; with a bias it would be an inner layer (", R + 1,
           " inner layers instead of ", R, ")");
  // The tied frequency: any slot, all equal.
  const std::vector<hyena_extent> freq_shape = {hyena_extent::one, hyena_extent::width};
  std::string found;
  for (const auto& slot : hyena_frequency_slots(R)) {
    if (!r.has(slot)) continue;
    auto freq = r.template read<T>(slot, resolve_shape(freq_shape, x));
    if (found.empty()) {
      w.filter.frequency = std::move(freq);
      found = slot;
    } else if (freq != w.filter.frequency) {
      r.fail(slot, "differs from \"", r.key(found), "\": the sine frequencies are one tied tensor in the reference");
    }
  }
  if (found.empty())
    r.fail(detail::concat(hyena_mlp_prefix, "1.freq"), "missing (expected shape ", detail::format_shape(resolve_shape(freq_shape, x)),
           "; the sine frequency is one tensor tied across ", r.key(hyena_mlp_prefix), "{1,3,..}.freq and any one of "
           "them is enough)");
  w.validate();
  return w;
}

/// As above, learning every extent from the file.
template <class T>
hyena_weights<T> load_hyena_weights(const safetensors_file& file, const std::string& prefix = "") {
  hyena_extents known;
  return load_hyena_weights<T>(file, prefix, known);
}

/// Adds every tensor of `w` to `writer` under the reference's key names and
/// shapes (the inverse of load_hyena_weights; the tied frequency is written
/// once, as PyTorch's named_parameters() lists it, under slot 1).
template <class T>
void save_hyena_weights(const hyena_weights<T>& w, safetensors_writer& writer, const std::string& prefix = "") {
  w.validate();
  const hyena_extents x = hyena_extents::of(w);
  for (const auto& key : hyena_state_dict_keys(*x.inner_layers)) {
    const std::vector<T>& data = hyena_parameter_of(w, key);
    writer.add(prefix + key.name, resolve_shape(key.shape, x), span<const T>(data.data(), data.size()));
  }
}

/// load_hyena_weights() from a file path, made into an operator.
template <class T>
hyena_operator<T> load_hyena_operator(const std::string& path, const hyena_options& options = {},
                                      const std::string& prefix = "") {
  return hyena_operator<T>(load_hyena_weights<T>(safetensors_file::load(path), prefix), options);
}

}  // namespace hyena
