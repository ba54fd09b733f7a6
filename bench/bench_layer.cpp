// The order-2 Hyena layer against the sum of its parts, per stage, in one run.
//
//   BM_layer/L:n/D:768             the whole forward, filters cached
//   BM_layer_recompute/L:n/D:768   the whole forward, filters recomputed every call
//   BM_stage_<name>/L:n/D:768      project_in, short_conv, mix, project_out, filters (prepared
//                                  anew: MLP, window, spectra), filter_mlp (MLP and window only)
//   BM_floor_gemm/L:n/D:768        bare GEMMs of the projections' sizes (4 D^2 L MACs), on the same
//                                  GEMM as the layer (HYENA_BLAS) in the same 256 x 256 tiles
//   BM_layer_batch/B:b/L:4096      the whole forward on a batch of b sequences (b = 1, 4, 16)
//   BM_floor_fft/L:n/D:768         bare r2c + c2r of D rows at the layer's FFT size
//
// The reporter prints layer / (GEMM floor + FFT floor) and the share of each
// stage and of filter generation.
#include <hyena/core/execution.hpp>
#include <hyena/fft/plan.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <limits>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "support/arguments.hpp"
#include "support/counters.hpp"
#include "support/operators.hpp"
#include "support/planning.hpp"
#include "support/random.hpp"
#include "support/run.hpp"
#include "support/timing_reporter.hpp"

namespace {

using hyena::index_t;
using T = float;
constexpr index_t D = 768;
unsigned g_threads = 0;

/// An order-2 layer of length L (weights seed 1) and its input (seed 2),
/// output and workspace; `cache`: how many lengths' filters it keeps.
struct layer_case {
  layer_case(index_t L, index_t cache)
      : op(hyena::bench::make_operator<T>(D, 2, L, g_threads, 1, cache)),
        u(hyena::bench::random_values(L * D, 2)),
        out(u.size()) {}
  std::unique_ptr<hyena::hyena_operator<T>> op;
  std::vector<T> u, out;
  hyena::hyena_workspace<T> ws;
};

void BM_layer(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  for (auto _ : state) layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  hyena::bench::set_tokens_and_workspace(state, double(L),
                                         double(layer.ws.bytes() + layer.op->prepared_filters(L)->bytes()));
}

// Filters recomputed each call: a length-keyed cache of one entry, alternated
// with another length, evicts them every time.
void BM_layer_recompute(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 1);
  for (auto _ : state) {
    state.PauseTiming();
    (void)layer.op->prepared_filters(L - 1);  // evict L
    state.ResumeTiming();
    layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  }
  hyena::bench::set_tokens_per_second(state, double(L));
}

template <int Stage>
void BM_stage(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  const auto& op = *layer.op;
  std::vector<T> streams(3 * D * L);
  hyena::fft_conv_workspace<T> conv;
  op.project_in(L, layer.u, streams);
  op.short_conv(L, streams);
  const auto filters = op.prepared_filters(L);
  const std::vector<T> saved = streams;
  std::vector<std::vector<T>> rows(hyena::execution_context(g_threads).threads(),
                                   std::vector<T>(hyena::fft_filter<T>::block_rows * L));
  for (auto _ : state) {
    if constexpr (Stage == 0) op.project_in(L, layer.u, streams);
    if constexpr (Stage == 1) op.short_conv(L, streams);
    if constexpr (Stage == 2) benchmark::DoNotOptimize(op.prepare_filters(L));  // MLP, window and spectra
    if constexpr (Stage == 5) {  // the MLP and the window only, as prepare_filters makes them
      const auto& filter = op.filter_generator();
      const auto hidden = filter.hidden(L, g_threads);
      const index_t F = filter.channels(), block = hyena::fft_filter<T>::block_rows;
      hyena::execution_context(g_threads).parallel_for((F + block - 1) / block, [&](index_t b0, index_t b1, unsigned w) {
        for (index_t b = b0; b < b1; ++b) {
          std::vector<index_t> ids;
          for (index_t c = b * block; c < std::min(F, (b + 1) * block); ++c) ids.push_back(c);
          filter.response_rows(hidden, ids, rows[w].data());
        }
      });
      benchmark::DoNotOptimize(rows[0].data());
    }
    if constexpr (Stage == 3) op.mix(*filters, streams, conv);
    if constexpr (Stage == 4)
      op.project_out(L, hyena::span<const T>(streams.data() + 2 * D * L, D * L), layer.out);
    if constexpr (Stage == 1 || Stage == 3) {
      state.PauseTiming();
      streams = saved;  // both work in place: every iteration sees the same data
      state.ResumeTiming();
    }
  }
  hyena::bench::set_tokens_per_second(state, double(L));
}

