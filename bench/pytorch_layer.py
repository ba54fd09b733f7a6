#!/usr/bin/python3
"""The order-2 Hyena layer in PyTorch, timed against our C++ benchmarks in one run.

Optional: not part of CI, never imported by the tests. It needs Debian's
python3-torch (run it with /usr/bin/python3) and the Release benchmarks:

    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
    cmake --build build --target bench_layer bench_fft_conv
    /usr/bin/python3 bench/pytorch_layer.py [--threads 2] [--lengths 4096,8192,16384,32768,65536]

The PyTorch side is written from docs/operator.md and docs/implicit_filter.md:
the way the reference HyenaOperator computes its forward, i.e. in_proj, a
depthwise Conv1d (kernel 3, padding 2, truncated to L), the implicit filter MLP
with its exponential window, fftconv with rfft/irfft of size 2L and the u*D
skip, gating, out_proj. Compared pairs (torch / C++ = speedup):

  (a) layer, filters recomputed each call (what HyenaOperator.forward does)
      vs BM_layer_recompute/L:n
  (b) layer, filter bank precomputed (time domain; fftconv still transforms k)
      vs BM_layer/L:n (C++ caches the filter spectra)
  (c) fftconv alone on [1, 768, L] with a [768, L] filter, reference form
      (rfft of k every call) vs BM_fft_conv/L:n/C:768/threads:N
      (c') the same with the filter spectrum precomputed (informational)
  (d) the depthwise short conv alone vs BM_stage_short_conv/L:n (informational)

Torch gets its best footing, so that the ratios do not flatter the C++ code.
Debian's torch calls libblas.so.3; unless that resolves to OpenBLAS the GEMMs
run on the reference BLAS and the comparison means nothing, so the script
re-executes itself with OpenBLAS first on LD_LIBRARY_PATH, OpenBLAS's kernels
chosen from the CPU's instruction sets (OPENBLAS_CORETYPE; its own detection
falls back to SSE3 kernels on CPUs it does not know), and glibc malloc told to
keep freed memory (see torch_environment), then checks the GEMM rate. The C++
benchmarks run in the environment the script was started with.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
REEXEC_MARK = "HYENA_PYTORCH_LAYER_ORIGINAL_ENV"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D_MODEL = 768
MIN_BLAS_GFLOPS = 20.0
# The performance targets: the layer's minimum speedup at each length, and the FFT
# convolution's at every benchmarked L >= 4096.
LAYER_TARGETS = [(65536, 3.0), (8192, 1.7)]
FFT_TARGET = (4096, 5.0)
BUILD_HINT = ("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && "
              "cmake --build build --target bench_layer bench_fft_conv")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for torch, OpenBLAS and C++ (default 2)")
    p.add_argument("--lengths", default="4096,8192,16384,32768,65536",
                   help="comma-separated powers of two in [1024, 65536]")
    p.add_argument("--build-dir", default=None,
                   help="CMake build dir holding bench/bench_layer (default: build/bench, then build)")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "pytorch_compare.json"))
    p.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per torch measurement")
    p.add_argument("--cpp-repetitions", type=int, default=3, help="Google Benchmark repetitions (median used)")
    p.add_argument("--allow-slow-blas", action="store_true", help="continue if the BLAS check fails")
    p.add_argument("--openblas-coretype", default="auto",
                   help="OPENBLAS_CORETYPE for torch: auto (from /proc/cpuinfo), keep (OpenBLAS's own "
                        "detection), or a core name such as SkylakeX or Haswell")
    p.add_argument("--torch-default-malloc", action="store_true",
                   help="leave glibc malloc as is for torch (it then re-faults its big tensors every call)")
    args = p.parse_args()
    args.lengths = sorted({int(x) for x in args.lengths.split(",") if x.strip()})
    for L in args.lengths:
        if L < 1024 or L > 65536 or L & (L - 1):
            p.error(f"--lengths: {L} is not a power of two in [1024, 65536] (the C++ benchmarks' rows)")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def openblas_coretype(choice):
    """The OpenBLAS kernel to force, or None.

    Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model; on CPUs it does
    not know (new or virtualised ones) it falls back to "Prescott" (SSE3), measured
    here at 65 GFLOP/s against 220 with the AVX-512 kernels: GEMMs 3.4x slower than
    the hardware allows. The choice follows the instruction sets the CPU reports.
    """
    if choice == "keep":
        return os.environ.get("OPENBLAS_CORETYPE")
    if choice != "auto":
        return choice
    if "OPENBLAS_CORETYPE" in os.environ:
        return os.environ["OPENBLAS_CORETYPE"]
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def torch_environment(args):
    """The variables torch's process needs, read by the loader and by libraries at start-up."""
    want = {"OPENBLAS_NUM_THREADS": str(args.threads)}
    paths = [x for x in os.environ.get("LD_LIBRARY_PATH", "").split(":") if x]
    if os.path.isdir(OPENBLAS_DIR):
        want["LD_LIBRARY_PATH"] = ":".join([OPENBLAS_DIR] + [x for x in paths if x != OPENBLAS_DIR])
    else:
        print(f"warning: {OPENBLAS_DIR} not found; torch keeps whatever libblas.so.3 resolves to")
    coretype = openblas_coretype(args.openblas_coretype)
    if coretype:
        want["OPENBLAS_CORETYPE"] = coretype
    if not args.torch_default_malloc:
        # glibc serves every block above 32 MiB with its own mmap and unmaps it on free, so each
        # forward at 8K+ page-faults its multi-hundred-MiB tensors afresh (measured: the 64K layer
        # 10.2 s -> 5.3 s without that). Keeping freed memory in the heap gives torch what a
        # caching allocator would; the C++ layer reuses its workspace and never allocates.
        want["MALLOC_MMAP_MAX_"] = "0"
        want["MALLOC_TRIM_THRESHOLD_"] = str(1 << 40)
    return want


