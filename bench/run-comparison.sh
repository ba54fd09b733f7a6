#!/usr/bin/env bash
# The main job: installs what is missing, builds the benchmarks in Release
# with -O3 -march=native and runs Hyena against attention side by side.
#
#   bash bench/run-comparison.sh           # quick: attention up to 16K (~6 minutes on 2 cores)
#   bash bench/run-comparison.sh --full    # attention up to 64K
#
# Prints the tables; writes out/compare.json (Google Benchmark), the tables'
# data (out/compare_*.dat) and, with gnuplot, out/compare.png.
exec bash "$(dirname "$0")/run.sh" compare "$@"
