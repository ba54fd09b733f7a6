// tests/fuzz/fuzz_sh2.hpp: a StripedHyena 2 (Evo 2) model loaded from
// arbitrary bytes.
//
// The input is a safetensors file whose "__metadata__" holds the vortex
// config as JSON under "config" (one input fuzzes both parsers). Skips it
// when the declared shapes exceed the limits of fuzz_common.hpp; parses the
// config (parse_sh2_config), loads the weights (load_sh2_weights) and builds
// the model. Any of that may fail with the documented exceptions. Once
// built, a forward call on forward_length ids must succeed unless a modal
// filter's response overflows float (growing modes: std::invalid_argument
// saying so); decoding the same ids (prefill 3, then steps) must then succeed
// too and give finite-or-not logits of the right size.
#pragma once

#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/sh2_loader.hpp>
#include <hyena/model/striped_hyena_model.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace hyena::fuzz {

inline int fuzz_sh2(const std::uint8_t* data, std::size_t size) {
  const std::optional<safetensors_file> parsed = parse(data, size);
  if (!parsed || !within_limits(*parsed)) return 0;
  const auto entry = parsed->metadata().find("config");
  if (entry == parsed->metadata().end()) return 0;
  const nlohmann::json document = nlohmann::json::parse(entry->second, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;

  const auto model = load_or_refuse([&] {
    return sh2_model<float>(load_sh2_weights<float>(*parsed, parse_sh2_config(document, "<fuzz config>")));
  });
  if (!model) return 0;

  const index_t L = forward_length, V = model->vocab_size();
  std::vector<std::int64_t> ids(L);
  for (index_t i = 0; i < L; ++i) ids[i] = static_cast<std::int64_t>((3 * i + 1) % V);
  std::vector<float> logits(L * V);
  const execution_context serial = execution_context::serial();
  try {
    model->forward(1, L, ids, logits, {}, serial);
  } catch (const std::invalid_argument& e) {
    require(std::string(e.what()).find("overflow") != std::string::npos,
            "forward threw for a reason other than a modal filter's overflow: ", e.what());
    return 0;
  }
  auto state = model->make_state(1, L);
  std::vector<float> prefill_logits(3 * V), step_logits(V);
  model->prefill(state, 3, span<const std::int64_t>(ids.data(), 3), prefill_logits, {}, serial);
  for (index_t t = 3; t < L; ++t) model->step(state, span<const std::int64_t>(&ids[t], 1), step_logits, {}, serial);
  require(state.position() == L, "decoded ", state.position(), " tokens of ", L);
  return 0;
}

}  // namespace hyena::fuzz