// The projections' GEMMs as bare products of the same shapes, cut into the
// operator's 256 x 256 output tiles over the same threads, on the same GEMM
// (Eigen's, or the BLAS that HYENA_BLAS chose, through EIGEN_USE_BLAS).
void BM_floor_gemm(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const matrix w_in = matrix::Random(Eigen::Index(3 * D), Eigen::Index(D)), w_out = matrix::Random(Eigen::Index(D), Eigen::Index(D));
  const matrix x = matrix::Random(Eigen::Index(D), Eigen::Index(L));
  const Eigen::Index rows = Eigen::Index(D), cols = Eigen::Index(L);
  matrix p(3 * rows, cols), y(rows, cols);
  const hyena::execution_context exec(g_threads);
  for (auto _ : state) {
    exec.for_each_tile(L, 256, 3 * D, 256, D, [&](index_t t0, index_t n, index_t c0, index_t m) {
      p.block(c0, t0, m, n).noalias() = w_in.middleRows(c0, m) * x.middleCols(t0, n);
    });
    exec.for_each_tile(L, 256, D, 256, D, [&](index_t t0, index_t n, index_t c0, index_t m) {
      y.block(c0, t0, m, n).noalias() = w_out.middleRows(c0, m) * x.middleCols(t0, n);
    });
    benchmark::DoNotOptimize(p.data());
    benchmark::DoNotOptimize(y.data());
  }
  hyena::bench::set_gflops(state, 8.0 * D * D * double(L));
}

// Serving throughput: the cached-filter layer on a batch of B sequences of
// 4K tokens (tokens/s counts all B*L).
void BM_layer_batch(benchmark::State& state) {
  const index_t B = index_t(state.range(0)), L = index_t(state.range(1));
  const auto op = hyena::bench::make_operator<T>(D, 2, L, g_threads, 1, 4);
  const auto u = hyena::bench::random_values(B * L * D, 2);
  std::vector<T> out(u.size());
  hyena::hyena_workspace<T> ws;
  op->forward(B, L, u, out, ws);
  for (auto _ : state) op->forward(B, L, u, out, ws);
  hyena::bench::set_tokens_and_workspace(state, double(B * L), double(ws.bytes() + op->prepared_filters(L)->bytes()));
}

void BM_floor_fft(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const auto fft = hyena::real_fft<T>::shared(hyena::causal_conv_fft_size(L), hyena::bench::planning());
  const unsigned threads = hyena::execution_context(g_threads).threads();
  std::vector<hyena::fft_real_buffer<T>> real(threads, hyena::fft_real_buffer<T>(fft->size(), T(0.5)));
  std::vector<hyena::fft_complex_buffer<T>> spec(threads, hyena::fft_complex_buffer<T>(fft->spectrum_size()));
  for (auto _ : state)
    hyena::execution_context(threads).parallel_for(D, [&](index_t r0, index_t r1, unsigned w) {
      for (index_t r = r0; r < r1; ++r) {
        fft->forward(real[w].data(), spec[w].data());
        fft->inverse(spec[w].data(), real[w].data());
      }
    });
}

void lengths(benchmark::internal::Benchmark* b) {
  // The warm-up lets the heap reach its working set first: without it a 64K
  // run of one or two iterations times the first touch of ~1 GiB of fresh
  // pages (see main) instead of the work.
  b->ArgNames({"L"})->Unit(benchmark::kMillisecond)->UseRealTime()->MinWarmUpTime(1.0);
  for (long L = 1024; L <= 65536; L *= 2) b->Arg(L);
}

