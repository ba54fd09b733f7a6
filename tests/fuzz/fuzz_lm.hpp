// tests/fuzz/fuzz_lm.hpp: a Hyena language model loaded from arbitrary bytes.
//
// Parses the input, skips it when the declared shapes exceed the limits of
// fuzz_common.hpp, loads the model with load_hyena_lm_weights (no config:
// every hyperparameter from the shapes), builds it and runs a forward call
// on min(8, max_length) token ids, then scores the logits. Loading may fail
// with the loaders' documented exceptions; once loaded, building and scoring
// must not fail, and forward only with std::invalid_argument when some
// mixer's filters are not finite (as in fuzz_operator.hpp).
#pragma once

#include <hyena/model/hyena_lm.hpp>
#include <hyena/io/lm_loader.hpp>
#include <hyena/model/scoring.hpp>
#include <hyena/io/safetensors_reader.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "fuzz_common.hpp"
#include "fuzz_operator.hpp"  // filters_finite

namespace hyena::fuzz {

inline int fuzz_lm(const std::uint8_t* data, std::size_t size) {
  const std::optional<safetensors_file> parsed = parse(data, size);
  if (!parsed || !within_limits(*parsed)) return 0;

  auto weights = load_or_refuse([&] { return load_hyena_lm_weights<float>(*parsed); });
  if (!weights) return 0;

  hyena_lm<float> model(std::move(*weights));
  model.set_execution(execution_context::serial());
  const index_t L = std::min(forward_length, model.max_length()), V = model.padded_vocab_size();
  require(L >= 1, "a loaded model has max_length 0");
  std::vector<std::int64_t> ids(L);
  for (index_t i = 0; i < L; ++i) ids[i] = static_cast<std::int64_t>((3 * i + 1) % V);
  bool finite = true;
  for (index_t i = 0; i < model.n_layer(); ++i) finite = finite && filters_finite(model.mixer(i), L);
  hyena_lm_output<float> out;
  try {
    out = model.forward(1, L, ids);
  } catch (const std::invalid_argument& e) {
    require(!finite, "forward threw although every mixer's filters are finite: ", e.what());
    return 0;
  }
  require(finite, "forward accepted non-finite filters");
  require(out.hidden.size() == L * model.d_model() && out.logits.size() == L * V, "forward returned ",
          out.hidden.size(), " hidden values and ", out.logits.size(), " logits for length ", L);
  const sequence_score score = next_token_log_likelihood<float>(L, V, out.logits, ids);
  require(score.predictions == L - 1, "scored ", score.predictions, " predictions of ", L, " tokens");
  return 0;
}

}  // namespace hyena::fuzz
