// Benchmark inputs: uniform random values from a fixed seed, so every run,
// and every benchmark of a run, times the same data.
#pragma once

#include <hyena/core/config.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace hyena::bench {

/// n values uniform in (-scale, scale), the same for the same seed.
template <class T = float>
std::vector<T> random_values(index_t n, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<T> dist(T(-scale), T(scale));
  std::vector<T> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

}  // namespace hyena::bench
