# Flags for hyena's own tests, benchmarks and examples only. They live on a
# non-exported helper target so nothing here reaches a consumer.
add_library(hyena_dev_flags INTERFACE)
target_compile_options(hyena_dev_flags INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)
option(HYENA_WERROR "Treat warnings in hyena's own targets as errors" OFF)
if(HYENA_WERROR)
  target_compile_options(hyena_dev_flags INTERFACE -Werror)
endif()
# For binaries built on the machine that runs them (python/install.sh turns it
# on): the command-line tools and the Python module use every instruction set
# of this CPU, and need one that has them. The library itself never assumes an ISA.
option(HYENA_NATIVE "Build hyena's command-line tools and Python module with -march=native" OFF)

set(HYENA_SANITIZE "" CACHE STRING "Sanitizers for hyena's own targets, e.g. address,undefined or thread")
if(HYENA_SANITIZE)
  target_compile_options(hyena_dev_flags INTERFACE -fsanitize=${HYENA_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(hyena_dev_flags INTERFACE -fsanitize=${HYENA_SANITIZE})
endif()

# Projections through OpenBLAS instead of Eigen's own GEMM, for hyena's own
# tests, benchmarks and tools (a consumer does the same by defining
# EIGEN_USE_BLAS and linking a BLAS). bench_gemm measures the two side by side.
option(HYENA_USE_BLAS "Build hyena's own targets with EIGEN_USE_BLAS and OpenBLAS" OFF)
if(HYENA_USE_BLAS)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(HYENA_OPENBLAS REQUIRED IMPORTED_TARGET openblas)
  target_compile_definitions(hyena_dev_flags INTERFACE EIGEN_USE_BLAS)
  target_link_libraries(hyena_dev_flags INTERFACE PkgConfig::HYENA_OPENBLAS)
endif()
