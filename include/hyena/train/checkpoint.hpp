// hyena/train/checkpoint.hpp: a training run saved and resumed as one
// safetensors file: the model under the keys the loaders read (so the file
// loads in hyena-lm, and in PyTorch with load_state_dict(strict=False)), and
// AdamW's state beside it, under PyTorch's names for it:
//   optimizer.<parameter key>.exp_avg      [n]  first moments
//   optimizer.<parameter key>.exp_avg_sq   [n]  second moments
//   optimizer.step                         []   I64, steps taken
// and the hyperparameters as metadata (hyena.adamw.beta1, ... .weight_decay).
// (The moments' suffix keeps the file one model to the loaders: a key ending
// in a model key would read as a second model under the prefix "optimizer.".)
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../io/lm_writer.hpp"
#include "../io/safetensors_reader.hpp"
#include "../io/safetensors_writer.hpp"
#include "adamw.hpp"

namespace hyena {

namespace detail {

inline constexpr char adamw_prefix[] = "optimizer.";
inline constexpr char adamw_step_key[] = "optimizer.step";
inline std::string adamw_first_key(const std::string& parameter) { return adamw_prefix + parameter + ".exp_avg"; }
inline std::string adamw_second_key(const std::string& parameter) { return adamw_prefix + parameter + ".exp_avg_sq"; }

inline std::string adamw_metadata_key(const char* name) { return std::string("hyena.adamw.") + name; }

// 17 significant digits: reads back as the same double.
inline std::string exact_decimal(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace detail

/// Adds `optimizer`'s state to `writer` under the names above.
template <class T>
void save_adamw_state(const adamw<T>& optimizer, safetensors_writer& writer) {
  const auto& o = optimizer.options();
  writer.add_metadata(detail::adamw_metadata_key("beta1"), detail::exact_decimal(o.beta1));
  writer.add_metadata(detail::adamw_metadata_key("beta2"), detail::exact_decimal(o.beta2));
  writer.add_metadata(detail::adamw_metadata_key("eps"), detail::exact_decimal(o.eps));
  writer.add_metadata(detail::adamw_metadata_key("weight_decay"), detail::exact_decimal(o.weight_decay));
  const std::int64_t steps = static_cast<std::int64_t>(optimizer.steps());
  writer.add(detail::adamw_step_key, {}, span<const std::int64_t>(&steps, 1));
  for (index_t i = 0; i < optimizer.names().size(); ++i) {
    const auto &m = optimizer.first_moment(i), &v = optimizer.second_moment(i);
    writer.add(detail::adamw_first_key(optimizer.names()[i]), {m.size()}, span<const T>(m.data(), m.size()));
    writer.add(detail::adamw_second_key(optimizer.names()[i]), {v.size()}, span<const T>(v.data(), v.size()));
  }
}

/// The AdamW optimizer saved in `file` (save_adamw_state), for exactly
/// `parameters` (trainable_parameters of the model it trains, in that
/// order). Throws safetensors_error naming the file and the key for missing
/// optimizer state (step, hyperparameters, or a parameter's moments), moments
/// of the wrong size or not finite, and moments for a tensor not in
/// `parameters` (a run that trained other tensors).
template <class T>
adamw<T> load_adamw_state(const safetensors_file& file, const std::vector<named_parameter<T>>& parameters) {
  const detail::checkpoint_reader ck(file);
  auto option = [&](const char* name) {
    const auto it = file.metadata().find(detail::adamw_metadata_key(name));
    if (it == file.metadata().end())
      detail::safetensors_fail(file.source(), "missing optimizer state: metadata \"",
                               detail::adamw_metadata_key(name), "\" (not a checkpoint saved with its optimizer?)");
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0')
      detail::safetensors_fail(file.source(), "metadata \"", it->first, "\" = \"", it->second, "\" is not a number");
    return v;
  };
  adamw_options options;
  options.beta1 = option("beta1");
  options.beta2 = option("beta2");
  options.eps = option("eps");
  options.weight_decay = option("weight_decay");
  if (!ck.has(detail::adamw_step_key))
    ck.fail(detail::adamw_step_key, "missing optimizer state (expected the step count, shape [])");
  const auto step = ck.read<std::int64_t>(detail::adamw_step_key, {});
  if (step[0] < 0) ck.fail(detail::adamw_step_key, "is ", step[0], ", expected >= 0");

  std::vector<std::string> names, expected_keys{detail::adamw_step_key};
  std::vector<std::vector<T>> first, second;
  if (step[0] > 0) {
    for (const auto& p : parameters) {
      const std::vector<index_t> shape{p.value->size()};
      const std::string first_key = detail::adamw_first_key(p.name), second_key = detail::adamw_second_key(p.name);
      for (const auto& key : {first_key, second_key})
        if (!ck.has(key)) ck.fail(key, "missing optimizer state (expected shape ", detail::format_shape(shape), ")");
      names.push_back(p.name);
      first.push_back(ck.read<T>(first_key, shape));
      second.push_back(ck.read<T>(second_key, shape));
      expected_keys.push_back(first_key);
      expected_keys.push_back(second_key);
    }
  }
  for (const auto& key : file.names_with_prefix(detail::adamw_prefix))
    if (std::find(expected_keys.begin(), expected_keys.end(), key) == expected_keys.end())
      ck.fail(key, step[0] == 0 ? "optimizer state at step 0"
                                : "optimizer state for a tensor this run does not train (or not optimizer state)");
  adamw<T> optimizer(options);
  try {
    optimizer.restore(static_cast<index_t>(step[0]), std::move(names), std::move(first), std::move(second));
  } catch (const std::invalid_argument& e) {
    detail::safetensors_fail(file.source(), e.what());
  }
  return optimizer;
}

/// Writes a training checkpoint to `path`: the model's weights
/// (save_hyena_lm_weights) and the optimizer's state. Throws as those do and
/// safetensors_error if the file cannot be written.
template <class T>
void save_training_checkpoint(const std::string& path, const hyena_lm_weights<T>& weights, const adamw<T>& optimizer) {
  safetensors_writer writer;
  save_hyena_lm_weights(weights, writer);
  save_adamw_state(optimizer, writer);
  writer.save(path);
}

}  // namespace hyena
