// hyena/fft.hpp: FFTW plans (shared, thread-safe execution) and fast FFT sizes.
#pragma once

#include "fft/plan.hpp"
#include "fft/size.hpp"
