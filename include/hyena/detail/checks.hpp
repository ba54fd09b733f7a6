// hyena/detail/checks.hpp: argument validation that throws with the names and
// sizes involved, and overflow-checked size arithmetic.
#pragma once

#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "../core/config.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace hyena::detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

template <class... Parts>
[[noreturn]] void throw_invalid(Parts&&... parts) {
  throw std::invalid_argument(concat(std::forward<Parts>(parts)...));
}

/// a * b, or std::length_error naming `what` when it does not fit in index_t.
inline index_t checked_mul(index_t a, index_t b, const char* what) {
  if (a != 0 && b > std::numeric_limits<index_t>::max() / a)
    throw std::length_error(concat("hyena: ", what, " overflows: ", a, " * ", b));
  return a * b;
}

inline index_t checked_mul(index_t a, index_t b, index_t c, const char* what) {
  return checked_mul(checked_mul(a, b, what), c, what);
}

/// Bytes of physical memory, or 0 where the platform does not say.
inline index_t physical_memory_bytes() noexcept {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return index_t(pages) * index_t(page);
#endif
  return 0;
}

/// Throws std::length_error naming `what` and the sizes when count elements
/// of element_size bytes overflow or exceed the machine's physical memory.
/// Called before large allocations: with overcommit a too-large request may
/// "succeed" and the process be killed when the memory is touched, so it is
/// refused up front instead.
inline void require_allocatable(index_t count, index_t element_size, const char* what) {
  const index_t bytes = checked_mul(count, element_size, what);
  const index_t limit = physical_memory_bytes();
  if (limit != 0 && bytes > limit)
    throw std::length_error(concat("hyena: ", what, " needs ", bytes, " bytes (", count, " elements of ", element_size,
                                   " bytes), more than the machine's ", limit, " bytes of memory"));
}

inline void require_positive(index_t value, const char* function, const char* name) {
  if (value == 0) throw_invalid("hyena::", function, ": ", name, " must be >= 1, got 0");
}

/// Throws unless `actual == expected`; `shape...` spells the expected size,
/// e.g. "batch*channels*length = ", 2, "*", 3, "*", 5, and is formatted only
/// on failure (hot paths check sizes on every call and must not allocate).
template <class... Shape>
void require_size(index_t actual, index_t expected, const char* function, const char* name, const Shape&... shape) {
  if (actual != expected)
    throw_invalid("hyena::", function, ": ", name, " has ", actual, " elements, expected ", shape..., " = ", expected);
}

/// A decoding state (online convolution, operator, model) at `position` may
/// take a prefill of `length` only when fresh and when it fits: throws
/// std::invalid_argument naming `function` and the sizes in `unit`s
/// ("steps", "tokens") otherwise.
inline void require_fresh_state_for(const char* function, index_t position, index_t length, index_t capacity,
                                    const char* unit) {
  if (position != 0)
    throw_invalid("hyena::", function, ": the state has taken ", position, " ", unit,
                  "; a prefill starts from a fresh (reset) state");
  if (length > capacity)
    throw_invalid("hyena::", function, ": ", length, " ", unit, " exceed the state's capacity ", capacity);
}

/// A decoding state at `position` may take one more step only below its capacity.
inline void require_room_for_a_step(const char* function, index_t position, index_t capacity, const char* unit) {
  if (position >= capacity)
    throw_invalid("hyena::", function, ": the state is full (capacity ", capacity, " ", unit, " taken)");
}

/// The index of the first NaN or +-Inf in `values`, or values.size().
template <class Container>
index_t first_non_finite(const Container& values) noexcept {
  for (index_t i = 0; i < values.size(); ++i)
    if (!(values[i] - values[i] == 0)) return i;  // false exactly for NaN and +-Inf
  return values.size();
}

/// Throws std::invalid_argument naming `owner`, `name` and the first
/// non-finite element's index: weights must be finite (an Inf or NaN in a
/// filter would reach every output through the FFT).
template <class Container>
void require_finite(const Container& values, const char* owner, const std::string& name) {
  const index_t i = first_non_finite(values);
  if (i != values.size()) throw_invalid("hyena::", owner, ": ", name, "[", i, "] = ", values[i], " is not finite");
}

}  // namespace hyena::detail