def ensure_torch_environment(args):
    """Re-exec with torch_environment() before torch is imported (LD_LIBRARY_PATH binds at load)."""
    want = torch_environment(args)
    if all(os.environ.get(k) == v for k, v in want.items()) or REEXEC_MARK in os.environ:
        return
    env = dict(os.environ)
    env[REEXEC_MARK] = json.dumps({k: os.environ.get(k) for k in want})  # to give the C++ runs the original
    env.update(want)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def original_environment():
    """The environment this script was started with: the C++ benchmarks run in it."""
    env = dict(os.environ)
    for k, v in json.loads(env.pop(REEXEC_MARK, "{}")).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def find_binaries(build_dir):
    candidates = [build_dir] if build_dir else [os.path.join(ROOT, "build", "bench"), os.path.join(ROOT, "build")]
    for d in candidates:
        layer, fft = (os.path.join(d, "bench", name) for name in ("bench_layer", "bench_fft_conv"))
        if os.access(layer, os.X_OK) and os.access(fft, os.X_OK):
            return layer, fft
    sys.exit(f"error: bench_layer / bench_fft_conv not found under {' or '.join(c + '/bench' for c in candidates)}.\n"
             f"Build them (from {ROOT}):\n  {BUILD_HINT}\nthen pass --build-dir build if you used another folder.")


# ---------------------------------------------------------------------------------------------
# C++ side


