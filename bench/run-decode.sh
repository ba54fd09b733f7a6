#!/usr/bin/env bash
# Decoding benchmarks: builds bench_decode (Release, -O3 -march=native) and
# runs it; prints the per-token tables and, with gnuplot, writes out/decode.png.
# About 10 minutes on 2 cores (the 1M-token blocks and recomputes dominate).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYENA_BUILD_TESTS=OFF -DHYENA_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_decode
mkdir -p out
"$build/bench/bench_decode" --out out --benchmark_out=out/decode.json --benchmark_out_format=json "$@"
if command -v gnuplot >/dev/null; then
  gnuplot -e "dir='out'" bench/plot_decode.gp && echo "plot: out/decode.png"
else
  echo "gnuplot not found: no plot (the tables above have the numbers)"
fi
