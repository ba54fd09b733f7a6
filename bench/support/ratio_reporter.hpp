// A Google Benchmark reporter that also prints ratios between benchmarks of
// the same run: for each run "BM_<a>/<args>" with a partner "BM_<b>/<args>",
// time(a) / time(b). Ratios come from one process, one machine state.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hyena::bench {

class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  /// Each pair: (numerator prefix, denominator prefix, label), e.g. ("BM_fft_conv/", "BM_fft_floor/", "conv / FFT floor").
  struct pair {
    std::string numerator, denominator, label;
  };
  explicit ratio_reporter(std::vector<pair> pairs) : pairs_(std::move(pairs)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Iteration && !run.error_occurred)
        seconds_[run.benchmark_name()] = run.GetAdjustedRealTime();
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    for (const auto& p : pairs_) {
      bool header = false;
      for (const auto& [name, time] : seconds_) {
        if (name.rfind(p.numerator, 0) != 0) continue;
        const std::string args = name.substr(p.numerator.size());
        const auto partner = seconds_.find(p.denominator + args);
        if (partner == seconds_.end()) continue;
        if (!header) {
          std::printf("\n%s (same run):\n", p.label.c_str());
          header = true;
        }
        std::printf("  %-40s %8.3f\n", args.c_str(), time / partner->second);
      }
    }
    std::fflush(stdout);
  }

 private:
  std::vector<pair> pairs_;
  std::map<std::string, double> seconds_;
};

/// main() body: run every benchmark with the ratio reporter on the console
/// (and any --benchmark_out file reporter the flags ask for).
inline int run_with_ratios(int argc, char** argv, std::vector<ratio_reporter::pair> pairs) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter(std::move(pairs));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace hyena::bench
