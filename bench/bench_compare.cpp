// The main job: Hyena against attention, side by side, in one run.
//
//   bench_compare [--full] [--threads N] [--out DIR] [--planning estimate|measure|patient] [google benchmark flags]
//
// Two levels: the mixer core (Hyena: filters prepared, gating + FFT
// convolutions; attention: given Q, K, V) and the full layer with its
// projections. d_model 768, 12 heads of 64, batch 1, float32, every
// hardware thread unless --threads says otherwise. Hyena, linear and local
// attention run L = 256 .. 64K; softmax and tiled attention stop at 16K
// (--full: 64K for tiled, and softmax as far as its L x L scores fit in
// memory); Hyena also runs 128K .. 1M at d_model 256.
// Names: BM_<op>/<level>/L:<n>/D:<d>; counters tokens/s and workspace_bytes.
#include <hyena/baselines/attention_layer.hpp>
#include <hyena/baselines/linear_attention.hpp>
#include <hyena/baselines/local_attention.hpp>
#include <hyena/baselines/softmax_attention.hpp>
#include <hyena/baselines/tiled_attention.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/arguments.hpp"
#include "support/compare_table.hpp"
#include "support/counters.hpp"
#include "support/operators.hpp"
#include "support/planning.hpp"
#include "support/random.hpp"
#include "support/run.hpp"

