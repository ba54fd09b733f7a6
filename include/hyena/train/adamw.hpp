// hyena/train/adamw.hpp: the AdamW optimizer, gradient clipping by global
// norm and a warm-up + cosine learning-rate schedule, as torch.optim.AdamW,
// torch.nn.utils.clip_grad_norm_ and the usual warm-up + cosine decay define
// them, on any list of named parameter tensors (train/trainable_parameters.hpp
// lists an operator's or a language model's under their state_dict keys).
//
// One AdamW step at step t = 1, 2, ... with gradient g:
//   p <- p - lr * weight_decay * p                        (decoupled decay)
//   m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2
//   p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// torch.optim.AdamW's hyperparameters and defaults (the learning rate is
/// given to each step, so a schedule can drive it).
struct adamw_options {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

/// A parameter tensor and its gradient, named for messages and checkpoints.
template <class T>
struct named_parameter {
  std::string name;
  std::vector<T>* value;
  std::vector<T>* gradient;
};

/// sqrt(sum of every gradient's squares), accumulated in double.
template <class T>
double global_gradient_norm(const std::vector<named_parameter<T>>& parameters) {
  double sum = 0;
  for (const auto& p : parameters)
    for (const T g : *p.gradient) sum += double(g) * double(g);
  return std::sqrt(sum);
}

/// torch.nn.utils.clip_grad_norm_: when the global norm exceeds max_norm,
/// scales every gradient by max_norm / (norm + 1e-6). Returns the norm
/// before clipping. Throws std::invalid_argument for max_norm <= 0 and for
/// a non-finite norm (naming the first tensor with a non-finite gradient):
/// a step on it would turn every weight into NaN.
template <class T>
double clip_gradient_norm(const std::vector<named_parameter<T>>& parameters, double max_norm) {
  if (!(max_norm > 0)) detail::throw_invalid("hyena::clip_gradient_norm: max_norm must be > 0, got ", max_norm);
  const double norm = global_gradient_norm(parameters);
  if (!std::isfinite(norm)) {
    for (const auto& p : parameters) {
      const index_t i = detail::first_non_finite(*p.gradient);
      if (i != p.gradient->size())
        detail::throw_invalid("hyena::clip_gradient_norm: the gradient of ", p.name, "[", i, "] = ", (*p.gradient)[i],
                              " is not finite");
    }
    detail::throw_invalid("hyena::clip_gradient_norm: the gradients' norm overflows");
  }
  if (norm > max_norm) {
    const T scale = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& p : parameters)
      for (T& g : *p.gradient) g *= scale;
  }
  return norm;
}

/// Linear warm-up from 0 to peak over `warmup` steps, then cosine decay to
/// `floor` at step `total` (and `floor` after). step counts from 0.
inline double warmup_cosine_learning_rate(index_t step, index_t warmup, index_t total, double peak,
                                          double floor = 0.0) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  if (step >= total || total <= warmup) return floor;
  const double progress = double(step - warmup) / double(total - warmup);
  return floor + 0.5 * (peak - floor) * (1.0 + std::cos(3.14159265358979323846 * progress));
}

