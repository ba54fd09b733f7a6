#!/usr/bin/python3
"""The Python module's own costs, measured: the overhead of one call, and two
Python threads calling at once against one after the other (the GIL is
released while the C++ code runs, so on 2 cores two threads take about the
time of one).

    cmake -S . -B build -DHYENA_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3
    cmake --build build --target hyena_python
    /usr/bin/python3 bench/python_bench.py [--module-dir build/python/module]

Not part of CI (timings are not tests). Prints the CPU, then one line per
measurement; the ratios are from this run only.
"""
import argparse
import pathlib
import platform
import statistics
import threading
import time

from python_support import ROOT, import_hyena, machine


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--module-dir", default=None, help="folder holding the built hyena module")
    p.add_argument("--reference", default=str(ROOT.parent / "shared" / "reference"), help="the reference dumps")
    return p.parse_args()


def per_call_us(fn, calls=20000, repeats=7):
    """Best of `repeats` runs of `calls` calls, in microseconds per call (the least disturbed run)."""
    for _ in range(1000):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls * 1e6)
    return best


def two_threads_ratio(work, rounds=11):
    """(time of 2 calls one after the other) / (time of the 2 in two threads), median of `rounds`."""
    def sequential():
        t0 = time.perf_counter()
        work(0)
        work(1)
        return time.perf_counter() - t0

    def concurrent():
        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    sequential()
    concurrent()
    seq = statistics.median(sequential() for _ in range(rounds))
    par = statistics.median(concurrent() for _ in range(rounds))
    return seq, par, seq / par


def main():
    args = parse_args()
    hyena = import_hyena(args.module_dir)
    import numpy as np

    print(f"machine: {machine()}; Python {platform.python_version()}, NumPy {np.__version__}")
    safari = pathlib.Path(args.reference) / "safari"
    tiny = hyena.Operator.load(safari / "d16_l64_o2" / "params.safetensors")
    u = np.zeros((1, 1, tiny.d_model), np.float32)
    out = np.empty_like(u)
    print("call overhead (best of 7 runs of 20000 calls; every core available):")
    print(f"  op(u, out=out), d_model 16, 1 token:      {per_call_us(lambda: tiny(u, out=out)):6.2f} us")
    print(f"  op(u) (a new output array):                {per_call_us(lambda: tiny(u)):6.2f} us")
    f = hyena.FFTFilter(np.ones((4, 8), np.float32))
    x, y = np.ones((1, 4, 8), np.float32), np.empty((1, 4, 8), np.float32)
    print(f"  FFTFilter(u, out=y), [1, 4, 8]:             {per_call_us(lambda: f(x, out=y)):6.2f} us")
    print(f"  op.d_model (a bare bound attribute):       {per_call_us(lambda: tiny.d_model):6.2f} us")

    # Two threads: one operator, one thread each inside the library, so any
    # speed-up comes from the GIL being released.
    op = hyena.Operator.load(safari / "d32_l256_o3" / "params.safetensors", threads=1)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((32, 256, op.d_model)).astype(np.float32) for _ in range(2)]
    outputs = [np.empty_like(v) for v in inputs]

    def work(i):
        for _ in range(10):
            op(inputs[i], out=outputs[i])

    seq, par, ratio = two_threads_ratio(work)
    print("two Python threads, 10 calls each of op(u) on [32, 256, 32] (op.threads = 1), median of 11:")
    print(f"  one after the other {seq * 1e3:7.1f} ms, at once {par * 1e3:7.1f} ms: {ratio:.2f}x "
          f"(2.00x = perfect overlap on 2 cores)")
    # The control: what two cores give one call split by the library itself,
    # with no Python thread involved. If this ratio is low too, the cores (or
    # the memory) do not scale, whatever the GIL does.
    def split(threads):
        op.threads = threads
        for _ in range(3):
            op(inputs[0], out=outputs[0])
        times = []
        for _ in range(11):
            t0 = time.perf_counter()
            for _ in range(10):
                op(inputs[0], out=outputs[0])
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    one, two = split(1), split(2)
    print(f"  control, one Python thread: 20 calls with op.threads = 1 {2 * one * 1e3:7.1f} ms, "
          f"= 2 {2 * two * 1e3:7.1f} ms: {one / two:.2f}x")


if __name__ == "__main__":
    main()
