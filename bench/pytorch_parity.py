#!/usr/bin/python3
"""The Python module against the PyTorch order-2 Hyena layer, on the same
weights: max relative error and time of each, at 1K-64K tokens.

Optional, not part of CI: it needs Debian's python3-torch (run it with
/usr/bin/python3) and the built module:

    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DHYENA_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3
    cmake --build build --target hyena_python
    /usr/bin/python3 bench/pytorch_parity.py [--module-dir build/python/module] [--lengths 1024,4096,16384,65536]

The PyTorch layer is bench/pytorch_layer.py's HyenaOrder2 (written from
docs/operator.md: in_proj, depthwise Conv1d, implicit filter MLP with sine
activations and exponential window, fftconv, gating, out_proj; d_model 768),
run in float32 with the filter recomputed on every call, as HyenaOperator's
forward does. Its state_dict goes to hyena.Operator.load under the reference
code's key names (docs/operator.md, "Weights") through .numpy(), and the same
input array reaches both. Errors are against the same PyTorch layer in
float64: max|y - y64| / max|y64|, for PyTorch float32 and for the module.
Like bench/pytorch_layer.py, torch runs on OpenBLAS (the script re-executes
itself with it on LD_LIBRARY_PATH) with the same thread count as the module.
"""
import argparse
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import pytorch_layer  # noqa: E402  (the layer and the torch environment of the main comparison)
from python_support import import_hyena, machine  # noqa: E402

REEXEC_MARK = "HYENA_PYTORCH_PARITY_REEXEC"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--module-dir", default=None, help="folder holding the built hyena module")
    p.add_argument("--lengths", default="1024,4096,16384,65536", help="comma-separated sequence lengths")
    p.add_argument("--threads", type=int, default=2, help="threads for torch, OpenBLAS and the module")
    p.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per measurement (at least 3)")
    args = p.parse_args()
    args.lengths = [int(x) for x in args.lengths.split(",")]
    # What pytorch_layer.torch_environment reads.
    args.openblas_coretype, args.torch_default_malloc = "auto", False
    return args


def ensure_environment(args):
    want = pytorch_layer.torch_environment(args)
    if all(os.environ.get(k) == v for k, v in want.items()) or REEXEC_MARK in os.environ:
        return
    env = dict(os.environ, **want)
    env[REEXEC_MARK] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def reference_state_dict(layer):
    """HyenaOrder2's parameters under the reference HyenaOperator's keys, as NumPy arrays (no copies)."""
    f = layer.filter_fn
    sd = {
        "in_proj.weight": layer.in_proj.weight, "in_proj.bias": layer.in_proj.bias,
        "out_proj.weight": layer.out_proj.weight, "out_proj.bias": layer.out_proj.bias,
        "short_filter.weight": layer.short_filter.weight, "short_filter.bias": layer.short_filter.bias,
        "filter_fn.bias": f.bias, "filter_fn.pos_emb.z": f.pos.z, "filter_fn.pos_emb.t": f.pos.t,
        "filter_fn.modulation.deltas": f.deltas,
    }
    for i, module in enumerate(f.mlp):
        if hasattr(module, "weight"):
            sd[f"filter_fn.implicit_filter.{i}.weight"] = module.weight
            if module.bias is not None:
                sd[f"filter_fn.implicit_filter.{i}.bias"] = module.bias
        else:
            sd[f"filter_fn.implicit_filter.{i}.freq"] = module.freq
    return {k: v.detach().numpy() for k, v in sd.items()}


def max_relative(a, b):
    import numpy as np
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())


def main():
    args = parse_args()
    ensure_environment(args)
    import numpy as np
    import torch
    hyena = import_hyena(args.module_dir)
    torch.set_num_threads(args.threads)
    HyenaOrder2, _, _ = pytorch_layer.define_modules(torch)
    print(f"machine: {machine()}; torch {torch.__version__}, {args.threads} threads for both")
    pytorch_layer.blas_check(torch, argparse.Namespace(threads=args.threads, allow_slow_blas=True))
    print(f"{'L':>6} | {'torch f32 ms':>12} {'hyena ms':>9} {'speed-up':>8} | "
          f"{'torch f32 err':>13} {'hyena err':>9} (max rel. vs torch float64)")
    for L in args.lengths:
        torch.manual_seed(L)
        layer = HyenaOrder2(pytorch_layer.D_MODEL, L).eval()
        u = torch.randn(1, L, pytorch_layer.D_MODEL)
        op = hyena.Operator.load(reference_state_dict(layer), threads=args.threads)
        u_np = u.numpy()  # shares u's memory: the module reads it in place
        out = np.empty_like(u_np)
        with torch.inference_mode():
            y32 = layer(u).numpy().copy()
            torch_ms = pytorch_layer.time_ms(lambda: layer(u), args.budget)
            y64 = layer.double()(u.double()).numpy()
        op(u_np, out=out)
        hyena_ms = pytorch_layer.time_ms(lambda: op(u_np, out=out), args.budget)
        print(f"{L:6d} | {torch_ms:12.1f} {hyena_ms:9.1f} {torch_ms / hyena_ms:7.2f}x | "
              f"{max_relative(y32, y64):13.1e} {max_relative(out, y64):9.1e}", flush=True)
        del layer, u, u_np, out, y32, y64, op


if __name__ == "__main__":
    main()
