// The counters every benchmark reports the same way: tokens/s, GFLOP/s and
// the bytes of workspace a call needs beyond its inputs and outputs.
#pragma once

#include <benchmark/benchmark.h>

namespace hyena::bench {

/// tokens/s: `tokens` positions processed by each iteration, as a rate.
inline void set_tokens_per_second(benchmark::State& state, double tokens) {
  state.counters["tokens/s"] = benchmark::Counter(tokens * double(state.iterations()), benchmark::Counter::kIsRate);
}

/// tokens/s, and workspace_bytes (not a rate).
inline void set_tokens_and_workspace(benchmark::State& state, double tokens, double workspace_bytes) {
  set_tokens_per_second(state, tokens);
  state.counters["workspace_bytes"] = workspace_bytes;
}

/// GFLOP/s from the floating-point operations of one iteration.
inline void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace hyena::bench