namespace {

using hyena::index_t;
using hyena::bench::random_values;
using T = float;

constexpr index_t d_model = 768, heads = 12, head_dim = 64, local_window = 512;
unsigned g_threads = 0;

// Hyena's mixer core: v = x_0 ⊙ (k * (v ⊙ x_1) + D ⊙ v ⊙ x_1) on prepared filters.
void hyena_core(benchmark::State& state, index_t width, index_t length) {
  const auto op = hyena::bench::make_operator<T>(width, 2, length, g_threads, 7);
  const auto filters = op->prepared_filters(length);
  auto streams = random_values(3 * width * length, 1);
  const std::vector<T> v_saved(streams.begin() + 2 * width * length, streams.end());
  hyena::fft_conv_workspace<T> ws;
  for (auto _ : state) {
    op->mix(*filters, streams, ws);
    state.PauseTiming();  // mix overwrote v: restore it so every iteration sees the same data
    std::copy(v_saved.begin(), v_saved.end(), streams.begin() + 2 * width * length);
    state.ResumeTiming();
  }
  hyena::bench::set_tokens_and_workspace(state, double(length), double(ws.bytes() + filters->bytes()));
}

void hyena_layer(benchmark::State& state, index_t width, index_t length) {
  const auto op = hyena::bench::make_operator<T>(width, 2, length, g_threads, 7);
  const auto u = random_values(length * width, 2);
  std::vector<T> out(u.size());
  hyena::hyena_workspace<T> ws;
  op->forward(1, length, u, out, ws);  // prepares and caches the filters, sizes the workspace
  for (auto _ : state) {
    op->forward(1, length, u, out, ws);
    benchmark::DoNotOptimize(out.data());
  }
  hyena::bench::set_tokens_and_workspace(state, double(length),
                                         double(ws.bytes() + op->prepared_filters(length)->bytes()));
}

template <class Core>
void attention_core(benchmark::State& state, Core core, index_t length) {
  core.set_execution(g_threads);
  const hyena::attention_shape shape{1, heads, length, head_dim};
  const auto q = random_values(shape.elements(), 3), k = random_values(shape.elements(), 4),
             v = random_values(shape.elements(), 5);
  std::vector<T> o(shape.elements());
  hyena::attention_workspace<T> ws;
  for (auto _ : state) {
    core.apply(shape, q, k, v, o, ws);
    benchmark::DoNotOptimize(o.data());
  }
  hyena::bench::set_tokens_and_workspace(state, double(length), double(ws.bytes()));
}

template <class Core>
void attention_layer(benchmark::State& state, Core core, index_t length) {
  core.set_execution(g_threads);
  const index_t D = d_model;
  const double bound = 1.0 / std::sqrt(double(D));
  const auto wqkv = random_values(3 * D * D, 6, bound), bqkv = random_values(3 * D, 7, bound),
             wo = random_values(D * D, 8, bound), bo = random_values(D, 9, bound);
  hyena::attention_layer<Core> layer(D, heads, wqkv, bqkv, wo, bo, core);
  layer.set_execution(g_threads);
  const auto x = random_values(length * D, 10);
  std::vector<T> y(x.size());
  hyena::attention_workspace<T> ws;
  for (auto _ : state) {
    layer.apply(1, length, x, y, ws);
    benchmark::DoNotOptimize(y.data());
  }
  hyena::bench::set_tokens_and_workspace(state, double(length), double(ws.bytes()));
}

std::string name(const char* op, const char* level, index_t length, index_t width) {
  return std::string("BM_") + op + "/" + level + "/L:" + std::to_string(length) + "/D:" + std::to_string(width);
}

double physical_memory_bytes() {
  return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

void register_all(bool full) {
  const index_t attention_limit = full ? 65536 : 16384;
  const unsigned threads = hyena::execution_context(g_threads).threads();
  auto reg = [](const std::string& n, auto&& fn) {
    benchmark::RegisterBenchmark(n.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
  };
  for (const char* level : {"core", "layer"}) {
    const bool core = std::strcmp(level, "core") == 0;
    for (index_t L = 256; L <= 65536; L *= 2) {
      reg(name("hyena", level, L, d_model), [=](benchmark::State& s) {
        core ? hyena_core(s, d_model, L) : hyena_layer(s, d_model, L);
      });
      if (L <= attention_limit)
        reg(name("tiled", level, L, d_model), [=](benchmark::State& s) {
          core ? attention_core(s, hyena::tiled_attention<T>(), L) : attention_layer(s, hyena::tiled_attention<T>(), L);
        });
      // The naive one keeps one L x L score matrix per worker thread; stop
      // where those would take more than half of the machine's memory.
      const double scores = double(threads) * double(L) * double(L) * sizeof(T);
      if (L <= attention_limit && scores < 0.5 * physical_memory_bytes())
        reg(name("softmax", level, L, d_model), [=](benchmark::State& s) {
          core ? attention_core(s, hyena::softmax_attention<T>(), L)
               : attention_layer(s, hyena::softmax_attention<T>(), L);
        });
      reg(name("linear", level, L, d_model), [=](benchmark::State& s) {
        core ? attention_core(s, hyena::linear_attention<T>(), L) : attention_layer(s, hyena::linear_attention<T>(), L);
      });
      reg(name("local", level, L, d_model), [=](benchmark::State& s) {
        core ? attention_core(s, hyena::local_attention<T>(local_window), L)
             : attention_layer(s, hyena::local_attention<T>(local_window), L);
      });
    }
    // Hyena alone at a million tokens, at d_model 256.
    for (index_t L = 131072; L <= 1048576; L *= 2)
      reg(name("hyena", level, L, 256), [=](benchmark::State& s) {
        core ? hyena_core(s, 256, L) : hyena_layer(s, 256, L);
      });
  }
}

}  // namespace

int main(int argc, char** argv) {
  hyena::bench::parse_planning(argc, argv);
  g_threads = hyena::bench::take_threads(argc, argv);
  const bool full = hyena::bench::take_flag(argc, argv, "--full");
  const std::string out_dir = hyena::bench::take_option(argc, argv, "--out").value_or("out");
  std::filesystem::create_directories(out_dir);
  register_all(full);
  const std::string title = "Hyena vs attention, batch 1, float32, " +
                            std::to_string(hyena::execution_context(g_threads).threads()) + " threads, " +
                            std::to_string(heads) + " heads x " + std::to_string(head_dim) +
                            ", local window " + std::to_string(local_window) + ", Hyena FFTs " +
                            hyena::bench::planning_name();
  hyena::bench::compare_reporter reporter({"hyena", "tiled", "softmax", "linear", "local"}, out_dir, title);
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
