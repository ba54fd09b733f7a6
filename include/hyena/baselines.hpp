// hyena/baselines.hpp: attention baselines for comparisons: softmax, tiled (online softmax), linear, sliding-window, and the layer.
#pragma once

#include "baselines/attention_common.hpp"
#include "baselines/attention_layer.hpp"
#include "baselines/linear_attention.hpp"
#include "baselines/local_attention.hpp"
#include "baselines/softmax_attention.hpp"
#include "baselines/tiled_attention.hpp"
