// hyena/conv.hpp: convolutions: the FFT causal long convolution, the depthwise short convolution, the direct O(L^2) reference.
#pragma once

#include "conv/direct_conv.hpp"
#include "conv/fft_conv.hpp"
#include "conv/short_conv.hpp"
