#!/usr/bin/env bash
# Installs what is missing, builds everything in Release and runs the whole
# test suite: every test under C++17, then the suite again built as C++20.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
jobs=$(nproc)
for std in 17 20; do
  build="build/tests-cxx$std"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=$std -DHYENA_WERROR=ON \
        -DHYENA_BUILD_BENCHMARKS=OFF
  cmake --build "$build" -j"$jobs"
  ctest --test-dir "$build" --output-on-failure -j"$jobs"
done
