#!/usr/bin/env python3
"""Convert a vortex / Evo 2 (StripedHyena 2) checkpoint to the safetensors
file and JSON config that hyena-lm and hyena::load_sh2_model read.

    convert_vortex.py CHECKPOINT CONFIG.yml OUTPUT.safetensors OUTPUT.json [--unsafe-pickle]

CHECKPOINT is a vortex / Evo 2 state_dict (.pt, needs torch) or a
safetensors file already in vortex's keys (then only the config is
converted and the tensors are copied). CONFIG.yml is the model's vortex
config (configs/evo2-*.yml; needs python3-yaml, or give it as .json).

What it does:
  * writes every tensor under its own key, in its own dtype (BF16 stays BF16:
    the library widens it when it loads), dropping TransformerEngine's
    "_extra_state" entries (FP8 bookkeeping, not weights);
  * with column_split true (every Evo 2 config), permutes each attention
    block's Wqkv rows from the checkpoint's per-head [H, 3, Dh] order to the
    runtime [3, H, Dh] order, as vortex's custom_load_state_dict does
    (SPEC.md 4); the reference dumps and the safetensors written here hold the
    runtime order, so a safetensors CHECKPOINT is taken as already permuted;
  * writes the config's keys as JSON, unchanged.

torch.load unpickles: by default with weights_only=True, which cannot run code
from the file; --unsafe-pickle lifts that, for files you trust.
"""

import argparse
import json
import struct
import sys


class ConversionError(Exception):
    pass


def read_config(path):
    with open(path) as f:
        if path.endswith(".json"):
            config = json.load(f)
        else:
            try:
                import yaml
            except ImportError:
                raise ConversionError("reading a .yml config needs PyYAML (Debian: python3-yaml)")
            config = yaml.safe_load(f)
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        config = config["config"]
    if not isinstance(config, dict) or "hidden_size" not in config:
        raise ConversionError(f"{path}: not a vortex model config (no hidden_size)")
    return config


_ST_DTYPES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


def read_safetensors(path):
    """{name: (dtype, shape, bytes)} of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ConversionError(f"{path}: truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = (info["dtype"], list(info["shape"]), blob[8 + n + begin : 8 + n + end])
    return out


def read_torch(path, unsafe):
    try:
        import torch
    except ImportError:
        raise ConversionError("reading a .pt checkpoint needs PyTorch")
    state = torch.load(path, map_location="cpu", weights_only=not unsafe)
    if isinstance(state, dict) and "module" in state and isinstance(state["module"], dict):
        state = state["module"]
    names = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
    out = {}
    for name, t in state.items():
        if not torch.is_tensor(t) or "_extra_state" in name:
            continue
        if t.dtype not in names:
            raise ConversionError(f"tensor {name}: dtype {t.dtype} is not supported")
        t = t.detach().contiguous()
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        out[name] = (names[t.dtype], list(t.shape), raw.numpy().tobytes())
    return out


def permute_wqkv(name, entry, config):
    """Rows [H][3][Dh] -> [3][H][Dh] (vortex's column split of Wqkv)."""
    dtype, shape, data = entry
    D, H = config["hidden_size"], config["num_attention_heads"]
    Dh = D // H
    rows = shape[0]
    if rows != 3 * D:
        raise ConversionError(f"{name}: {rows} rows; vortex's column split reshapes Wqkv as [H, 3, Dh], "
                              f"which needs 3*hidden_size = {3 * D} rows (no grouped-query attention)")
    row_bytes = len(data) // rows
    out = bytearray(len(data))
    for h in range(H):
        for which in range(3):
            for d in range(Dh):
                src = (h * 3 + which) * Dh + d
                dst = (which * H + h) * Dh + d
                out[dst * row_bytes : (dst + 1) * row_bytes] = data[src * row_bytes : (src + 1) * row_bytes]
    return dtype, shape, bytes(out)


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(tensors):
            f.write(tensors[name][2])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("config")
    p.add_argument("output")
    p.add_argument("output_config")
    p.add_argument("--unsafe-pickle", action="store_true")
    args = p.parse_args(argv)
    try:
        config = read_config(args.config)
        from_safetensors = args.checkpoint.endswith(".safetensors")
        tensors = read_safetensors(args.checkpoint) if from_safetensors else read_torch(args.checkpoint, args.unsafe_pickle)
        if "embedding_layer.weight" not in tensors:
            raise ConversionError(f"{args.checkpoint}: no embedding_layer.weight (not a vortex / Evo 2 state_dict)")
        if config.get("column_split", True) and not from_safetensors:
            for name in list(tensors):
                if name.endswith(".inner_mha_cls.Wqkv.weight") or name.endswith(".inner_mha_cls.Wqkv.bias"):
                    tensors[name] = permute_wqkv(name, tensors[name], config)
        write_safetensors(args.output, tensors)
        with open(args.output_config, "w") as f:
            json.dump(config, f, indent=1, sort_keys=True, default=str)
    except (ConversionError, OSError, ValueError) as e:
        print(f"convert_vortex.py: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(tensors)} tensors to {args.output} and the config to {args.output_config}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
