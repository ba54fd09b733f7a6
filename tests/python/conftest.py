"""Shared helpers of the Python module's tests (run by CTest: see python/CMakeLists.txt).

The tests check what the bindings add: shapes and layouts reach the C++ code
as documented, nothing is copied on the happy path (pointer identity), every
refused argument raises the documented exception, lifetimes hold, and the
results equal the C++ command-line tools' on the shared reference dumps.
The numerics themselves are tested in C++ (tests/); here each comparison
against a naive reference uses the same error model (tests/support/numerics.hpp).
"""
import math
import os
import pathlib
import subprocess

import numpy as np
import pytest

import hyena


def reference_dir():
    """../shared/reference, as CMake tells (HYENA_REFERENCE_DIR)."""
    path = os.environ.get("HYENA_REFERENCE_DIR")
    if not path or not pathlib.Path(path).is_dir():
        pytest.fail("HYENA_REFERENCE_DIR is not set to the reference dumps (run through ctest)")
    return pathlib.Path(path)


def run_tool(name, *args, **kwargs):
    """Runs a command-line tool CMake built (name: HYENA_FORWARD or HYENA_LM).

    The tool is its own program, with its own sanitizer runtime if any: the
    interpreter's LD_PRELOAD (the ASan runtime of a sanitizer build of the
    module) is not passed on, as two ASan runtimes in one process abort."""
    path = os.environ.get(name)
    if not path:
        pytest.fail(f"{name} is not set (run through ctest with the examples built)")
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run([path, *args], env=env, check=True, **kwargs)


def unit_roundoff(dtype):
    return float(np.finfo(dtype).eps) / 2


def fft_conv_error(dtype, fft_size):
    """Predicted relative L2 error of an FFT convolution: u*sqrt(log2(n) + 4)."""
    return unit_roundoff(dtype) * math.sqrt(math.log2(max(fft_size, 1)) + 4.0)


def relative_l2(actual, reference):
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    scale = np.linalg.norm(reference)
    error = np.linalg.norm(actual - reference)
    return error / scale if scale else error


def naive_causal_conv(u, k, skip=None):
    """y[b,c,t] = sum_{s<=t} k[c,s] u[b,c,t-s] + skip[c] u[b,c,t], by direct sums in double."""
    u = np.asarray(u, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    B, C, L = u.shape
    y = np.zeros((B, C, L))
    for t in range(L):
        # sum over s of k[:, s] * u[:, :, t - s]
        y[:, :, t] = np.einsum("cs,bcs->bc", k[:, : t + 1], u[:, :, t::-1])
    if skip is not None:
        y += np.asarray(skip, dtype=np.float64)[None, :, None] * u
    return y


def address(array):
    return array.__array_interface__["data"][0]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
