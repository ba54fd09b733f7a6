// Hyena operators for the benchmarks: random weights of a given shape from a
// fixed seed, FFTs planned as the benchmarks plan them (planning.hpp), and
// the execution context they run on.
#pragma once

#include <hyena/core/execution.hpp>
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/operator/weights.hpp>

#include <cstdint>
#include <memory>

#include "planning.hpp"

namespace hyena::bench {

/// An order-`order` operator of width `d_model` for inputs up to
/// `max_length`, with `random_hyena_weights(seed)`. hyena_operator holds the
/// mutex of its filter cache and cannot move, so it comes behind a pointer.
template <class T>
std::unique_ptr<hyena_operator<T>> make_operator(index_t d_model, index_t order, index_t max_length,
                                                 execution_context execution, std::uint64_t seed,
                                                 index_t filter_cache_capacity = hyena_options{}.filter_cache_capacity) {
  hyena_config config;
  config.d_model = d_model;
  config.order = order;
  config.max_length = max_length;
  hyena_options options;
  options.planning = planning();
  options.filter_cache_capacity = filter_cache_capacity;
  auto op = std::make_unique<hyena_operator<T>>(random_hyena_weights<T>(config, seed), options);
  op->set_execution(execution);
  return op;
}

}  // namespace hyena::bench
