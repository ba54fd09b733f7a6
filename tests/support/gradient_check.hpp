// Test helpers: gradients by central finite differences, in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "numerics.hpp"

namespace hyena::test {

/// Step of the finite differences.
///
/// The five-point central difference
///   (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h
/// is off from f'(x) by truncation h^4 |f^(5)| / 30 plus rounding
/// ~ delta_f / h, where delta_f is the forward's own rounding of the loss
/// (FFTs and sums in double). The losses checked are sum(r ⊙ output) with r
/// in U(-1, 1) on a few hundred outputs. Measured on the order-4 operator's
/// decay rates, the worst case: the error falls as 1/h from h = 3e-5
/// (4.4e-8 relative) through 1e-4 (1.2e-8) and 3e-4 (5e-9) to 1e-3 (1.1e-9),
/// so rounding dominates throughout and truncation (~1e-12 h^4-scaled even
/// at 1e-3) does not show; the three-point difference, truncation h^2
/// |f'''| / 6, measured 6e-8 at h = 1e-5. Hence h = 1e-3: every check in
/// the suite then errs by at most ~1e-9 relative, gradient_tolerance is ~90x
/// above that, and a dropped, transposed or mis-signed term moves a
/// gradient by O(1) of its size: far beyond it.
constexpr double finite_difference_step = 1e-3;

/// Gradients are compared tensor by tensor: max |analytic - fd| / max |fd|.
constexpr double gradient_tolerance = 1e-7;

/// d loss / d params[i] for every i by the five-point difference above;
/// `params` is perturbed in place (loss() must read it) and restored exactly.
template <class Loss>
std::vector<double> finite_difference_gradient(std::vector<double>& params, Loss&& loss,
                                               double step = finite_difference_step) {
  std::vector<double> gradient(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const double saved = params[i];
    auto at = [&](double offset) {
      params[i] = saved + offset;
      return loss();
    };
    const double far_down = at(-2 * step), down = at(-step), up = at(step), far_up = at(2 * step);
    params[i] = saved;
    gradient[i] = (far_down - 8 * down + 8 * up - far_up) / (12 * step);
  }
  return gradient;
}

/// The elements a sampled check looks at: all of them up to `count`, else
/// `count` spread evenly over the tensor (first and last included).
inline std::vector<std::size_t> sampled_indices(std::size_t size, std::size_t count) {
  std::vector<std::size_t> out;
  if (size <= count) {
    for (std::size_t i = 0; i < size; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t k = 0; k < count; ++k) out.push_back(k * (size - 1) / (count - 1));
  return out;
}

/// finite_difference_gradient at `indices` only (for models with thousands
/// of weights: every tensor is still checked, at a spread of its elements).
template <class Loss>
std::vector<double> finite_difference_gradient_at(std::vector<double>& params, const std::vector<std::size_t>& indices,
                                                  Loss&& loss, double step = finite_difference_step) {
  std::vector<double> gradient;
  for (const std::size_t i : indices) {
    const double saved = params[i];
    auto at = [&](double offset) {
      params[i] = saved + offset;
      return loss();
    };
    const double far_down = at(-2 * step), down = at(-step), up = at(step), far_up = at(2 * step);
    params[i] = saved;
    gradient.push_back((far_down - 8 * down + 8 * up - far_up) / (12 * step));
  }
  return gradient;
}

/// analytic[indices], for comparing with finite_difference_gradient_at.
template <class A>
std::vector<double> gather(const A& analytic, const std::vector<std::size_t>& indices) {
  std::vector<double> out;
  for (const std::size_t i : indices) out.push_back(double(analytic[i]));
  return out;
}

/// sum_i r[i] * y[i] in long double: the scalar loss whose gradient
/// with respect to y is r.
template <class A, class B>
double dot(const A& r, const B& y) {
  long double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i) sum += static_cast<long double>(r[i]) * static_cast<long double>(y[i]);
  return static_cast<double>(sum);
}

/// EXPECT the analytic gradient within gradient_tolerance of the finite
/// differences, relative to the largest finite difference; an all-zero
/// finite difference must be matched by an all-zero gradient (to 1e-12).
template <class A>
void expect_gradient(const A& analytic, const std::vector<double>& numeric, const std::string& what) {
  ASSERT_EQ(analytic.size(), numeric.size()) << what;
  double scale = 0, worst = 0;
  for (std::size_t i = 0; i < numeric.size(); ++i) {
    scale = std::max(scale, std::fabs(numeric[i]));
    worst = std::max(worst, std::fabs(double(analytic[i]) - numeric[i]));
  }
  if (scale < 1e-12) {
    EXPECT_LE(worst, 1e-12) << what << ": finite differences are zero, the gradient is not";
    return;
  }
  expect_error_within(worst / scale, gradient_tolerance, what);
}

}  // namespace hyena::test
