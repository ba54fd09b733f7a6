// hyena/model.hpp: language-model pieces: LayerNorm, GELU, feed-forward, the Hyena LM, tokenizer, scoring, sampling.
#pragma once

#include "model/feed_forward.hpp"
#include "model/gelu.hpp"
#include "model/hyena_lm.hpp"
#include "model/layer_norm.hpp"
#include "model/sampling.hpp"
#include "model/scoring.hpp"
#include "model/tokenizer.hpp"
