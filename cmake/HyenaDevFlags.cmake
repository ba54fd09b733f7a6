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

# The GEMM behind hyena's own targets (tests, benchmarks, tools, Python
# module): HYENA_BLAS = auto | eigen | openblas | blis. A BLAS is used through
# EIGEN_USE_BLAS, one call per tile: the library cuts every projection into
# fixed tiles over its own thread pool, so results stay bit-identical for
# every thread count and no second thread pool competes with hyena's. The
# BLAS must therefore run each call on the calling thread and be safe to call
# from several threads at once: BLIS's serial build (libblis-serial-dev), or
# OpenBLAS's threaded build (libopenblas-pthread-dev) told to use one thread
# (cmake/openblas_one_thread.cpp). Debian's serial OpenBLAS is not safe to
# call concurrently (wrong results, measured), so it is not used. auto takes
# OpenBLAS, else Eigen: bench_gemm measured OpenBLAS fastest at every shape
# and BLIS slower than Eigen in total, so BLIS only when asked for (README,
# "BLAS backend"). A consumer gets the same by defining EIGEN_USE_BLAS and
# linking such a BLAS.
set(HYENA_BLAS auto CACHE STRING "GEMM for hyena's own targets: auto, eigen, openblas or blis")
set_property(CACHE HYENA_BLAS PROPERTY STRINGS auto eigen openblas blis)
find_library(HYENA_BLIS_LIBRARY NAMES blis NO_DEFAULT_PATH
             PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/blis-serial
             DOC "BLIS, serial build (Debian: libblis-serial-dev)")
find_library(HYENA_OPENBLAS_LIBRARY NAMES openblas NO_DEFAULT_PATH
             PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread
             DOC "OpenBLAS, threaded build, run with one thread (Debian: libopenblas-pthread-dev)")
set(HYENA_BLAS_USED "${HYENA_BLAS}")
if(HYENA_BLAS STREQUAL "auto")
  if(HYENA_OPENBLAS_LIBRARY)
    set(HYENA_BLAS_USED openblas)
  else()
    set(HYENA_BLAS_USED eigen)
  endif()
endif()
if(HYENA_BLAS_USED STREQUAL "blis")
  set(_hyena_blas_library "${HYENA_BLIS_LIBRARY}")
  set(_hyena_blas_package libblis-serial-dev)
elseif(HYENA_BLAS_USED STREQUAL "openblas")
  set(_hyena_blas_library "${HYENA_OPENBLAS_LIBRARY}")
  set(_hyena_blas_package libopenblas-pthread-dev)
elseif(NOT HYENA_BLAS_USED STREQUAL "eigen")
  message(FATAL_ERROR "HYENA_BLAS=${HYENA_BLAS}: expected auto, eigen, openblas or blis")
endif()
if(NOT HYENA_BLAS_USED STREQUAL "eigen")
  if(NOT _hyena_blas_library)
    string(TOUPPER "${HYENA_BLAS_USED}" _hyena_blas_upper)
    message(FATAL_ERROR "HYENA_BLAS=${HYENA_BLAS}: ${HYENA_BLAS_USED} not found "
                        "(install ${_hyena_blas_package}, or set HYENA_${_hyena_blas_upper}_LIBRARY)")
  endif()
  target_compile_definitions(hyena_dev_flags INTERFACE EIGEN_USE_BLAS)
  target_link_libraries(hyena_dev_flags INTERFACE "${_hyena_blas_library}")
  if(HYENA_BLAS_USED STREQUAL "openblas")
    target_sources(hyena_dev_flags INTERFACE "${CMAKE_CURRENT_LIST_DIR}/openblas_one_thread.cpp")
  endif()
  # Installed tools and the Python module keep the library's folder in their
  # RUNPATH: the bare soname would resolve through Debian's alternatives to
  # whichever build of it is preferred.
  set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
  message(STATUS "hyena: GEMMs on ${HYENA_BLAS_USED} (${_hyena_blas_library}), HYENA_BLAS=${HYENA_BLAS}")
else()
  message(STATUS "hyena: GEMMs on Eigen's own kernel, HYENA_BLAS=${HYENA_BLAS}")
endif()
