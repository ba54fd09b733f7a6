#!/usr/bin/env bash
# Installs what is missing, builds everything in Release (C++17, warnings as
# errors) and runs the whole test suite. (CI builds and runs the suite a
# second time as C++20 under the sanitizers: tests/run-sanitizers.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
jobs=$(nproc)
build=build/tests
# The Python module is required (HYENA_PYTHON=ON), for Debian's interpreter:
# its python3-numpy / python3-pytest / pybind11 are the ones installed above.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DHYENA_WERROR=ON \
      -DHYENA_BUILD_BENCHMARKS=OFF -DHYENA_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
