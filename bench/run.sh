#!/usr/bin/env bash
# Builds and runs one benchmark program the way the README's numbers were made:
# installs what is missing, builds bench_<name> in Release with -O3
# -march=native, runs it with --out out (plus any further arguments), and
# plots bench/plot_<name>.gp to out/<name>.png when gnuplot is present.
#
#   bash bench/run.sh compare [--full]     # what bench/run-comparison.sh runs
#   bash bench/run.sh decode               # what bench/run-decode.sh runs
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/run.sh <compare|decode|...> [arguments]}
shift
bash cmake/install-debian-deps.sh
build=build/bench
# Configure quietly, but say which GEMM the benchmarks got (HYENA_BLAS=auto).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYENA_BUILD_TESTS=OFF -DHYENA_BUILD_EXAMPLES=OFF |
  { grep "hyena: GEMMs" || true; }
cmake --build "$build" -j"$(nproc)" --target "bench_$name"
mkdir -p out
"$build/bench/bench_$name" --out out --benchmark_out="out/$name.json" --benchmark_out_format=json "$@"
if command -v gnuplot >/dev/null; then
  gnuplot -e "dir='out'" "bench/plot_$name.gp" && echo "plot: out/$name.png"
else
  echo "gnuplot not found: no plot (the tables above have the numbers)"
fi
