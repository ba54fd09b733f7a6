#!/usr/bin/env bash
# The whole test suite again, built as C++20, under AddressSanitizer +
# UndefinedBehaviorSanitizer (halting on the first report), the Python
# module's tests included, then the concurrency tests under ThreadSanitizer.
# Installs what is missing first.
#
# The suite is built with clang here: run-tests.sh builds it with GCC, so CI
# compiles everything with both compilers, and clang compiles the
# instrumented templates much faster (test_hyena_lm_backward.cpp with
# ASan+UBSan at -O1: 107 s against GCC's 164-186 s, every check on in both;
# the whole build 2200 CPU-s against 3500), which CI's time budget needs.
# The Python module is built and tested in the same build, with clang's
# shared ASan runtime preloaded into the interpreter (python/CMakeLists.txt).
# Ninja: it builds the targets named with --target side by side (Make builds
# one after another).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh clang libclang-rt-14-dev ninja-build
export CMAKE_GENERATOR=Ninja
jobs=$(nproc)
# -O1 keeps Eigen fast enough for the suite while every check stays on; no -g:
# debug info triples the compile time of these template-heavy tests, and
# reports still name the functions.
flags="-O1 -fno-omit-frame-pointer"
# Eigen's own GEMM here (the sanitizers see inside it; an uninstrumented BLAS
# would hide its accesses): the suite of run-tests.sh covers the BLAS build
# HYENA_BLAS=auto picks, so CI tests both.

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
asan=build/sanitize-address
CC=clang CXX=clang++ cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
      -DHYENA_SANITIZE=address,undefined -DHYENA_BLAS=eigen \
      -DCMAKE_CXX_STANDARD=20 -DHYENA_BUILD_BENCHMARKS=OFF -DHYENA_BUILD_HEADER_CHECKS=OFF \
      -DHYENA_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$asan" -j"$jobs"
ctest --test-dir "$asan" --output-on-failure -j"$jobs" -E '^packaging_'

tsan=build/sanitize-thread
CC=gcc CXX=g++ cmake -S . -B "$tsan" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" -DHYENA_SANITIZE=thread -DHYENA_BLAS=eigen \
      -DHYENA_BUILD_BENCHMARKS=OFF -DHYENA_BUILD_EXAMPLES=OFF -DHYENA_BUILD_HEADER_CHECKS=OFF -DHYENA_PYTHON=OFF \
      -DHYENA_UNITY_TESTS=OFF
# test_concurrency covers the operator used from many threads; the others
# their own shared plans, filters and attention splits (the layer's file runs
# every attention core at several thread counts and shares a layer across
# threads), the decoders' channel splits, the FIR filters' row splits and
# the StripedHyena 2 blocks' (1, 2 and 3 threads); the filter below keeps
# their run to the thread tests.
concurrent=(test_concurrency test_thread_pool test_execution test_fft_plan test_fft_conv
            test_attention_layer test_hyena_operator test_hyena_lm test_online_conv test_decoder_state
            test_grouped_fir test_striped_hyena_block)
cmake --build "$tsan" -j"$jobs" --target "${concurrent[@]}"
for t in "${concurrent[@]}"; do
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    "$tsan/tests/$t" --gtest_filter='*Thread*:*Concurrent*:*Concurrency*:*Shared*' --gtest_brief=1
done
echo "sanitizers: ASan+UBSan suite and TSan concurrency tests passed"
