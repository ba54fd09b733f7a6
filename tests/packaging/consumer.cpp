// A user's program: an FFT causal convolution checked against the direct one.
#include <hyena/hyena.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const hyena::index_t channels = 3, length = 37, batch = 2;
  std::vector<double> k(channels * length), u(batch * channels * length), skip(channels, 0.5);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::sin(0.1 * double(i)) / double(1 + i % length);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = std::cos(0.3 * double(i));
  std::vector<double> fast(u.size()), direct(u.size());
  hyena::fft_filter<double> filter(channels, length, k, skip);
  hyena::causal_conv(filter, batch, u, fast);
  hyena::direct_causal_conv<double>(k, skip, {batch, channels, length}, u, direct);
  double worst = 0;
  for (std::size_t i = 0; i < u.size(); ++i) worst = std::fmax(worst, std::fabs(fast[i] - direct[i]));
  std::printf("max |fft - direct| = %.3g\n", worst);
  return worst < 1e-12 ? 0 : 1;
}
