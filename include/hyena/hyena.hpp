// hyena/hyena.hpp: everything. Include single headers to compile less.
#pragma once

#include "config.hpp"
#include "direct_conv.hpp"
#include "exponential_modulation.hpp"
#include "fft_conv.hpp"
#include "fft_plan.hpp"
#include "fft_size.hpp"
#include "hyena_loader.hpp"
#include "hyena_operator.hpp"
#include "hyena_weights.hpp"
#include "implicit_filter.hpp"
#include "parallel.hpp"
#include "positional_features.hpp"
#include "safetensors.hpp"
#include "shape.hpp"
#include "short_conv.hpp"
#include "span.hpp"
