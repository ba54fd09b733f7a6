// Test helper: a call must throw std::invalid_argument naming the problem.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace hyena::test
