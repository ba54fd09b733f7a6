# Flags for hyena's own tests, benchmarks and examples only. They live on a
# non-exported helper target so nothing here reaches a consumer.
add_library(hyena_dev_flags INTERFACE)
target_compile_options(hyena_dev_flags INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)
option(HYENA_WERROR "Treat warnings in hyena's own targets as errors" OFF)
if(HYENA_WERROR)
  target_compile_options(hyena_dev_flags INTERFACE -Werror)
endif()
option(HYENA_NATIVE "Build hyena's benchmarks and tools with -march=native" OFF)

set(HYENA_SANITIZE "" CACHE STRING "Sanitizers for hyena's own targets, e.g. address,undefined or thread")
if(HYENA_SANITIZE)
  target_compile_options(hyena_dev_flags INTERFACE -fsanitize=${HYENA_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(hyena_dev_flags INTERFACE -fsanitize=${HYENA_SANITIZE})
endif()
