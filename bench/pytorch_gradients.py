#!/usr/bin/python3
"""hyena-forward --grad-output against torch.autograd, key by key, on the
shared reference dumps of order-2 operators.

Optional, not part of CI: it needs Debian's python3-torch (run it with
/usr/bin/python3) and a built hyena-forward:

    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --target hyena-forward
    /usr/bin/python3 bench/pytorch_gradients.py [--build-dir build] [--reference ../shared/reference]

For each order-2 case under safari/, the PyTorch layer of bench/pytorch_layer.py
(HyenaOrder2, written from docs/operator.md), given the case's filter sizes,
shift and window, gets the dump's weights in float64, with z and the decay
rates as trainable parameters. It runs the dump's input forward and
backpropagates the dump's output tensor as the upstream gradient; hyena-forward
--double --grad-output output does the same. Every grad.<key> the tool writes
(the tied sine frequency under each key) is compared with the .grad PyTorch
reports for that key: max |ours - torch| / max |torch|, and grad_input with
the input's .grad. Exit status 1 if any exceeds --tolerance (1e-9: both sides
in double, the FFTs' rounding well below it).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "examples"))
import pytorch_layer  # noqa: E402
import convert_checkpoint  # noqa: E402  (a safetensors reader)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default=str(ROOT / "build"))
    p.add_argument("--reference", default=str(ROOT.parent / "shared" / "reference"))
    p.add_argument("--tolerance", type=float, default=1e-9)
    return p.parse_args()


def arrays(path, np):
    out = {}
    for name, t in convert_checkpoint.read_safetensors(path).items():
        dtype = {"F32": np.float32, "F64": np.float64}[t.dtype]
        out[name] = np.frombuffer(t.data, dtype=dtype).reshape(t.shape).astype(np.float64)
    return out


def torch_layer(torch, config, params):
    nn = torch.nn
    HyenaOrder2, _, _ = pytorch_layer.define_modules(torch)
    r = config["resolved"]
    layer = HyenaOrder2(r["d_model"], r["l_max"])
    ImplicitFilter = type(layer.filter_fn)
    layer.filter_fn = ImplicitFilter(r["d_model"], r["l_max"], emb_dim=r["emb_dim"], width=r["filter_order"],
                                     inner=r["num_inner_mlps"], shift=r["shift"])
    layer = layer.double()
    f = layer.filter_fn
    del f._buffers["deltas"]
    f.deltas = nn.Parameter(torch.zeros(1, 1, r["d_model"], dtype=torch.float64))
    named = {"in_proj.weight": layer.in_proj.weight, "in_proj.bias": layer.in_proj.bias,
             "out_proj.weight": layer.out_proj.weight, "out_proj.bias": layer.out_proj.bias,
             "short_filter.weight": layer.short_filter.weight, "short_filter.bias": layer.short_filter.bias,
             "filter_fn.bias": f.bias, "filter_fn.pos_emb.z": f.pos.z, "filter_fn.modulation.deltas": f.deltas}
    for i, module in enumerate(f.mlp):
        if hasattr(module, "weight"):
            named[f"filter_fn.implicit_filter.{i}.weight"] = module.weight
            if module.bias is not None:
                named[f"filter_fn.implicit_filter.{i}.bias"] = module.bias
        else:
            named[f"filter_fn.implicit_filter.{i}.freq"] = module.freq
    with torch.no_grad():
        for key, p in named.items():
            p.copy_(torch.from_numpy(params[key]).reshape(p.shape))
        f.pos.t.copy_(torch.from_numpy(params["filter_fn.pos_emb.t"]).reshape(f.pos.t.shape))
    return layer, named


def main():
    args = parse_args()
    import numpy as np
    import torch
    torch.set_default_dtype(torch.float64)
    tool = pathlib.Path(args.build_dir) / "examples" / "hyena-forward"
    if not tool.exists():
        sys.exit(f"error: {tool} not found (build the hyena-forward target first)")
    worst_overall, failed = 0.0, False
    for case in sorted(pathlib.Path(args.reference, "safari").iterdir()):
        config = json.loads((case / "config.json").read_text())
        r = config["resolved"]
        if r["order"] != 2 or not r["modulate"]:
            print(f"{case.name}: skipped (the PyTorch layer here is order 2 with the window)")
            continue
        params = arrays(case / "params.safetensors", np)
        io = arrays(case / "io.safetensors", np)
        layer, named = torch_layer(torch, config, params)
        x = torch.from_numpy(io["input"]).requires_grad_(True)
        layer(x).backward(torch.from_numpy(io["output"]))
        layout = "interleaved" if config["impl"] == "src" else "blocked"
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "grads.safetensors"
            subprocess.run([str(tool), "--double", "--weights", str(case / "params.safetensors"), "--input",
                            str(case / "io.safetensors"), "--output", str(out), "--layout", layout, "--shift",
                            str(r["shift"]), "--grad-output", "output"], check=True)
            ours = arrays(out, np)
        rows = [("grad_input", ours["grad_input"], x.grad.numpy())]
        for key in params:
            if key.endswith("pos_emb.t"):
                continue
            rows.append((key, ours["grad." + key], named[key].grad.numpy().reshape(params[key].shape)))
        worst = 0.0
        for key, a, b in rows:
            err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
            worst = max(worst, err)
            if err > args.tolerance:
                failed = True
                print(f"  {case.name} {key}: {err:.2e} (over {args.tolerance:.0e})")
        worst_overall = max(worst_overall, worst)
        print(f"{case.name}: {len(rows)} tensors, worst max-relative difference {worst:.2e}")
    print(f"worst over every case and key: {worst_overall:.2e} (tolerance {args.tolerance:.0e})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
