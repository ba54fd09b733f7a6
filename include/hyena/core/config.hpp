// hyena/core/config.hpp: version, the size type, and the hot-path assertion macro.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#define HYENA_VERSION_MAJOR 0
#define HYENA_VERSION_MINOR 1
#define HYENA_VERSION_PATCH 0

// Hot-path preconditions. Public entry points validate their arguments and
// throw; HYENA_ASSERT guards internal invariants only. Define HYENA_ASSERT
// before including hyena to route failures elsewhere, or define
// HYENA_NO_ASSERT to compile them out.
#ifndef HYENA_ASSERT
#  ifdef HYENA_NO_ASSERT
#    define HYENA_ASSERT(cond) ((void)0)
#  else
#    define HYENA_ASSERT(cond)                                                      \
       ((cond) ? (void)0                                                            \
               : (std::fprintf(stderr, "hyena: internal assertion failed: %s (%s:%d)\n", \
                               #cond, __FILE__, __LINE__),                          \
                  std::abort()))
#  endif
#endif

namespace hyena {

/// Sizes and indices: 64-bit unsigned everywhere, so B*C*L products of
/// long-context runs never wrap silently (products are checked, see detail/checks.hpp).
using index_t = std::size_t;

}  // namespace hyena
