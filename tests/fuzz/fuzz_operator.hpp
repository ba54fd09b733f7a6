// tests/fuzz/fuzz_operator.hpp: a Hyena operator loaded from arbitrary bytes.
//
// Parses the input, skips it when the declared shapes exceed the limits of
// fuzz_common.hpp, loads the operator's weights (under the prefix in front of
// the first "in_proj.weight" key, so language-model checkpoints exercise the
// loader too), builds the operator and runs a forward call of
// min(8, max_length) steps. Loading may fail with the loaders' documented
// exceptions; once loaded, the weights must survive save_hyena_weights ->
// parse -> load_hyena_weights bit for bit, building must not fail, and
// forward may fail only with std::invalid_argument, exactly when the filters
// at that length are not finite (see filters_finite).
#pragma once

#include <hyena/io/operator_weights.hpp>
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace hyena::fuzz {

namespace detail_operator {

/// What stands before the first key ending in "in_proj.weight" (names in
/// offset order), or "" when there is none (the loader then names the key
/// missing).
inline std::string operator_prefix(const safetensors_file& file) {
  const std::string anchor = "in_proj.weight";
  for (const std::string& name : file.names())
    if (name.size() >= anchor.size() && name.compare(name.size() - anchor.size(), anchor.size(), anchor) == 0)
      return name.substr(0, name.size() - anchor.size());
  return "";
}

template <class T>
bool same_weights(const hyena_weights<T>& a, const hyena_weights<T>& b) {
  const auto& f = a.filter;
  const auto& g = b.filter;
  bool same = a.d_model == b.d_model && a.order == b.order && a.short_filter_size == b.short_filter_size &&
              same_bits(a.in_proj_weight, b.in_proj_weight) && same_bits(a.in_proj_bias, b.in_proj_bias) &&
              same_bits(a.out_proj_weight, b.out_proj_weight) && same_bits(a.out_proj_bias, b.out_proj_bias) &&
              same_bits(a.short_filter_weight, b.short_filter_weight) &&
              same_bits(a.short_filter_bias, b.short_filter_bias) && f.width == g.width && f.channels == g.channels &&
              f.max_length() == g.max_length() && f.emb_dim() == g.emb_dim() && same_bits(f.positions.z, g.positions.z) &&
              same_bits(f.positions.t, g.positions.t) && same_bits(f.first_weight, g.first_weight) &&
              same_bits(f.first_bias, g.first_bias) && same_bits(f.frequency, g.frequency) &&
              f.inner_layers() == g.inner_layers() && same_bits(f.last_weight, g.last_weight) &&
              same_bits(f.deltas, g.deltas) && same_bits(f.bias, g.bias);
  for (index_t j = 0; same && j < f.inner_layers(); ++j)
    same = same_bits(f.inner_weights[j], g.inner_weights[j]) && same_bits(f.inner_biases[j], g.inner_biases[j]);
  return same;
}

}  // namespace detail_operator

/// True when every step filter and skip `op` uses at `length` is finite.
/// Finite weights can still overflow (a sine of an infinite argument is NaN),
/// and forward() rejects a non-finite filter with std::invalid_argument
/// (fft_conv.hpp: an FFT would spread it over the whole output): that is the
/// one failure a loaded operator may have.
template <class T>
bool filters_finite(const hyena_operator<T>& op, index_t length) {
  const step_filters<T> k = op.step_filters_at(length);
  const auto finite = [](const std::vector<T>& v) {
    return std::all_of(v.begin(), v.end(), [](T x) { return std::isfinite(x); });
  };
  return finite(k.k) && finite(k.skip);
}

inline int fuzz_operator(const std::uint8_t* data, std::size_t size) {
  using namespace detail_operator;
  const std::optional<safetensors_file> parsed = parse(data, size);
  if (!parsed || !within_limits(*parsed)) return 0;
  const safetensors_file& file = *parsed;
  const std::string prefix = operator_prefix(file);

  const auto weights = load_or_refuse([&] { return load_hyena_weights<float>(file, prefix); });
  if (!weights) return 0;

  // Loaded weights are valid: the round trip and the operator must work.
  safetensors_writer writer;
  save_hyena_weights(*weights, writer, prefix);
  const hyena_weights<float> reloaded =
      load_hyena_weights<float>(safetensors_file::parse(writer.bytes(), "<fuzz copy>"), prefix);
  require(same_weights(*weights, reloaded), "save_hyena_weights -> load_hyena_weights changed the weights");

  hyena_options options;
  // Both channel layouts matter from order 3 on; let the input's size pick one.
  options.layout = size % 2 == 0 ? filter_layout::blocked : filter_layout::interleaved;
  hyena_operator<float> op(std::move(*weights), options);
  op.set_execution(execution_context::serial());
  const index_t D = op.d_model(), L = std::min(forward_length, op.max_length());
  const std::vector<float> u = test_signal(L * D);
  const bool finite = filters_finite(op, L);
  std::vector<float> out;
  try {
    out = op.forward(1, L, u);
  } catch (const std::invalid_argument& e) {
    require(!finite, "forward threw although the filters are finite: ", e.what());
    return 0;
  }
  require(finite, "forward accepted non-finite filters");
  require(out.size() == L * D, "forward returned ", out.size(), " values, expected ", L * D);
  return 0;
}

}  // namespace hyena::fuzz
