#!/usr/bin/env python3
"""Check the gradients hyena-forward --grad-output wrote against the weights
they belong to.

    check_gradients.py PARAMS.safetensors IO.safetensors GRAD_NAME GRADS.safetensors

Passes (exit 0) when GRADS holds grad_input of the input's shape and, for
every tensor of PARAMS but the buffer pos_emb.t, "grad.<name>" of its shape
(the tied sine frequency under each of its names, all equal), every value
finite, and grad.out_proj.bias equal to the upstream gradient summed over
batch and time (its closed form: out = y W_out^T + b_out) within 1e-5
relative. Otherwise lists every problem and exits 1. Standard library only.
"""

import json
import math
import struct
import sys

_FORMAT = {"F32": ("f", 4), "F64": ("d", 8)}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        code, size = _FORMAT[entry["dtype"]]
        begin, end = entry["data_offsets"]
        values = struct.unpack("<%d%s" % ((end - begin) // size, code), data[begin:end])
        tensors[name] = (entry["shape"], values)
    return tensors


def main(params_path, io_path, grad_name, grads_path):
    params, io, grads = read(params_path), read(io_path), read(grads_path)
    problems = []
    input_shape = io["input"][0]
    if "grad_input" not in grads:
        problems.append("no grad_input")
    elif grads["grad_input"][0] != input_shape:
        problems.append("grad_input has shape %s, expected %s" % (grads["grad_input"][0], input_shape))
    freqs = []
    for name, (shape, _) in params.items():
        key = "grad." + name
        if name.endswith("pos_emb.t"):
            if key in grads:
                problems.append("%s written: t is a buffer" % key)
            continue
        if key not in grads:
            problems.append("missing %s" % key)
            continue
        if grads[key][0] != shape:
            problems.append("%s has shape %s, expected %s" % (key, grads[key][0], shape))
        if not all(math.isfinite(v) for v in grads[key][1]):
            problems.append("%s has a non-finite value" % key)
        if name.endswith(".freq"):
            freqs.append((key, grads[key][1]))
    for key, values in freqs[1:]:
        if values != freqs[0][1]:
            problems.append("%s differs from %s: tied keys carry the one shared gradient" % (key, freqs[0][0]))
    extra = [k for k in grads if k.startswith("grad.") and k[len("grad."):] not in params]
    if extra:
        problems.append("gradients of no parameter: %s" % ", ".join(sorted(extra)))
    shape, dout = io[grad_name]
    d = shape[-1]
    expected = [math.fsum(dout[i] for i in range(j, len(dout), d)) for j in range(d)]
    got = grads.get("grad.out_proj.bias", (None, []))[1]
    scale = max(abs(v) for v in expected) or 1.0
    if len(got) != d or max(abs(a - b) for a, b in zip(got, expected)) > 1e-5 * scale:
        problems.append("grad.out_proj.bias is not the upstream gradient summed over batch and time")
    for p in problems:
        print("check_gradients: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