def run_cpp(binary, regex, extra, repetitions):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        cmd = [binary, f"--benchmark_filter={regex}", f"--benchmark_out={path}", "--benchmark_out_format=json",
               f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true"] + extra
        print("  $", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=original_environment())
        if proc.returncode != 0:
            sys.exit(f"error: {binary} exited with {proc.returncode}:\n{proc.stderr}")
        with open(path) as f:
            data = json.load(f)
    finally:
        os.unlink(path)
    to_ms = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    ms = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        wanted = "median" if repetitions > 1 else None
        if b.get("aggregate_name") != wanted:
            continue
        # "BM_layer/L:8192/real_time" -> ("BM_layer", 8192)
        parts = b["run_name"].split("/")
        L = int(next(p for p in parts if p.startswith("L:"))[2:])
        ms[(parts[0], L)] = b["real_time"] * to_ms[b["time_unit"]]
    return ms


def cpp_timings(args, layer_bin, fft_bin):
    alt = "|".join(str(L) for L in args.lengths)
    ms = run_cpp(layer_bin, f"^BM_(layer|layer_recompute|stage_short_conv)/L:({alt})(/|$)",
                 ["--threads", str(args.threads)], args.cpp_repetitions)
    if args.threads in (1, 2):  # the only thread counts bench_fft_conv registers
        ms.update(run_cpp(fft_bin, f"^BM_fft_conv/L:({alt})/C:{D_MODEL}/threads:{args.threads}(/|$)", [],
                          args.cpp_repetitions))
    else:
        print(f"  note: bench_fft_conv has rows for 1 and 2 threads only; no C++ FFT column for {args.threads}")
    return ms


# ---------------------------------------------------------------------------------------------
# PyTorch side, from docs/ (see the top). Imported late: torch must load after the LD_LIBRARY_PATH re-exec.


def define_modules(torch):
    nn = torch.nn

    class PositionalFeatures(nn.Module):
        """z [1, Lmax, E] = (t, cos(f w), -sin(f w)) and t [1, Lmax, 1] (docs/implicit_filter.md)."""

        def __init__(self, emb_dim, l_max):
            super().__init__()
            bands = (emb_dim - 1) // 2
            t = torch.linspace(0, 1, l_max)[None, :, None]
            omega = 2 * math.pi * torch.arange(l_max, dtype=torch.float32)[None, :, None] / l_max
            f = torch.linspace(1e-4, bands - 1, bands)[None, None, :]
            phase = f * omega
            self.z = nn.Parameter(torch.cat([t, torch.cos(phase), -torch.sin(phase)], dim=-1))
            self.register_buffer("t", t)

        def forward(self, length):
            return self.z[:, :length], self.t[:, :length]

    class SharedSin(nn.Module):
        def __init__(self, freq):
            super().__init__()
            self.freq = freq  # one Parameter object for every activation slot

        def forward(self, x):
            return torch.sin(self.freq * x)

    class ImplicitFilter(nn.Module):
        """h(L') [1, L', F]: MLP with sine activations, then the exponential window (docs/implicit_filter.md)."""

        def __init__(self, channels, l_max, emb_dim=3, width=64, inner=2, w=1.0,
                     fast_decay_pct=0.3, slow_decay_pct=1.5, target=1e-2, shift=0.0):
            super().__init__()
            self.pos = PositionalFeatures(emb_dim, l_max)
            freq = nn.Parameter(w * torch.ones(1, width))
            layers = [nn.Linear(emb_dim, width), SharedSin(freq)]
            for _ in range(inner):
                layers += [nn.Linear(width, width), SharedSin(freq)]
            layers.append(nn.Linear(width, channels, bias=False))
            self.mlp = nn.Sequential(*layers)
            self.bias = nn.Parameter(torch.randn(channels))  # the skip D
            lo, hi = math.log(target) / slow_decay_pct, math.log(target) / fast_decay_pct
            self.register_buffer("deltas", torch.linspace(lo, hi, channels)[None, None])
            self.shift = shift

        def forward(self, length):
            z, t = self.pos(length)
            h = self.mlp(z)
            return h * (torch.exp(-t * self.deltas.abs()) + self.shift)

    def fftconv(u, k, skip):
        """docs/operator.md (long convolution): u [B, C, L], k [C, L], skip [C]; linear causal convolution plus u*D."""
        n = u.shape[-1]
        n_fft = 2 * n
        k_f = torch.fft.rfft(k, n=n_fft) / n_fft
        u_f = torch.fft.rfft(u.to(k.dtype), n=n_fft)
        y = torch.fft.irfft(u_f * k_f, n=n_fft, norm="forward")[..., :n]
        return (y + u * skip.unsqueeze(-1)).to(u.dtype)

    def fftconv_cached(u, k_f, skip):
        """fftconv with k_f = rfft(k, 2L) / 2L computed once (c')."""
        n = u.shape[-1]
        u_f = torch.fft.rfft(u, n=2 * n)
        return torch.fft.irfft(u_f * k_f, n=2 * n, norm="forward")[..., :n] + u * skip.unsqueeze(-1)

    class HyenaOrder2(nn.Module):
        """docs/operator.md with N = 2 (blocked and interleaved layouts coincide)."""

        def __init__(self, d_model, l_max):
            super().__init__()
            self.d = d_model
            self.l_max = l_max
            self.in_proj = nn.Linear(d_model, 3 * d_model)
            self.out_proj = nn.Linear(d_model, d_model)
            self.short_filter = nn.Conv1d(3 * d_model, 3 * d_model, 3, padding=2, groups=3 * d_model)
            self.filter_fn = ImplicitFilter(d_model, l_max)
            self.cached_k = None

        def step_filter(self, length):
            h = self.filter_fn(length)        # [1, L', D]
            return h[0].transpose(0, 1)       # 'l (o d) -> o d l' with o = 1: [D, L'] (a view)

        def forward(self, u):                 # u [B, L, D]
            length = min(u.shape[-2], self.l_max)
            p = self.in_proj(u).transpose(1, 2)            # [B, 3D, L]
            s = self.short_filter(p)[..., :length]
            x0, x1, v = s.split(self.d, dim=1)
            k = self.cached_k[:, :length] if self.cached_k is not None else self.step_filter(length)
            v = fftconv(v * x1, k, self.filter_fn.bias)
            return self.out_proj((v * x0).transpose(1, 2))

    return HyenaOrder2, fftconv, fftconv_cached


def check_correctness(torch, np, HyenaOrder2, fftconv):
    """The timed code against direct O(L^2) float64 sums on tiny sizes (docs/operator.md)."""
    rng = np.random.default_rng(0)
    C, L = 5, 37  # L not a power of two: the FFT size is 2L exactly
    u, k, skip = rng.standard_normal((2, C, L)), rng.standard_normal((C, L)), rng.standard_normal(C)
    ref = np.stack([[np.convolve(u[b, c], k[c])[:L] + skip[c] * u[b, c] for c in range(C)] for b in range(2)])
    got = fftconv(torch.tensor(u, dtype=torch.float32), torch.tensor(k, dtype=torch.float32),
                  torch.tensor(skip, dtype=torch.float32)).double().numpy()
    conv_err = np.abs(got - ref).max() / np.abs(ref).max()

    d, L = 8, 29
    layer = HyenaOrder2(d, 32).double()
    x = rng.standard_normal((1, L, d))
    with torch.no_grad():
        got = layer(torch.tensor(x)).numpy()[0]
        P = lambda m: (m.weight.numpy(), m.bias.numpy())
        (wi, bi), (wo, bo), (wc, bc) = P(layer.in_proj), P(layer.out_proj), P(layer.short_filter)
        h = layer.step_filter(L).numpy()                  # [d, L]
        skip = layer.filter_fn.bias.numpy()
    p = (x[0] @ wi.T + bi).T                              # [3d, L]
    pad = np.concatenate([np.zeros((3 * d, 2)), p], axis=1)
    s = bc[:, None] + wc[:, 0, 0:1] * pad[:, 0:L] + wc[:, 0, 1:2] * pad[:, 1:L + 1] + wc[:, 0, 2:3] * pad[:, 2:]
    x0, x1, v = s[:d], s[d:2 * d], s[2 * d:]
    g = v * x1
    y = np.stack([np.convolve(g[c], h[c])[:L] for c in range(d)]) + skip[:, None] * g
    ref = (y * x0).T @ wo.T + bo
    layer_err = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"correctness: fftconv float32 vs direct float64 max rel err {conv_err:.1e}; "
          f"order-2 layer float64 vs direct sums {layer_err:.1e}")
    if not (conv_err < 1e-5 and layer_err < 1e-10):
        sys.exit("error: the PyTorch layer does not match the direct computation; timings would be meaningless")


