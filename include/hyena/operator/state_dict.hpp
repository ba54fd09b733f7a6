// hyena/operator/state_dict.hpp: the one table of the operator's state_dict
// keys (docs/operator.md, "Weights"): every tensor's name, as the PyTorch
// module names it, and its shape in the operator's extents. Loading, saving
// and the language model's per-layer checks are all driven by this table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "weights.hpp"

namespace hyena {

/// The extents every operator tensor's shape is made of. 0 (and an empty
/// inner_layers) means "not known yet": loaders learn them from the shapes.
struct hyena_extents {
  index_t d_model = 0;     ///< D
  index_t order = 0;       ///< N
  index_t kernel = 0;      ///< K, the short filter's taps
  index_t width = 0;       ///< M, the filter MLP's width (PyTorch's filter_order)
  index_t emb_dim = 0;     ///< E
  std::optional<index_t> inner_layers;  ///< R, which may be 0
  index_t max_length = 0;  ///< Lmax

  template <class T>
  static hyena_extents of(const hyena_weights<T>& w) {
    hyena_extents x;
    x.d_model = w.d_model;
    x.order = w.order;
    x.kernel = w.short_filter_size;
    x.width = w.filter.width;
    x.emb_dim = w.filter.emb_dim();
    x.inner_layers = w.filter.inner_layers();
    x.max_length = w.filter.max_length();
    return x;
  }
};

/// One factor of a tensor's shape.
enum class hyena_extent {
  one,
  d_model,     ///< D
  streams,     ///< (N+1) D
  filters,     ///< F = D (N-1)
  kernel,      ///< K
  width,       ///< M
  emb_dim,     ///< E
  max_length,  ///< Lmax
};

/// The value of `e` under `x`, or 0 while it is not known.
inline index_t extent_value(hyena_extent e, const hyena_extents& x) noexcept {
  switch (e) {
    case hyena_extent::one: return 1;
    case hyena_extent::d_model: return x.d_model;
    case hyena_extent::streams: return x.order && x.d_model ? (x.order + 1) * x.d_model : 0;
    case hyena_extent::filters: return x.order && x.d_model ? (x.order - 1) * x.d_model : 0;
    case hyena_extent::kernel: return x.kernel;
    case hyena_extent::width: return x.width;
    case hyena_extent::emb_dim: return x.emb_dim;
    case hyena_extent::max_length: return x.max_length;
  }
  return 0;
}

/// `e` for a message: its value when known, else its name ("(order+1)*32"
/// when only d_model is known).
inline std::string describe_extent(hyena_extent e, const hyena_extents& x) {
  if (const index_t v = extent_value(e, x)) return detail::concat(v);
  const std::string d = x.d_model ? detail::concat(x.d_model) : std::string("d_model");
  switch (e) {
    case hyena_extent::d_model: return d;
    case hyena_extent::streams: return "(order+1)*" + d;
    case hyena_extent::filters: return "(order-1)*" + d;
    case hyena_extent::kernel: return "kernel_size";
    case hyena_extent::width: return "filter_order";
    case hyena_extent::emb_dim: return "emb_dim";
    case hyena_extent::max_length: return "l_max";
    default: return "?";
  }
}

/// "[1, 258, emb_dim]": a shape with its unknown extents named.
inline std::string describe_shape(const std::vector<hyena_extent>& shape, const hyena_extents& x) {
  std::string out = "[";
  for (index_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + describe_extent(shape[i], x);
  return out + "]";
}

/// The shape in numbers; every extent must be known.
inline std::vector<index_t> resolve_shape(const std::vector<hyena_extent>& shape, const hyena_extents& x) {
  std::vector<index_t> out;
  for (const auto e : shape) out.push_back(extent_value(e, x));
  return out;
}

/// The member of hyena_weights a key holds.
enum class hyena_parameter {
  in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, short_filter_weight, short_filter_bias,
  filter_bias, positions_z, positions_t, first_weight, first_bias, frequency, inner_weight, inner_bias,
  last_weight, deltas,
};

/// One state_dict entry: the key after the operator's prefix, what it holds, its shape.
struct hyena_key {
  std::string name;
  hyena_parameter parameter;
  index_t inner = 0;  ///< j, for inner_weight / inner_bias
  std::vector<hyena_extent> shape;
};

/// Where the filter MLP's keys live: Linear layers at 0, 2, .., 2R+2 (the
/// last without a bias), the Sin layers (each holding the one tied
/// frequency) at the odd indices in between.
inline constexpr const char* hyena_mlp_prefix = "filter_fn.implicit_filter.";

/// Every key of an operator with `inner_layers` inner Linears, in the order
/// saving writes them. The tied frequency is listed once, under slot 1: a
/// file may hold it under any of hyena_frequency_slots(), as PyTorch's
/// state_dict() does (every slot), and named_parameters() (the first only).
inline std::vector<hyena_key> hyena_state_dict_keys(index_t inner_layers) {
  using e = hyena_extent;
  using p = hyena_parameter;
  std::vector<hyena_key> keys = {
      {"in_proj.weight", p::in_proj_weight, 0, {e::streams, e::d_model}},
      {"in_proj.bias", p::in_proj_bias, 0, {e::streams}},
      {"out_proj.weight", p::out_proj_weight, 0, {e::d_model, e::d_model}},
      {"out_proj.bias", p::out_proj_bias, 0, {e::d_model}},
      {"short_filter.weight", p::short_filter_weight, 0, {e::streams, e::one, e::kernel}},
      {"short_filter.bias", p::short_filter_bias, 0, {e::streams}},
      {"filter_fn.bias", p::filter_bias, 0, {e::filters}},
      {"filter_fn.pos_emb.z", p::positions_z, 0, {e::one, e::max_length, e::emb_dim}},
      {"filter_fn.pos_emb.t", p::positions_t, 0, {e::one, e::max_length, e::one}},
      {detail::concat(hyena_mlp_prefix, "0.weight"), p::first_weight, 0, {e::width, e::emb_dim}},
      {detail::concat(hyena_mlp_prefix, "0.bias"), p::first_bias, 0, {e::width}},
      {detail::concat(hyena_mlp_prefix, "1.freq"), p::frequency, 0, {e::one, e::width}},
  };
  for (index_t j = 0; j < inner_layers; ++j) {
    keys.push_back({detail::concat(hyena_mlp_prefix, 2 * j + 2, ".weight"), p::inner_weight, j, {e::width, e::width}});
    keys.push_back({detail::concat(hyena_mlp_prefix, 2 * j + 2, ".bias"), p::inner_bias, j, {e::width}});
  }
  keys.push_back({detail::concat(hyena_mlp_prefix, 2 * inner_layers + 2, ".weight"), p::last_weight, 0,
                  {e::filters, e::width}});
  keys.push_back({"filter_fn.modulation.deltas", p::deltas, 0, {e::one, e::one, e::filters}});
  return keys;
}

/// The keys that may hold the tied frequency: slots 1, 3, .., 2R+1.
inline std::vector<std::string> hyena_frequency_slots(index_t inner_layers) {
  std::vector<std::string> slots;
  for (index_t slot = 1; slot <= 2 * inner_layers + 1; slot += 2)
    slots.push_back(detail::concat(hyena_mlp_prefix, slot, ".freq"));
  return slots;
}

/// The member of `w` that `key` holds (inner layers must exist).
template <class W>
auto& hyena_parameter_of(W& w, const hyena_key& key) {
  auto& f = w.filter;
  switch (key.parameter) {
    case hyena_parameter::in_proj_weight: return w.in_proj_weight;
    case hyena_parameter::in_proj_bias: return w.in_proj_bias;
    case hyena_parameter::out_proj_weight: return w.out_proj_weight;
    case hyena_parameter::out_proj_bias: return w.out_proj_bias;
    case hyena_parameter::short_filter_weight: return w.short_filter_weight;
    case hyena_parameter::short_filter_bias: return w.short_filter_bias;
    case hyena_parameter::filter_bias: return f.bias;
    case hyena_parameter::positions_z: return f.positions.z;
    case hyena_parameter::positions_t: return f.positions.t;
    case hyena_parameter::first_weight: return f.first_weight;
    case hyena_parameter::first_bias: return f.first_bias;
    case hyena_parameter::frequency: return f.frequency;
    case hyena_parameter::inner_weight: return f.inner_weights.at(key.inner);
    case hyena_parameter::inner_bias: return f.inner_biases.at(key.inner);
    case hyena_parameter::last_weight: return f.last_weight;
    case hyena_parameter::deltas: return f.deltas;
  }
  return f.deltas;  // unreachable: every enumerator is handled above
}

}  // namespace hyena
