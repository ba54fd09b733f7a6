// hyena/conv.hpp: convolutions: the FFT causal long convolution, its online (step by step) form, the depthwise short convolution, grouped explicit FIR filters (StripedHyena 2), the direct O(L^2) reference.
#pragma once

#include "conv/direct_conv.hpp"
#include "conv/fft_conv.hpp"
#include "conv/fft_conv_backward.hpp"
#include "conv/grouped_fir.hpp"
#include "conv/online_conv.hpp"
#include "conv/short_conv.hpp"
#include "conv/short_conv_backward.hpp"
