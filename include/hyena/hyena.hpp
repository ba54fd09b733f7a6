// hyena/hyena.hpp: everything. Include single headers to compile less.
#pragma once

#include "config.hpp"
#include "direct_conv.hpp"
#include "fft_conv.hpp"
#include "fft_plan.hpp"
#include "fft_size.hpp"
#include "shape.hpp"
#include "short_conv.hpp"
#include "span.hpp"
