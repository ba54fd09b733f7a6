#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds the hyena Python module in
# Release and installs it into the interpreter's platform site-packages
# (sysconfig's platlib: /usr/local/lib/python3.11/dist-packages for Debian 12's
# python3). PYTHON=/path/to/python3 picks another interpreter (it needs numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
python=${PYTHON:-/usr/bin/python3}
build=build/python
# Built here for this machine: -march=native (HYENA_NATIVE=OFF for a module
# that runs on any x86-64 CPU, at a fraction of the GEMM speed).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYENA_PYTHON=ON -DPython3_EXECUTABLE="$python" \
      -DHYENA_NATIVE="${HYENA_NATIVE:-ON}" \
      -DHYENA_BUILD_TESTS=OFF -DHYENA_BUILD_BENCHMARKS=OFF -DHYENA_BUILD_EXAMPLES=OFF
cmake --build "$build" --target hyena_python -j"$(nproc)"
cmake --install "$build" --component python
cd / && "$python" -c "import hyena; print('hyena', hyena.__version__, 'installed at', hyena.__file__)"
