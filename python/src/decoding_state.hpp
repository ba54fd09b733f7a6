// python/src/decoding_state.hpp: a decoding state as Python sees it: float or
// double, owned together with the object that made it (which it keeps alive),
// and used by one call at a time.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace hyena::python {

/// State<float> or State<double>, made by an Owner (operator or model).
template <template <class> class State, class Owner>
struct decoding_state {
  std::shared_ptr<Owner> owner;
  std::variant<std::unique_ptr<State<float>>, std::unique_ptr<State<double>>> state;
  std::mutex busy;

  template <class Fn>
  auto visit(Fn&& fn) const {
    return std::visit([&](const auto& s) { return fn(*s); }, state);
  }

  /// Locks the state for one call: a second thread using it meanwhile gets
  /// a RuntimeError rather than a data race.
  std::unique_lock<std::mutex> claim() {
    std::unique_lock<std::mutex> lock(busy, std::try_to_lock);
    if (!lock.owns_lock())
      throw std::runtime_error("state: in use by another thread (a decoding state serves one call at a time)");
    return lock;
  }

  /// fn(state) under the lock, for what a call changes (position, bytes).
  template <class Fn>
  auto read(Fn&& fn) {
    const auto lock = claim();
    return visit(std::forward<Fn>(fn));
  }

  /// The state as State<T>, after checking that `caller` made it.
  template <class T>
  State<T>& of(const Owner* caller, const char* made_by) {
    if (owner.get() != caller) throw pybind11::value_error(std::string("state: made by another ") + made_by);
    return *std::get<std::unique_ptr<State<T>>>(state);
  }
};

}  // namespace hyena::python
