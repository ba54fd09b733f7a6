#!/usr/bin/env bash
# The main job: installs what is missing, builds the benchmarks in Release
# with -O3 -march=native and runs Hyena against attention side by side.
#
#   bash bench/run-comparison.sh           # quick: attention up to 16K (~5 minutes on 2 cores)
#   bash bench/run-comparison.sh --full    # attention up to 64K
#
# Prints the tables; writes out/compare.json (Google Benchmark), the tables'
# data (out/compare_*.dat) and, with gnuplot, out/compare.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYENA_BUILD_TESTS=OFF -DHYENA_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_compare
mkdir -p out
"$build/bench/bench_compare" --out out --benchmark_out=out/compare.json --benchmark_out_format=json "$@"
if command -v gnuplot >/dev/null; then
  gnuplot -e "dir='out'" bench/plot_compare.gp && echo "plot: out/compare.png"
else
  echo "gnuplot not found: no plot (the tables above have the numbers)"
fi
