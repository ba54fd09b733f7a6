// hyena/hyena_loader.hpp: a Hyena operator from a PyTorch state_dict saved as safetensors (SPEC §2).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "config.hpp"
#include "detail/checks.hpp"
#include "hyena_operator.hpp"
#include "hyena_weights.hpp"
#include "safetensors.hpp"

namespace hyena {

/// Reads the weights of one operator stored under `prefix` (e.g. "" or
/// "backbone.layers.0.mixer.") with the reference's key names:
///   in_proj.{weight,bias}, out_proj.{weight,bias}, short_filter.{weight,bias},
///   filter_fn.bias, filter_fn.pos_emb.{z,t}, filter_fn.modulation.deltas,
///   filter_fn.implicit_filter.{0,2,..,2R}.{weight,bias}, .{2R+2}.weight (no bias),
///   filter_fn.implicit_filter.{1,3,..,2R+1}.freq (one tied tensor: any one
///   present is enough; when several are, they must be equal).
/// Hyperparameters (D, N, K, M, E, R, Lmax, F) come from the tensor shapes;
/// z, t and deltas are always the stored ones (trained checkpoints change
/// them). Any dtype the reader converts is accepted.
/// Throws safetensors_error naming the file and the key for a missing key, a
/// key of the wrong shape (with the expected shape) or unequal tied keys.
template <class T>
hyena_weights<T> load_hyena_weights(const safetensors_file& file, const std::string& prefix = "") {
  auto key = [&](const std::string& name) { return prefix + name; };
  auto fail = [&](const std::string& name, const std::string& problem) {
    detail::safetensors_fail(file.source(), "tensor \"", key(name), "\": ", problem);
  };
  auto shape_of = [&](const std::string& name) -> const std::vector<index_t>& { return file.info(key(name)).shape; };

  // D and N from in_proj.weight [(N+1)D, D].
  const auto& in_shape = shape_of("in_proj.weight");
  if (in_shape.size() != 2 || in_shape[1] == 0 || in_shape[0] % in_shape[1] != 0 || in_shape[0] / in_shape[1] < 3)
    fail("in_proj.weight", detail::concat("expected shape [(order+1)*d_model, d_model] with order >= 2, got ",
                                                detail::format_shape(in_shape)));
  hyena_weights<T> w;
  const index_t D = in_shape[1], S = in_shape[0], N = S / D - 1;
  w.d_model = D;
  w.order = N;
  w.in_proj_weight = file.read<T>(key("in_proj.weight"));
  w.in_proj_bias = file.read<T>(key("in_proj.bias"), {S});
  w.out_proj_weight = file.read<T>(key("out_proj.weight"), {D, D});
  w.out_proj_bias = file.read<T>(key("out_proj.bias"), {D});
  const auto& sf_shape = shape_of("short_filter.weight");
  if (sf_shape.size() != 3 || sf_shape[0] != S || sf_shape[1] != 1 || sf_shape[2] == 0)
    fail("short_filter.weight", detail::concat("expected shape [", S, ", 1, kernel_size], got ",
                                                     detail::format_shape(sf_shape)));
  w.short_filter_size = sf_shape[2];
  w.short_filter_weight = file.read<T>(key("short_filter.weight"));
  w.short_filter_bias = file.read<T>(key("short_filter.bias"), {S});

  // The implicit filter. Lmax and E from z [1, Lmax, E].
  auto& f = w.filter;
  const std::string mlp = "filter_fn.implicit_filter.";
  const auto& z_shape = shape_of("filter_fn.pos_emb.z");
  if (z_shape.size() != 3 || z_shape[0] != 1 || z_shape[1] == 0 || z_shape[2] < 3 || z_shape[2] % 2 == 0)
    fail("filter_fn.pos_emb.z", detail::concat("expected shape [1, max_length, emb_dim] with odd emb_dim >= 3, got ",
                                                     detail::format_shape(z_shape)));
  const index_t Lmax = z_shape[1], E = z_shape[2];
  f.positions.max_length = Lmax;
  f.positions.emb_dim = E;
  f.positions.z = file.read<T>(key("filter_fn.pos_emb.z"));
  f.positions.t = file.read<T>(key("filter_fn.pos_emb.t"), {1, Lmax, 1});
  const auto& first_shape = shape_of(mlp + "0.weight");
  if (first_shape.size() != 2 || first_shape[1] != E || first_shape[0] == 0)
    fail(mlp + "0.weight", detail::concat("expected shape [width, ", E, "], got ", detail::format_shape(first_shape)));
  const index_t M = first_shape[0];
  f.width = M;
  f.first_weight = file.read<T>(key(mlp + "0.weight"));
  f.first_bias = file.read<T>(key(mlp + "0.bias"), {M});
  // R inner layers: Linears at 2, 4, .., 2R, each with a bias, then the final
  // Linear at 2R+2 without one. The final index is the highest Linear weight
  // present, unless that one has a bias: then the final Linear is missing.
  index_t last = 0;
  const std::string mlp_prefix = key(mlp);
  for (const auto& name : file.names()) {
    if (name.compare(0, mlp_prefix.size(), mlp_prefix) != 0) continue;
    const std::string rest = name.substr(mlp_prefix.size());
    const auto dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || rest.substr(dot) != ".weight") continue;
    if (rest.find_first_not_of("0123456789") != dot || dot > 6) continue;
    last = std::max<index_t>(last, std::stoul(rest.substr(0, dot)));
  }
  if (last == 0 || last % 2 != 0 || file.contains(key(detail::concat(mlp, last, ".bias"))))
    fail(detail::concat(mlp, last == 0 ? 2 : last + 2, ".weight"),
         "missing: the filter MLP's final Linear (no bias) is not in the file");
  for (index_t i = 2; i < last; i += 2) {
    f.inner_weights.push_back(file.read<T>(key(detail::concat(mlp, i, ".weight")), {M, M}));
    f.inner_biases.push_back(file.read<T>(key(detail::concat(mlp, i, ".bias")), {M}));
  }
  const std::string last_name = detail::concat(mlp, last, ".weight");
  const auto& last_shape = shape_of(last_name);
  const index_t F = detail::checked_mul(D, N - 1, "d_model*(order-1)");
  if (last_shape.size() != 2 || last_shape[0] != F || last_shape[1] != M)
    fail(last_name, detail::concat("expected shape [d_model*(order-1), width] = [", F, ", ", M, "], got ",
                                         detail::format_shape(last_shape)));
  f.channels = F;
  f.last_weight = file.read<T>(key(last_name));
  f.deltas = file.read<T>(key("filter_fn.modulation.deltas"), {1, 1, F});
  f.bias = file.read<T>(key("filter_fn.bias"), {F});