def blas_check(torch, args):
    for line in torch.__config__.show().splitlines():
        line = line.strip()
        if "BLAS" in line or "LAPACK" in line:
            tokens = [t.strip() for t in line.split(",") if "BLAS" in t or "LAPACK" in t]
            print("torch config:", "; ".join(tokens))
    a, b = torch.randn(768, 768), torch.randn(768, 8192)
    torch.mm(a, b)
    samples = []
    deadline = time.perf_counter() + 1.0
    while len(samples) < 3 or (time.perf_counter() < deadline and len(samples) < 20):
        t0 = time.perf_counter()
        torch.mm(a, b)
        samples.append(time.perf_counter() - t0)
    gflops = 2.0 * 768 * 768 * 8192 / min(samples) / 1e9
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    print(f"BLAS libraries mapped: {', '.join(libs) or 'none'}")
    core = None
    openblas = next((x for x in libs if "openblas" in os.path.basename(x)), None)
    if openblas:  # ask the loaded library itself which kernels and how many threads it runs
        import ctypes
        lib = ctypes.CDLL(openblas)
        lib.openblas_get_corename.restype = lib.openblas_get_config.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
        print(f"OpenBLAS: {lib.openblas_get_config().decode().strip()}; core {core}; "
              f"{lib.openblas_get_num_threads()} threads (OPENBLAS_CORETYPE="
              f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print(f"BLAS check: 768x768 @ 768x8192 float32 matmul: {gflops:.1f} GFLOP/s ({args.threads} threads)")
    if gflops < MIN_BLAS_GFLOPS:
        print("!" * 78)
        print(f"!!! WARNING: {gflops:.1f} GFLOP/s < {MIN_BLAS_GFLOPS}: torch is on the slow reference BLAS.")
        print("!!! The torch GEMMs are not representative; the comparison is MEANINGLESS.")
        print("!" * 78)
        if not args.allow_slow_blas:
            sys.exit(2)
    return gflops, libs, core


def time_ms(fn, budget):
    """Median wall time of fn() in ms after one warm-up call; as many calls as fit the budget (3..15)."""
    fn()
    samples = []
    while True:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 15 or (len(samples) >= 3 and sum(samples) >= budget):
            break
    return statistics.median(samples) * 1e3


def torch_timings(torch, args, HyenaOrder2, fftconv, fftconv_cached):
    results = {}
    for L in args.lengths:
        torch.manual_seed(L)
        layer = HyenaOrder2(D_MODEL, L).eval()          # max_length = L, as bench_layer builds it
        u = torch.randn(1, L, D_MODEL)
        r = {}
        with torch.inference_mode():
            layer.cached_k = None
            r["layer_recompute"] = time_ms(lambda: layer(u), args.budget)
            layer.cached_k = layer.step_filter(L).contiguous()
            r["layer_cached"] = time_ms(lambda: layer(u), args.budget)
            k, skip = layer.cached_k, layer.filter_fn.bias
            g = torch.randn(1, D_MODEL, L)
            r["fft_conv"] = time_ms(lambda: fftconv(g, k, skip), args.budget)
            k_f = torch.fft.rfft(k, n=2 * L) / (2 * L)
            r["fft_conv_cached_spectrum"] = time_ms(lambda: fftconv_cached(g, k_f, skip), args.budget)
            p = torch.randn(1, 3 * D_MODEL, L)
            r["short_conv"] = time_ms(lambda: layer.short_filter(p)[..., :L], args.budget)
        del layer, u, g, p, k, k_f
        results[L] = r
        print(f"  torch L={L:6d}: " + ", ".join(f"{n} {v:.1f} ms" for n, v in r.items()), flush=True)
    return results


# ---------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    ensure_torch_environment(args)
    layer_bin, fft_bin = find_binaries(args.build_dir)
    try:
        import numpy as np
        import torch
    except ImportError as e:
        sys.exit(f"error: {e}. Run this script with Debian's /usr/bin/python3 (python3-torch, python3-numpy).")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; C++ benchmarks: {os.path.dirname(layer_bin)}")
    print("torch environment: " + " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in torch_environment(args)))
    gflops, blas_libs, blas_core = blas_check(torch, args)

    HyenaOrder2, fftconv, fftconv_cached = define_modules(torch)
    check_correctness(torch, np, HyenaOrder2, fftconv)

    start = time.perf_counter()
    print("C++ benchmarks:", flush=True)
    cpp = cpp_timings(args, layer_bin, fft_bin)
    cpp_seconds = time.perf_counter() - start
    print(f"PyTorch (C++ took {cpp_seconds:.0f} s):", flush=True)
    tt = torch_timings(torch, args, HyenaOrder2, fftconv, fftconv_cached)

    pairs = [("layer_recompute", "BM_layer_recompute"), ("layer_cached", "BM_layer"),
             ("fft_conv", "BM_fft_conv"), ("fft_conv_cached_spectrum", "BM_fft_conv"),
             ("short_conv", "BM_stage_short_conv")]
    rows = {}
    for L in args.lengths:
        rows[L] = {}
        for key, bm in pairs:
            c = cpp.get((bm, L), float("nan"))
            rows[L][key] = {"torch_ms": tt[L][key], "cpp_ms": c, "cpp_benchmark": bm, "speedup": tt[L][key] / c}

    print(f"\nOrder-2 Hyena, d_model {D_MODEL}, batch 1, float32, {args.threads} threads: "
          f"PyTorch {torch.__version__} (reference code path) vs C++ (this repo), ms; x = torch / C++")
    heads = [("layer, filters recomputed", "layer_recompute"), ("layer, filters cached", "layer_cached"),
             ("fftconv (rfft k each call)", "fft_conv"), ("fftconv (k spectrum cached)", "fft_conv_cached_spectrum"),
             ("short conv", "short_conv")]
    print(f"{'':>6} |" + "|".join(f" {h:^27} " for h, _ in heads))
    print(f"{'L':>6} |" + "|".join(f" {'torch':>8} {'C++':>8} {'x':>8} " for _ in heads))
    for L in args.lengths:
        cells = []
        for _, key in heads:
            r = rows[L][key]
            cells.append(f" {r['torch_ms']:8.2f} {r['cpp_ms']:8.2f} {r['speedup']:7.2f}x ")
        print(f"{L:>6} |" + "|".join(cells))
    print("(C++: BM_layer_recompute, BM_layer (filter spectra cached), BM_fft_conv/C:768 (spectra precomputed),"
          " BM_stage_short_conv; medians)")

    targets = []
    for L, need in LAYER_TARGETS:
        for key, label in (("layer_recompute", "filters recomputed, as HyenaOperator.forward"),
                           ("layer_cached", "filters cached on both sides")):
            if L in rows:
                targets.append((f"layer >= {need}x at L={L} ({label})", rows[L][key]["speedup"], need))
    L0, need = FFT_TARGET
    for L in (x for x in args.lengths if x >= L0):
        targets.append((f"FFT convolution >= {need}x at L={L} (reference fftconv)", rows[L]["fft_conv"]["speedup"], need))
        targets.append((f"FFT convolution >= {need}x at L={L} (stricter: torch caches the k spectrum too)",
                        rows[L]["fft_conv_cached_spectrum"]["speedup"], need))
    print("\nTargets (torch / C++ at least):")
    for label, got, need in targets:
        verdict = "PASS" if got >= need else ("MISS" if got == got else "n/a ")
        print(f"  {verdict}  {label}: {got:.2f}x")
    print(f"(measurements took {time.perf_counter() - start:.0f} s: C++ {cpp_seconds:.0f} s, "
          f"PyTorch {time.perf_counter() - start - cpp_seconds:.0f} s)")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"config": {"d_model": D_MODEL, "order": 2, "batch": 1, "dtype": "float32",
                              "threads": args.threads, "lengths": args.lengths, "torch": torch.__version__,
                              "blas_gflops": gflops, "blas_libraries": blas_libs,
                              "openblas_core": blas_core,
                              "cpp_binaries": [layer_bin, fft_bin], "cpp_repetitions": args.cpp_repetitions,
                              "torch_environment": {k: os.environ.get(k) for k in torch_environment(args)}},
                   "results": {str(L): v for L, v in rows.items()},
                   "targets": [{"target": t, "speedup": g, "needed": n, "pass": g >= n} for t, g, n in targets]},
                  f, indent=1, allow_nan=True)
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
