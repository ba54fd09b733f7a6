#!/usr/bin/env bash
# Installs the Debian 12 packages hyena's build, tests and benchmarks need,
# only those missing (so a second run touches nothing). Needs root for apt-get.
set -euo pipefail
packages=(build-essential cmake pkgconf libeigen3-dev libfftw3-dev libgtest-dev libbenchmark-dev
          nlohmann-json3-dev gnuplot-nox
          libopenblas-pthread-dev libblis-serial-dev
          python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
