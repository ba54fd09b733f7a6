#include <hyena/hyena.hpp>

int odr_b() { return static_cast<int>(hyena::next_fast_fft_size(999)); }
