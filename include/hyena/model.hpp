// hyena/model.hpp: language-model pieces: LayerNorm, GELU, feed-forward, RMSNorm, Linear, the gated MLP and the Hyena blocks of StripedHyena 2, the Hyena LM, tokenizer, scoring, sampling, and their gradients with the cross-entropy loss.
#pragma once

#include "model/cross_entropy.hpp"
#include "model/feed_forward.hpp"
#include "model/feed_forward_backward.hpp"
#include "model/gated_mlp.hpp"
#include "model/gelu.hpp"
#include "model/hyena_lm.hpp"
#include "model/hyena_lm_backward.hpp"
#include "model/layer_norm.hpp"
#include "model/layer_norm_backward.hpp"
#include "model/linear.hpp"
#include "model/rms_norm.hpp"
#include "model/sampling.hpp"
#include "model/scoring.hpp"
#include "model/striped_hyena_block.hpp"
#include "model/tokenizer.hpp"
