// FFT planning for the benchmarks: FFTW_MEASURE by default, every plan made
// once per size before any timing and kept alive, as a long-running program
// (or one that imports wisdom) has them. `--planning estimate` measures with
// the library's default plans instead.
#pragma once

#include <hyena/fft/plan.hpp>
#include <hyena/fft/size.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "arguments.hpp"

namespace hyena::bench {

inline fft_planning& planning() {
  static fft_planning p = fft_planning::measure;
  return p;
}

/// Takes `--planning estimate|measure|patient` out of argv (before Google
/// Benchmark sees it); throws std::invalid_argument on another value.
inline void parse_planning(int& argc, char** argv) {
  const auto v = take_option(argc, argv, "--planning");
  if (!v) return;
  if (*v == "estimate") planning() = fft_planning::estimate;
  else if (*v == "measure") planning() = fft_planning::measure;
  else if (*v == "patient") planning() = fft_planning::patient;
  else throw std::invalid_argument("--planning: expected estimate, measure or patient, got " + *v);
}

/// Makes the float plans of causal convolutions of these lengths now and
/// keeps them for the life of the process.
inline void preplan(const std::vector<index_t>& lengths) {
  static std::vector<std::shared_ptr<const real_fft<float>>> keep;
  for (index_t L : lengths) keep.push_back(real_fft<float>::shared(causal_conv_fft_size(L), planning()));
}

inline const char* planning_name() {
  switch (planning()) {
    case fft_planning::estimate: return "FFTW_ESTIMATE";
    case fft_planning::measure: return "FFTW_MEASURE";
    default: return "FFTW_PATIENT";
  }
}

}  // namespace hyena::bench
