// A Google Benchmark reporter that also prints ratios between benchmarks of
// the same run: for each run "BM_<a>/<args>" with a partner "BM_<b>/<args>",
// time(a) / time(b). Ratios come from one process, one machine state. With
// --benchmark_repetitions=N each time is the median of the N repetitions
// (add --benchmark_enable_random_interleaving=true to spread slow phases of
// a noisy machine over both sides).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "run.hpp"

namespace hyena::bench {

class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  /// Each pair: (numerator prefix, denominator prefix, label), e.g. ("BM_fft_conv/", "BM_fft_floor/", "conv / FFT floor"),
  /// and optionally a second denominator prefix whose time adds to the first: num / (den + plus).
  struct pair {
    std::string numerator, denominator, label, plus = {};
  };
  explicit ratio_reporter(std::vector<pair> pairs) : pairs_(std::move(pairs)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        auto& entry = runs_[run.benchmark_name()];
        entry.instance = run.per_family_instance_index;
        entry.seconds.push_back(run.GetAdjustedRealTime());
      }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    for (const auto& p : pairs_) {
      bool header = false;
      // In registration order (the order of the arguments), whatever order
      // random interleaving ran them in.
      std::vector<std::string> names;
      for (const auto& entry : runs_) names.push_back(entry.first);
      std::sort(names.begin(), names.end(),
                [&](const std::string& a, const std::string& b) { return runs_.at(a).instance < runs_.at(b).instance; });
      for (const auto& name : names) {
        if (name.rfind(p.numerator, 0) != 0) continue;
        const std::string args = name.substr(p.numerator.size());
        const auto partner = runs_.find(p.denominator + args);
        if (partner == runs_.end()) continue;
        double denominator = median(partner->second.seconds);
        if (!p.plus.empty()) {
          const auto extra = runs_.find(p.plus + args);
          if (extra == runs_.end()) continue;
          denominator += median(extra->second.seconds);
        }
        if (!header) {
          std::printf("\n%s (same run):\n", p.label.c_str());
          header = true;
        }
        std::printf("  %-40s %8.3f\n", args.c_str(), median(runs_.at(name).seconds) / denominator);
      }
    }
    std::fflush(stdout);
  }

 private:
  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  }
  std::vector<pair> pairs_;
  struct timings {
    int64_t instance = 0;  // position among its family's registered arguments
    std::vector<double> seconds;
  };
  std::map<std::string, timings> runs_;
};

/// main() body: run every benchmark with the ratio reporter on the console
/// (and any --benchmark_out file reporter the flags ask for).
inline int run_with_ratios(int argc, char** argv, std::vector<ratio_reporter::pair> pairs) {
  ratio_reporter reporter(std::move(pairs));
  return run_benchmarks(argc, argv, reporter);
}

}  // namespace hyena::bench
