// The FFT causal convolution against its floor: a bare r2c + c2r pair of the
// same size and batch, with the same thread split and the same plans
// (--planning, FFTW_MEASURE by default), measured in the same run; and
// against that floor plus the convolution's memory passes timed alone.
#include <hyena/conv/fft_conv.hpp>
#include <hyena/conv/grouped_fir.hpp>
#include <hyena/core/execution.hpp>

#include <benchmark/benchmark.h>

#include <vector>

#include "support/counters.hpp"
#include "support/planning.hpp"
#include "support/ratio_reporter.hpp"

namespace {

using hyena::index_t;
constexpr index_t channels = 768;

std::vector<float> ramp(index_t n, float scale) {
  std::vector<float> v(n);
  for (index_t i = 0; i < n; ++i) v[i] = scale * float((i * 7919) % 1000) / 1000.0f - 0.5f;
  return v;
}

// The convolution's operands for the arguments (L, C, threads): a filter
// bank with skips and one input row per channel, batch 1.
struct conv_case {
  explicit conv_case(const benchmark::State& state)
      : L(index_t(state.range(0))),
        threads(unsigned(state.range(2))),
        u(ramp(channels * L, 1.0f)),
        y(u.size()),
        filter(channels, L, ramp(channels * L, 0.01f), ramp(channels, 1.0f), hyena::bench::planning()) {}
  index_t L;
  unsigned threads;
  std::vector<float> u, y;
  hyena::fft_filter<float> filter;
};

void BM_fft_conv(benchmark::State& state) {
  conv_case op(state);
  hyena::fft_conv_workspace<float> ws(op.filter.fft_size(), op.threads);
  for (auto _ : state) {
    hyena::causal_conv(op.filter, 1, op.u, op.y, ws, op.threads);
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  hyena::bench::set_tokens_and_workspace(state, double(op.L), double(ws.bytes()));
}

// The floor: per row, forward and inverse FFT of the padded size, nothing else.
void BM_fft_floor(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const unsigned threads = unsigned(state.range(2));
  const auto fft = hyena::real_fft<float>::shared(hyena::causal_conv_fft_size(L), hyena::bench::planning());
  std::vector<hyena::fft_real_buffer<float>> real(threads, hyena::fft_real_buffer<float>(fft->size(), 0.5f));
  std::vector<hyena::fft_complex_buffer<float>> spec(threads, hyena::fft_complex_buffer<float>(fft->spectrum_size()));
  for (auto _ : state) {
    hyena::execution_context(threads).parallel_for(channels, [&](index_t first, index_t last, unsigned w) {
      for (index_t row = first; row < last; ++row) {
        fft->forward(real[w].data(), spec[w].data());
        fft->inverse(spec[w].data(), real[w].data());
      }
    });
    benchmark::ClobberMemory();
  }
  hyena::bench::set_tokens_and_workspace(state, double(L),
                                         double(threads) * double(fft->size() * sizeof(float) + fft->spectrum_size() * 8));
}

// The convolution's memory passes alone, without its two FFTs: per row, the
// input row into the padded buffer and its finiteness check, the product with
// the channel's filter spectrum (read from the filter bank, as the
// convolution reads it), and the output row from the inverse's buffer plus
// the skip term. The product reads a fixed spectrum and writes another buffer,
// so repeated rows cannot drift into denormals. floor + passes is what the
// convolution would cost if nothing overlapped: the ratio against it says how
// much of the gap above the FFT floor is these passes.
void BM_fft_passes(benchmark::State& state) {
  conv_case op(state);
  const index_t L = op.L;
  const unsigned threads = op.threads;
  const hyena::fft_filter<float>& filter = op.filter;
  const index_t n = filter.fft_size(), m = filter.fft().spectrum_size();
  std::vector<hyena::fft_real_buffer<float>> input(threads, hyena::fft_real_buffer<float>(n, 0.0f)),
      output(threads, hyena::fft_real_buffer<float>(n, 0.5f));
  std::vector<hyena::fft_complex_buffer<float>> spectrum(threads, hyena::fft_complex_buffer<float>(m, {0.5f, 0.25f})),
      product(threads, hyena::fft_complex_buffer<float>(m));
  for (auto _ : state) {
    hyena::execution_context(threads).parallel_for(channels, [&](index_t first, index_t last, unsigned w) {
      for (index_t c = first; c < last; ++c) {
        const float* ur = op.u.data() + c * L;
        float* yr = op.y.data() + c * L;
        std::copy(ur, ur + L, input[w].data());
        benchmark::DoNotOptimize(hyena::detail::finite_prefix(input[w].data(), L));
        const float* x = reinterpret_cast<const float*>(spectrum[w].data());
        const float* h = reinterpret_cast<const float*>(filter.spectrum(c));
        float* z = reinterpret_cast<float*>(product[w].data());
        for (index_t j = 0; j < m; ++j) {
          z[2 * j] = x[2 * j] * h[2 * j] - x[2 * j + 1] * h[2 * j + 1];
          z[2 * j + 1] = x[2 * j] * h[2 * j + 1] + x[2 * j + 1] * h[2 * j];
        }
        benchmark::DoNotOptimize(z);
        const float d = filter.skip(c), *conv = output[w].data(), *loaded = input[w].data();
        for (index_t t = 0; t < L; ++t) yr[t] = conv[t] + d * loaded[t];
      }
    });
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  hyena::bench::set_tokens_and_workspace(state, double(L), 0.0);
}

// Explicit FIR filters of K taps (StripedHyena 2's hcs and hcm blocks) on
// rows of L samples, 768 channels in 128 groups: the direct sum against
// overlap-save FFT blocks, the pair grouped_fir::fft_min_taps is chosen by.
void fir(benchmark::State& state, hyena::fir_method method) {
  const index_t K = index_t(state.range(0)), L = index_t(state.range(1));
  const unsigned threads = unsigned(state.range(2));
  constexpr index_t groups = 128;
  const auto h = ramp(groups * K, 0.01f), u = ramp(channels * L, 1.0f), skip = ramp(channels, 1.0f);
  std::vector<float> y(u.size());
  const hyena::grouped_fir<float> filter(channels, groups, K, h, hyena::fir_taps::convolution, skip, method);
  for (auto _ : state) {
    filter.apply(1, L, u, y, threads);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  hyena::bench::set_tokens_and_workspace(state, double(L), 0.0);
}
void BM_fir_direct(benchmark::State& state) { fir(state, hyena::fir_method::direct); }
void BM_fir_fft(benchmark::State& state) { fir(state, hyena::fir_method::fft); }

void fir_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"K", "L", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (long K : {7, 16, 32, 64, 128, 256, 1024})
    for (long L : {1024, 8192}) b->Args({K, L, 1});
}

void lengths(benchmark::internal::Benchmark* b) {
  b->ArgNames({"L", "C", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (long threads : {1, 2})
    for (long L = 1024; L <= 65536; L *= 2) b->Args({L, long(channels), threads});
}

BENCHMARK(BM_fft_conv)->Apply(lengths);
BENCHMARK(BM_fft_floor)->Apply(lengths);
BENCHMARK(BM_fft_passes)->Apply(lengths);
BENCHMARK(BM_fir_direct)->Apply(fir_sizes);
BENCHMARK(BM_fir_fft)->Apply(fir_sizes);

}  // namespace

int main(int argc, char** argv) {
  hyena::bench::parse_planning(argc, argv);
  std::vector<index_t> all;
  for (index_t L = 1024; L <= 65536; L *= 2) all.push_back(L);
  hyena::bench::preplan(all);
  return hyena::bench::run_with_ratios(argc, argv, {{"BM_fft_conv/", "BM_fft_floor/", "FFT convolution / bare r2c+c2r floor"},
                                                    {"BM_fft_conv/", "BM_fft_floor/", "FFT convolution / (floor + its memory passes alone)", "BM_fft_passes/"},
                                                    {"BM_fir_fft/", "BM_fir_direct/", "FIR by FFT / direct"}});
}
