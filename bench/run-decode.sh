#!/usr/bin/env bash
# Decoding benchmarks (bench_decode): the streaming decoder against the naive
# incremental form and recomputing the prefix, the operator's and the LM's
# decoders. Prints the per-token tables; writes out/decode.json,
# out/decode_mixer.dat and, with gnuplot, out/decode.png. About 10 minutes on
# 2 cores (the 1M-token blocks and recomputes dominate).
exec bash "$(dirname "$0")/run.sh" decode "$@"
