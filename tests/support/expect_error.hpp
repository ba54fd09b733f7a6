// Test helpers: a call must throw std::invalid_argument (or another given
// exception type) naming the problem.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace hyena::test {

/// Expects f() to throw std::invalid_argument whose message contains every fragment.
template <class F>
void expect_invalid(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const char* frag : fragments) EXPECT_NE(what.find(frag), std::string::npos) << what;
  }
}

/// Expects f() to throw an E whose message contains every fragment, and
/// returns the message; records a failure and returns "" if f() returns or
/// throws another std::exception.
template <class E, class F>
std::string expect_thrown(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
  } catch (const E& e) {
    const std::string what = e.what();
    for (const char* frag : fragments)
      EXPECT_NE(what.find(frag), std::string::npos) << "missing \"" << frag << "\" in: " << what;
    return what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception";
  return {};
}

}  // namespace hyena::test
