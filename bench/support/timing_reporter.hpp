// A console reporter that also keeps every benchmark's time, for the tables
// the benchmarks print after their runs (stage shares, speedups).
//
// Times are wall-clock milliseconds per iteration, keyed by family
// ("BM_layer") and arguments ("L:1024/threads:2"). With --benchmark_repetitions=N a time is the median of the
// N repetitions (the framework's median aggregate when it reports one), so a
// slow first repetition (first touch of fresh pages) does not count.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hyena::bench {

class timing_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type != Run::RT_Iteration && !median) continue;
      const std::string& args = r.run_name.args;
      auto& t = times_[{r.run_name.function_name, args}];
      const double ms = r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e3;
      if (median) {
        t.median_ms = ms;
      } else {
        t.ms.push_back(ms);
      }
      // Arguments in registration order (the order of the instances), not
      // in the order a random interleaving ran them.
      const auto order = order_.find(args);
      if (order == order_.end() || r.per_family_instance_index < order->second)
        order_[args] = r.per_family_instance_index;
    }
  }

 protected:
  /// The time of `family` at `args`, in ms; NaN if it did not run.
  double ms(const std::string& family, const std::string& args) const {
    const auto it = times_.find({family, args});
    if (it == times_.end()) return NAN;
    if (!std::isnan(it->second.median_ms)) return it->second.median_ms;
    std::vector<double> v = it->second.ms;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  }

  /// Every argument string seen, in registration order.
  std::vector<std::string> arguments() const {
    std::vector<std::pair<std::int64_t, std::string>> v;
    for (const auto& [args, order] : order_) v.emplace_back(order, args);
    std::sort(v.begin(), v.end());
    std::vector<std::string> out;
    for (auto& e : v) out.push_back(std::move(e.second));
    return out;
  }

 private:
  struct timing {
    std::vector<double> ms;  // each repetition
    double median_ms = NAN;  // the framework's median aggregate, if any
  };
  std::map<std::pair<std::string, std::string>, timing> times_;
  std::map<std::string, std::int64_t> order_;
};

}  // namespace hyena::bench
