#!/usr/bin/env bash
# Builds hyena's libFuzzer targets with clang (ASan + UBSan), writes their seed
# corpora from the reference dumps and runs each target for SECONDS seconds
# (default 60), one after another on one core each. Prints the executions of
# every target and exits non-zero if any target found a crash, a sanitizer
# report, a leak, a timeout or an out-of-memory input; the input that did it
# is kept under build/fuzz/artifacts/<target>/ (commit it under
# tests/data/fuzz/<target>/ once the bug is fixed).
#
#   tests/fuzz/run-fuzzers.sh [SECONDS]
#
# Environment: HYENA_REFERENCE_DIR (default: ../shared/reference next to the
# repository). Installs clang and libclang-rt-14-dev (and hyena's other build
# dependencies) when missing, which needs root for apt-get.
set -euo pipefail
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]   (a positive whole number of seconds per target)" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
repo=$PWD
reference=${HYENA_REFERENCE_DIR:-$repo/../shared/reference}
build=$repo/build/fuzz
targets=(safetensors operator lm sh2)

bash cmake/install-debian-deps.sh clang libclang-rt-14-dev

mkdir -p "$build"
# Eigen's own GEMM, as in the sanitizer builds: ASan sees inside it.
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" -DHYENA_BUILD_FUZZERS=ON -DHYENA_BLAS=eigen >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
# All of this project's targets: the fuzzers and the corpus tool. (Naming
# them with --target would build them one after another.)
cmake --build "$build" -j"$(nproc)"

corpus=$(mktemp -d "${TMPDIR:-/tmp}/hyena-fuzz-corpus.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
"$build/hyena_fuzz_corpus" "$reference" "$corpus"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/logs"
failed=()
summary=()
for target in "${targets[@]}"; do
  # Long enough for the largest seed, so none is cut short.
  max_len=$(find "$corpus/$target" -type f -printf '%s\n' | sort -n | tail -n 1)
  artifacts=$build/artifacts/$target/
  log=$build/logs/$target.log
  mkdir -p "$artifacts"
  echo "fuzz_$target: ${seconds}s, $(find "$corpus/$target" -type f | wc -l) seeds, -max_len=$max_len"
  status=0
  "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -dict=tests/fuzz/hyena.dict -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus/$target" >"$log" 2>&1 || status=$?
  execs=$(awk '/stat::number_of_executed_units:/ { n = $2 } END { print n == "" ? "?" : n }' "$log")
  if ((status != 0)); then
    echo "fuzz_$target FAILED (exit $status) after $execs executions; log: $log" >&2
    grep -E -A 30 'ERROR: |runtime error|WARNING: .*(leak|timeout|out-of-memory)|terminate called|fuzz invariant' "$log" |
      head -n 60 >&2 || tail -n 40 "$log" >&2
    ls "$artifacts" >&2
    failed+=("$target")
  fi
  summary+=("fuzz_$target: $execs executions in ${seconds}s, exit $status")
done

printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzzing found problems in: ${failed[*]} (inputs under $build/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: no crash, leak, timeout or OOM in ${#targets[@]} targets"