/// AdamW's state: a first and second moment per parameter element, made on
/// the first step for the list it is given; every later step must be given
/// tensors of the same names and sizes in the same order.
template <class T>
class adamw {
 public:
  explicit adamw(adamw_options options = {}) : options_(options) {
    if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1))
      detail::throw_invalid("hyena::adamw: beta1 and beta2 must be in [0, 1), got ", options.beta1, " and ",
                            options.beta2);
    if (!(options.eps > 0)) detail::throw_invalid("hyena::adamw: eps must be > 0, got ", options.eps);
    if (!(options.weight_decay >= 0))
      detail::throw_invalid("hyena::adamw: weight_decay must be >= 0, got ", options.weight_decay);
  }

  const adamw_options& options() const noexcept { return options_; }
  /// Steps taken (t after the last step).
  index_t steps() const noexcept { return steps_; }

  /// One step of every parameter with its gradient at `learning_rate`.
  /// Throws std::invalid_argument, changing nothing, for a negative or
  /// non-finite learning rate, a list that differs from the first step's
  /// (names or sizes), or a non-finite gradient (naming the tensor and index).
  void step(const std::vector<named_parameter<T>>& parameters, double learning_rate) {
    if (!(learning_rate >= 0) || !std::isfinite(learning_rate))
      detail::throw_invalid("hyena::adamw::step: learning_rate must be finite and >= 0, got ", learning_rate);
    if (steps_ == 0) {
      names_.clear();
      first_.clear();
      second_.clear();
      for (const auto& p : parameters) {
        names_.push_back(p.name);
        first_.emplace_back(p.value->size(), T(0));
        second_.emplace_back(p.value->size(), T(0));
      }
    }
    if (parameters.size() != names_.size())
      detail::throw_invalid("hyena::adamw::step: ", parameters.size(), " parameters, the optimizer's state has ",
                            names_.size());
    for (index_t i = 0; i < parameters.size(); ++i) {
      const auto& p = parameters[i];
      if (p.name != names_[i] || p.value->size() != first_[i].size() || p.gradient->size() != first_[i].size())
        detail::throw_invalid("hyena::adamw::step: parameter ", i, " is ", p.name, " of ", p.value->size(),
                              " elements (gradient ", p.gradient->size(), "), the optimizer's state has ", names_[i],
                              " of ", first_[i].size());
      const index_t bad = detail::first_non_finite(*p.gradient);
      if (bad != p.gradient->size())
        detail::throw_invalid("hyena::adamw::step: the gradient of ", p.name, "[", bad, "] = ", (*p.gradient)[bad],
                              " is not finite");
    }
    ++steps_;
    const double b1 = options_.beta1, b2 = options_.beta2;
    const double correction1 = 1 - std::pow(b1, double(steps_)), correction2 = 1 - std::pow(b2, double(steps_));
    const double decay = 1 - learning_rate * options_.weight_decay;
    for (index_t i = 0; i < parameters.size(); ++i) {
      std::vector<T>& value = *parameters[i].value;
      const std::vector<T>& gradient = *parameters[i].gradient;
      std::vector<T>& m = first_[i];
      std::vector<T>& v = second_[i];
      for (index_t j = 0; j < value.size(); ++j) {
        const double g = double(gradient[j]);
        const double mj = b1 * double(m[j]) + (1 - b1) * g, vj = b2 * double(v[j]) + (1 - b2) * g * g;
        m[j] = static_cast<T>(mj);
        v[j] = static_cast<T>(vj);
        const double update = (mj / correction1) / (std::sqrt(vj / correction2) + options_.eps);
        value[j] = static_cast<T>(double(value[j]) * decay - learning_rate * update);
      }
    }
  }

  /// The parameters' names as the first step listed them (empty before it).
  const std::vector<std::string>& names() const noexcept { return names_; }
  /// The moments of parameter i (as the step that made them listed it), for checkpoints.
  const std::vector<T>& first_moment(index_t i) const { return first_.at(i); }
  const std::vector<T>& second_moment(index_t i) const { return second_.at(i); }

  /// Resumes from a checkpoint: the optimizer continues as if it had taken
  /// `steps` steps over parameters of these names with these moments (steps
  /// 0: no moments, the next step starts afresh). Throws
  /// std::invalid_argument, changing nothing, for lists of different
  /// lengths, moments of different sizes, a non-finite moment or a negative
  /// second moment.
  void restore(index_t steps, std::vector<std::string> names, std::vector<std::vector<T>> first,
               std::vector<std::vector<T>> second) {
    if (steps == 0 && !names.empty())
      detail::throw_invalid("hyena::adamw::restore: moments for ", names.size(), " parameters at step 0");
    if (first.size() != names.size() || second.size() != names.size())
      detail::throw_invalid("hyena::adamw::restore: ", names.size(), " names, ", first.size(), " first and ",
                            second.size(), " second moments");
    for (index_t i = 0; i < names.size(); ++i) {
      if (first[i].size() != second[i].size())
        detail::throw_invalid("hyena::adamw::restore: ", names[i], " has ", first[i].size(), " first and ",
                              second[i].size(), " second moments");
      for (index_t j = 0; j < first[i].size(); ++j)
        if (!std::isfinite(first[i][j]) || !std::isfinite(second[i][j]) || second[i][j] < 0)
          detail::throw_invalid("hyena::adamw::restore: the moments of ", names[i], "[", j, "] = ", first[i][j],
                                ", ", second[i][j], " are not finite (or the second is negative)");
    }
    steps_ = steps;
    names_ = std::move(names);
    first_ = std::move(first);
    second_ = std::move(second);
  }

 private:
  adamw_options options_;
  index_t steps_ = 0;
  std::vector<std::string> names_;
  std::vector<std::vector<T>> first_, second_;
};

}  // namespace hyena