BENCHMARK(BM_layer)->Apply(lengths);
BENCHMARK(BM_layer_recompute)->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 0)->Name("BM_stage_project_in")->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 1)->Name("BM_stage_short_conv")->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 2)->Name("BM_stage_filters")->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 5)->Name("BM_stage_filter_mlp")->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 3)->Name("BM_stage_mix")->Apply(lengths);
BENCHMARK_TEMPLATE(BM_stage, 4)->Name("BM_stage_project_out")->Apply(lengths);
BENCHMARK(BM_floor_gemm)->Apply(lengths);
BENCHMARK(BM_layer_batch)
    ->ArgNames({"B", "L"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinWarmUpTime(1.0)
    ->Args({1, 4096})
    ->Args({4, 4096})
    ->Args({16, 4096});
BENCHMARK(BM_floor_fft)->Apply(lengths);

class breakdown_reporter : public hyena::bench::timing_reporter {
 public:
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nOrder-2 Hyena layer, d_model %ld, batch 1, float32, %u threads, %s plans: times in ms (same run)\n",
                long(D), hyena::execution_context(g_threads).threads(), hyena::bench::planning_name());
    std::printf("%7s %9s %9s %9s | %10s %10s %9s %9s %10s | %9s %9s | %10s %9s %9s\n", "L", "layer", "gemm", "fft",
                "project_in", "short_conv", "mix", "filters", "project_out", "mix/fft", "layer/sum", "recompute",
                "mlp%", "filters%");
    for (const auto& args : arguments()) {
      if (args.rfind("L:", 0) != 0) continue;
      auto get = [&](const char* family) { return ms(family, args); };
      const double layer = get("BM_layer"), gemm = get("BM_floor_gemm"), fft = get("BM_floor_fft");
      const double recompute = get("BM_layer_recompute");
      std::printf("%7ld %9.2f %9.2f %9.2f | %10.2f %10.2f %9.2f %9.2f %10.2f | %9.3f %9.3f | %10.2f %8.1f%% %8.1f%%\n",
                  std::stol(args.substr(2)), layer, gemm, fft, get("BM_stage_project_in"), get("BM_stage_short_conv"),
                  get("BM_stage_mix"), get("BM_stage_filters"), get("BM_stage_project_out"), get("BM_stage_mix") / fft,
                  layer / (gemm + fft), recompute, 100.0 * get("BM_stage_filter_mlp") / recompute,
                  100.0 * get("BM_stage_filters") / recompute);
    }
    std::printf("\nBatch throughput at 4K (cached filters): tokens/s and time per sequence\n");
    for (const long B : {1L, 4L, 16L}) {
      const double t = ms("BM_layer_batch", "B:" + std::to_string(B) + "/L:4096");
      std::printf("  batch %2ld: %9.2f ms  %9.0f tokens/s  %7.2f ms per sequence\n", B, t, double(B) * 4096.0 / t * 1e3,
                  t / double(B));
    }
    std::printf("(layer/sum: the cached layer against bare GEMMs + bare FFTs. filters: preparing them anew, the\n"
                " MLP, window and spectra; mlp%%, filters%%: the MLP + window, and all of it, as shares of a forward\n"
                " that recomputes its filters. Cached filters cost nothing: the layer column.)\n");
  }
};

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Freed blocks stay in the heap for the next call instead of going back to
  // the OS (glibc returns blocks above 32 MiB with munmap): on this kind of
  // VM first-touching fresh pages costs ~0.5 ms/MiB, which would otherwise
  // dominate BM_layer_recompute (400 MiB of spectra at 64K). The PyTorch
  // script (pytorch_layer.py) gives torch the same setting.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
  hyena::bench::parse_planning(argc, argv);
  g_threads = hyena::bench::take_threads(argc, argv);
  std::vector<index_t> all;
  for (index_t L = 1024; L <= 65536; L *= 2) all.push_back(L);
  hyena::bench::preplan(all);
  breakdown_reporter reporter;
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
