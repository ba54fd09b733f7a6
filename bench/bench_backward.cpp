// Forward and backward of the order-2 Hyena layer (d_model 768, batch 1,
// float32), side by side in one run, 1K to 64K tokens.
//
//   BM_forward/L:n             forward, filters cached (inference)
//   BM_forward_recompute/L:n   forward, filters made anew (a training step: the weights changed)
//   BM_forward_store/L:n       forward_for_backward: the forward keeping its activations
//   BM_backward/L:n            hyena_backward, recompute mode: the forward run again inside,
//                              every gradient, the filters' through the implicit MLP
//   BM_backward_store/L:n      hyena_backward, store mode: from forward_for_backward's activations
//
// The table after the run gives backward / forward for both modes, and
// each mode's peak working memory beside the weights and gradients.
#include <hyena/core/execution.hpp>
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/operator/hyena_operator_backward.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <limits>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/arguments.hpp"
#include "support/machine.hpp"
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
std::map<index_t, double> g_recompute_bytes, g_store_bytes;

struct layer_case {
  layer_case(index_t L, index_t cache)
      : op(hyena::bench::make_operator<T>(D, 2, L, g_threads, 1, cache)),
        u(hyena::bench::random_values(L * D, 2)),
        dout(hyena::bench::random_values(L * D, 3)),
        out(u.size()),
        du(u.size()),
        grads(hyena::zero_gradients(op->weights())) {}
  std::unique_ptr<hyena::hyena_operator<T>> op;
  std::vector<T> u, dout, out, du;
  hyena::hyena_weights<T> grads;
  hyena::hyena_workspace<T> ws;
  hyena::hyena_backward_workspace<T> backward_ws;
  hyena::hyena_activations<T> saved;
};

void BM_forward(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  for (auto _ : state) layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  state.counters["tokens/s"] = benchmark::Counter(double(L), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_forward_recompute(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 1);
  for (auto _ : state) {
    state.PauseTiming();
    (void)layer.op->prepared_filters(L - 1);  // evict L's filters from the one-entry cache
    state.ResumeTiming();
    layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(L), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_forward_store(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  hyena::forward_for_backward<T>(*layer.op, 1, L, layer.u, layer.out, layer.saved, layer.backward_ws);
  for (auto _ : state) hyena::forward_for_backward<T>(*layer.op, 1, L, layer.u, layer.out, layer.saved, layer.backward_ws);
  state.counters["tokens/s"] = benchmark::Counter(double(L), benchmark::Counter::kIsIterationInvariantRate);
}

// The training step's forward made the filters: both backwards find them cached.
void BM_backward(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  layer.op->forward(1, L, layer.u, layer.out, layer.ws);
  // One call untimed, as in every benchmark here: the workspace's first
  // touch is not the steady state of a training loop (Google Benchmark makes
  // a new layer_case, hence a new workspace, for every run, and at long L a
  // run is a single iteration).
  hyena::hyena_backward<T>(*layer.op, 1, L, layer.u, layer.dout, layer.du, layer.grads, layer.backward_ws);
  for (auto _ : state)
    hyena::hyena_backward<T>(*layer.op, 1, L, layer.u, layer.dout, layer.du, layer.grads, layer.backward_ws);
  state.counters["tokens/s"] = benchmark::Counter(double(L), benchmark::Counter::kIsIterationInvariantRate);
  g_recompute_bytes[L] = double(layer.backward_ws.bytes() + layer.op->prepared_filters(L)->bytes());
}

void BM_backward_store(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  layer_case layer(L, 4);
  hyena::forward_for_backward<T>(*layer.op, 1, L, layer.u, layer.out, layer.saved, layer.backward_ws);
  hyena::hyena_backward<T>(*layer.op, layer.saved, layer.u, layer.dout, layer.du, layer.grads, layer.backward_ws);
  for (auto _ : state)
    hyena::hyena_backward<T>(*layer.op, layer.saved, layer.u, layer.dout, layer.du, layer.grads, layer.backward_ws);
  state.counters["tokens/s"] = benchmark::Counter(double(L), benchmark::Counter::kIsIterationInvariantRate);
  g_store_bytes[L] =
      double(layer.backward_ws.bytes() + layer.saved.bytes() + layer.op->prepared_filters(L)->bytes());
}

void lengths(benchmark::internal::Benchmark* b) {
  b->ArgNames({"L"})->Unit(benchmark::kMillisecond)->UseRealTime()->MinWarmUpTime(0.5);
  for (long L = 1024; L <= 65536; L *= 2) b->Arg(L);
}

BENCHMARK(BM_forward)->Apply(lengths);
BENCHMARK(BM_forward_recompute)->Apply(lengths);
BENCHMARK(BM_forward_store)->Apply(lengths);
BENCHMARK(BM_backward)->Apply(lengths);
BENCHMARK(BM_backward_store)->Apply(lengths);

class ratio_table : public hyena::bench::timing_reporter {
 public:
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nOrder-2 Hyena layer, d_model %ld, batch 1, float32, %u threads, %s plans, on %s: ms (same run)\n",
                long(D), hyena::execution_context(g_threads).threads(), hyena::bench::planning_name(),
                hyena::bench::machine_description().c_str());
    std::printf("%7s %9s %9s %9s | %9s %9s | %9s %9s %9s | %9s %9s\n", "L", "forward", "fwd+filt", "fwd_store",
                "bwd", "bwd_store", "bwd/fwd", "store/fwd", "store/f+f", "MiB recomp", "MiB store");
    for (const auto& args : arguments()) {
      if (args.rfind("L:", 0) != 0) continue;
      const index_t L = std::stol(args.substr(2));
      const double forward = ms("BM_forward", args), recompute = ms("BM_forward_recompute", args),
                   forward_store = ms("BM_forward_store", args), backward = ms("BM_backward", args),
                   backward_store = ms("BM_backward_store", args);
      std::printf("%7ld %9.2f %9.2f %9.2f | %9.2f %9.2f | %9.2f %9.2f %9.2f | %9.1f %9.1f\n", long(L), forward,
                  recompute, forward_store, backward, backward_store, backward / forward, backward_store / forward,
                  backward_store / recompute, g_recompute_bytes[L] / 1048576.0, g_store_bytes[L] / 1048576.0);
    }
    std::printf("(forward: filters cached; fwd+filt: filters made anew, as in a training step whose weights changed;\n"
                " fwd_store: forward_for_backward, filters cached. bwd: recompute mode, bwd_store: store mode, both\n"
                " with the filters the step's forward made. MiB: peak working memory of each mode (workspaces,\n"
                " prepared filters, stored activations), weights and gradients not counted.)\n");
  }
};

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Keep freed blocks in the heap (see bench_layer.cpp): first touch of
  // fresh pages would otherwise dominate the recomputing runs.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
  hyena::bench::parse_planning(argc, argv);
  g_threads = hyena::bench::take_threads(argc, argv);
  std::vector<index_t> all;
  for (index_t L = 1024; L <= 65536; L *= 2) all.push_back(L);
  hyena::bench::preplan(all);
  ratio_table reporter;
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