  // The tied sine frequency: slots 1, 3, .., last-1.
  std::string found;
  for (index_t slot = 1; slot < last; slot += 2) {
    const std::string name = detail::concat(mlp, slot, ".freq");
    if (!file.contains(key(name))) continue;
    auto freq = file.read<T>(key(name), {1, M});
    if (found.empty()) {
      f.frequency = std::move(freq);
      found = name;
    } else if (freq != f.frequency) {
      fail(name, detail::concat("differs from \"", key(found),
                                      "\": the sine frequencies are one tied tensor in the reference"));
    }
  }
  if (found.empty())
    fail(mlp + "1.freq", detail::concat("missing: no sine frequency key (", mlp, "{1,3,..}.freq) is present"));
  w.validate();
  return w;
}

/// Adds every tensor of `w` to `writer` under the reference's key names and
/// shapes (the inverse of load_hyena_weights; the tied frequency is written
/// once, as PyTorch's named_parameters() lists it, under slot 1).
template <class T>
void save_hyena_weights(const hyena_weights<T>& w, safetensors_writer& writer, const std::string& prefix = "") {
  w.validate();
  const index_t D = w.d_model, S = w.streams();
  const auto& f = w.filter;
  const index_t M = f.width, E = f.emb_dim(), Lmax = f.max_length(), F = f.channels;
  auto put = [&](const std::string& name, std::vector<index_t> shape, const std::vector<T>& data) {
    writer.add(prefix + name, std::move(shape), span<const T>(data.data(), data.size()));
  };
  put("in_proj.weight", {S, D}, w.in_proj_weight);
  put("in_proj.bias", {S}, w.in_proj_bias);
  put("out_proj.weight", {D, D}, w.out_proj_weight);
  put("out_proj.bias", {D}, w.out_proj_bias);
  put("short_filter.weight", {S, 1, w.short_filter_size}, w.short_filter_weight);
  put("short_filter.bias", {S}, w.short_filter_bias);
  put("filter_fn.bias", {F}, f.bias);
  put("filter_fn.pos_emb.z", {1, Lmax, E}, f.positions.z);
  put("filter_fn.pos_emb.t", {1, Lmax, 1}, f.positions.t);
  const std::string mlp = "filter_fn.implicit_filter.";
  put(mlp + "0.weight", {M, E}, f.first_weight);
  put(mlp + "0.bias", {M}, f.first_bias);
  put(mlp + "1.freq", {1, M}, f.frequency);
  for (index_t j = 0; j < f.inner_layers(); ++j) {
    put(detail::concat(mlp, 2 * j + 2, ".weight"), {M, M}, f.inner_weights[j]);
    put(detail::concat(mlp, 2 * j + 2, ".bias"), {M}, f.inner_biases[j]);
  }
  put(detail::concat(mlp, 2 * f.inner_layers() + 2, ".weight"), {F, M}, f.last_weight);
  put("filter_fn.modulation.deltas", {1, 1, F}, f.deltas);
}

/// load_hyena_weights() from a file path, made into an operator.
template <class T>
hyena_operator<T> load_hyena_operator(const std::string& path, const hyena_options& options = {},
                                      const std::string& prefix = "") {
  return hyena_operator<T>(load_hyena_weights<T>(safetensors_file::load(path), prefix), options);
}

}  // namespace hyena
