#!/usr/bin/env bash
# The main job: installs what is missing, builds the benchmarks in Release
# with -O3 -march=native and runs the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYENA_BUILD_TESTS=OFF -DHYENA_BUILD_EXAMPLES=OFF
cmake --build "$build" -j"$(nproc)" --target bench_fft_conv
mkdir -p out
"$build/bench/bench_fft_conv" --benchmark_out=out/bench_fft_conv.json --benchmark_out_format=json "$@"
