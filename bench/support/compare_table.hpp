// Collects "BM_<op>/<level>/L:<n>/D:<d>" runs and, at the end, prints the
// Hyena-vs-attention tables and writes gnuplot data files.
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace hyena::bench {

struct run_key {
  std::string op, level;
  long length = 0, width = 0;
  bool operator<(const run_key& o) const {
    return std::tie(level, width, length, op) < std::tie(o.level, o.width, o.length, o.op);
  }
};

/// Parses "BM_hyena/core/L:1024/D:768[/real_time...]"; false if not of that form.
inline bool parse_run_name(const std::string& name, run_key& key) {
  if (name.rfind("BM_", 0) != 0) return false;
  std::vector<std::string> parts;
  std::size_t start = 3;
  while (start <= name.size()) {
    const auto slash = name.find('/', start);
    parts.push_back(name.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 4 || parts[2].rfind("L:", 0) != 0 || parts[3].rfind("D:", 0) != 0) return false;
  key.op = parts[0];
  key.level = parts[1];
  key.length = std::stol(parts[2].substr(2));
  key.width = std::stol(parts[3].substr(2));
  return true;
}

class compare_reporter : public benchmark::ConsoleReporter {
 public:
  compare_reporter(std::vector<std::string> ops, std::string out_dir, std::string title)
      : ops_(std::move(ops)), out_dir_(std::move(out_dir)), title_(std::move(title)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      run_key key;
      if (run.run_type != Run::RT_Iteration || run.error_occurred || !parse_run_name(run.benchmark_name(), key))
        continue;
      // Adjusted real time is in the run's time unit; store seconds.
      seconds_[key] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
      auto it = run.counters.find("workspace_bytes");
      if (it != run.counters.end()) bytes_[key] = it->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::set<std::pair<std::string, long>> tables;  // (level, width)
    for (const auto& [key, s] : seconds_) tables.insert({key.level, key.width});
    for (const auto& [level, width] : tables) print_table(level, width);
    std::fflush(stdout);
  }

 private:
  double lookup(const std::map<run_key, double>& m, const std::string& op, const std::string& level, long L,
                long D) const {
    auto it = m.find(run_key{op, level, L, D});
    return it == m.end() ? NAN : it->second;
  }

  void print_table(const std::string& level, long width) {
    std::set<long> lengths;
    for (const auto& [key, s] : seconds_)
      if (key.level == level && key.width == width) lengths.insert(key.length);
    std::printf("\n%s, level '%s' (d_model %ld), time per call in ms; memory = peak workspace MiB\n", title_.c_str(),
                level.c_str(), width);
    std::printf("%9s", "L");
    for (const auto& op : ops_) std::printf(" %11s", op.c_str());
    std::printf(" %13s %13s", "hyena/tiled", "hyena/softmax");
    for (const auto& op : ops_) std::printf(" %9s", (op + " MiB").c_str());
    std::printf("\n");
    const std::string file = out_dir_ + "/compare_" + level + "_d" + std::to_string(width) + ".dat";
    std::ofstream dat(file);
    dat << "# L";
    for (const auto& op : ops_) dat << " " << op << "_ms";
    dat << "\n";
    for (long L : lengths) {
      std::printf("%9ld", L);
      dat << L;
      for (const auto& op : ops_) {
        const double ms = lookup(seconds_, op, level, L, width) * 1e3;
        if (std::isnan(ms)) std::printf(" %11s", "-");
        else std::printf(" %11.2f", ms);
        dat << " " << (std::isnan(ms) ? std::string("NaN") : std::to_string(ms));
      }
      dat << "\n";
      const double hyena = lookup(seconds_, "hyena", level, L, width);
      for (const char* base : {"tiled", "softmax"}) {
        const double other = lookup(seconds_, base, level, L, width);
        if (std::isnan(other) || std::isnan(hyena)) std::printf(" %13s", "-");
        else std::printf(" %12.1fx", other / hyena);
      }
      for (const auto& op : ops_) {
        const double b = lookup(bytes_, op, level, L, width);
        if (std::isnan(b)) std::printf(" %9s", "-");
        else std::printf(" %9.1f", b / (1024.0 * 1024.0));
      }
      std::printf("\n");
    }
    std::printf("(speedup columns: attention time / Hyena time; data in %s)\n", file.c_str());
  }

  std::vector<std::string> ops_;
  std::string out_dir_, title_;
  std::map<run_key, double> seconds_, bytes_;
};

}  // namespace hyena::bench
