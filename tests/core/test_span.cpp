// core/span.hpp: the view every kernel takes: construction from pointers,
// vectors and other spans, const conversion, subspans, and span_arg.
#include <hyena/core/span.hpp>

#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

namespace {

using hyena::span;

// Takes span_arg<T>: T is fixed by the other argument, so a vector converts.
template <class T>
T first_plus(T x, hyena::span_arg<const T> values) {
  return x + values[0];
}

TEST(Span, ViewsVectorsPointersAndOtherSpans) {
  std::vector<int> v = {1, 2, 3, 4, 5};
  const span<int> s(v);
  EXPECT_EQ(s.data(), v.data());
  EXPECT_EQ(s.size(), 5u);
  EXPECT_FALSE(s.empty());
  s[1] = 20;  // writes through
  EXPECT_EQ(v[1], 20);
  int sum = 0;
  for (int x : s) sum += x;
  EXPECT_EQ(sum, 1 + 20 + 3 + 4 + 5);

  const span<const int> c = s;  // const conversion
  EXPECT_EQ(c.data(), v.data());
  const std::vector<int>& cv = v;
  EXPECT_EQ(span<const int>(cv).size(), 5u);
  static_assert(!std::is_convertible_v<span<const int>, span<int>>, "no conversion drops const");
  static_assert(!std::is_convertible_v<const std::vector<int>&, span<int>>, "nor from a const vector");

  const auto sub = s.subspan(1, 3);
  EXPECT_EQ(sub.data(), v.data() + 1);
  EXPECT_EQ(sub.size(), 3u);
  EXPECT_EQ(sub[2], 4);

  const span<double> empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(span<int>(v.data() + 2, 2).end(), v.data() + 4);
}

TEST(Span, DeductionAndSpanArg) {
  std::vector<float> v = {1.5f, 2.0f};
  const std::vector<float>& cv = v;
  static_assert(std::is_same_v<decltype(span(v)), span<float>>);
  static_assert(std::is_same_v<decltype(span(cv)), span<const float>>);
  EXPECT_EQ(first_plus(1.0f, v), 2.5f);
}

}  // namespace
