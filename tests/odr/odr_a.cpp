// Links with odr_b.cpp: both include every header, so a non-inline function
// or variable defined in a header fails to link here.
#include <hyena/hyena.hpp>

int odr_b();

int main() {
  const hyena::index_t n = hyena::next_fast_fft_size(1000);
  return (n == 1000 && odr_b() == 1000) ? 0 : 1;
}
