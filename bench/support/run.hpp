// The end of every benchmark's main(): Google Benchmark's own flags, then
// every registered benchmark through the benchmark's reporter.
#pragma once

#include <benchmark/benchmark.h>

namespace hyena::bench {

/// Parses the --benchmark_* flags left in argv (take the benchmark's own
/// options out first), runs every registered benchmark with `reporter` on the
/// console (and any --benchmark_out file the flags ask for). Returns main's
/// exit status: 1 for an argument nobody recognised.
inline int run_benchmarks(int argc, char** argv, benchmark::BenchmarkReporter& reporter) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace hyena::bench
