#!/usr/bin/env python3
"""Convert a HyenaDNA / safari language-model checkpoint to the safetensors
file hyena-lm and hyena::load_hyena_lm read.

    convert_checkpoint.py INPUT OUTPUT.safetensors [--dtype float32|float64] [--unsafe-pickle]

INPUT is one of
  * a PyTorch Lightning checkpoint (HyenaDNA's weights.ckpt: {"state_dict": ...},
    keys behind "model."), needs torch;
  * a plain state_dict (pytorch_model.bin, *.pt), needs torch;
  * a safetensors file (re-keyed only; needs nothing beyond the standard library).

What it does to the keys:
  * finds the model by its embedding, "<prefix>backbone.embeddings.word_embeddings.weight",
    and strips <prefix> ("model.", "hyena.", "module.", ...) from every key;
  * maps ".mixer.layer." and ".mlp.layer." (checkpoints trained with gradient
    checkpointing) to ".mixer." and ".mlp.";
  * keeps only "backbone.*" and "lm_head.weight", and drops lm_head.weight
    when it equals the embedding (the tied head of the training code);
  * writes tied tensors (the filters' shared sine frequency) as separate copies.

Floating-point tensors are written as float32 (or float64), integer buffers
as int64. The safetensors package is used when installed; otherwise the file
is written here with struct and json (the format is an 8-byte little-endian
header length, a JSON header, then the packed little-endian data).

torch.load unpickles: by default with weights_only=True, which cannot run code
from the file. Lightning checkpoints that store their config as objects need
--unsafe-pickle; use it only for files you trust.
"""

import argparse
import array
import json
import os
import struct
import sys

ANCHOR = "backbone.embeddings.word_embeddings.weight"

# safetensors dtype -> (struct / array typecode, bytes per element)
_FORMATS = {"F64": ("d", 8), "F32": ("f", 4), "I64": ("q", 8), "I32": ("i", 4)}


class ConversionError(Exception):
    pass


class Tensor:
    """A dense little-endian tensor: safetensors dtype name, shape, raw bytes."""

    def __init__(self, dtype, shape, data):
        self.dtype = dtype
        self.shape = list(shape)
        self.data = data

    def elements(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


# --- reading -----------------------------------------------------------------

def _f16_to_f32_bytes(raw, bfloat):
    """F16 / BF16 little-endian bytes to F32 bytes, exactly."""
    halves = array.array("H")
    halves.frombytes(raw)
    if sys.byteorder != "little":
        halves.byteswap()
    out = array.array("f")
    for h in halves:
        if bfloat:
            out.append(struct.unpack("<f", struct.pack("<I", h << 16))[0])
        else:
            out.append(struct.unpack("<e", struct.pack("<H", h))[0])
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ConversionError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ConversionError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        dtype = entry["dtype"]
        if dtype in ("F16", "BF16"):
            raw, dtype = _f16_to_f32_bytes(raw, dtype == "BF16"), "F32"
        if dtype not in _FORMATS:
            raise ConversionError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        tensors[name] = Tensor(dtype, entry["shape"], raw)
    return tensors


def read_torch(path, unsafe_pickle):
    try:
        import torch
    except ImportError:
        raise ConversionError(f"{path}: reading PyTorch checkpoints needs torch (pip install torch)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not unsafe_pickle)
    except TypeError:  # torch < 1.13 has no weights_only
        if not unsafe_pickle:
            raise ConversionError("this torch cannot load without unpickling; rerun with --unsafe-pickle "
                                  "if you trust the file")
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - report torch's reason on one line
        hint = "" if unsafe_pickle else " (a Lightning checkpoint may need --unsafe-pickle, for trusted files only)"
        raise ConversionError(f"{path}: torch.load failed: {str(e).splitlines()[0]}{hint}")
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    tensors = {}
    for name, t in obj.items():
        if not torch.is_tensor(t):
            continue
        t = t.detach().cpu().contiguous()
        if t.is_floating_point():  # F16 / BF16 widen exactly; --dtype decides the output
            dtype = "F64" if t.dtype == torch.float64 else "F32"
            t = t.to(torch.float64 if dtype == "F64" else torch.float32)
        elif t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool):
            t, dtype = t.to(torch.int64), "I64"
        else:
            continue  # complex and other dtypes: nothing the model stores
        tensors[name] = Tensor(dtype, list(t.shape), _torch_bytes(t, dtype))
    return tensors


def _torch_bytes(t, dtype):
    try:
        import numpy  # noqa: F401 - torch's own .numpy() needs it
        raw = t.numpy().tobytes()
        if sys.byteorder != "little":
            a = array.array(_FORMATS[dtype][0])
            a.frombytes(raw)
            a.byteswap()
            raw = a.tobytes()
        return raw
    except ImportError:
        a = array.array(_FORMATS[dtype][0], t.reshape(-1).tolist())
        if sys.byteorder != "little":
            a.byteswap()
        return a.tobytes()


# --- converting ----------------------------------------------------------------

def _cast(t, dtype):
    """Float tensors to `dtype` ("F32" or "F64"); integer tensors unchanged."""
    if t.dtype not in ("F32", "F64") or t.dtype == dtype:
        return t
    src = array.array(_FORMATS[t.dtype][0])
    src.frombytes(t.data)
    if sys.byteorder != "little":
        src.byteswap()
    dst = array.array(_FORMATS[dtype][0], src)
    if sys.byteorder != "little":
        dst.byteswap()
    return Tensor(dtype, t.shape, dst.tobytes())


def convert(tensors, dtype="F32", log=print):
    """The state_dict renamed to the keys hyena::load_hyena_lm_weights reads."""
    prefixes = [n[: -len(ANCHOR)] for n in tensors if n.endswith(ANCHOR) and (n == ANCHOR or n[-len(ANCHOR) - 1] == ".")]
    if not prefixes:
        raise ConversionError(f"no {ANCHOR!r} under any prefix: not a HyenaDNA / safari language model")
    if len(prefixes) > 1:
        raise ConversionError(f"several models in one file (prefixes {prefixes!r}); keep one")
    prefix = prefixes[0]
    out = {}
    for name, t in tensors.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        if not (key.startswith("backbone.") or key == "lm_head.weight"):
            continue
        key = key.replace(".mixer.layer.", ".mixer.").replace(".mlp.layer.", ".mlp.")
        if key in out:
            raise ConversionError(f"two tensors map to {key!r} (both with and without '.layer.'?)")
        out[key] = _cast(t, dtype)
    kept = len(out)
    head = out.get("lm_head.weight")
    if head is not None:
        emb = out[ANCHOR]
        if head.shape == emb.shape and head.data == emb.data:
            del out["lm_head.weight"]  # tied: the embedding is the head
        else:
            log("warning: lm_head.weight differs from the embedding; kept, but hyena-lm supports tied heads only")
    skipped = sum(1 for n in tensors if n.startswith(prefix)) - kept
    log(f"{len(out)} tensors written (prefix {prefix!r} removed; {skipped} other keys skipped)")
    return out


# --- writing -----------------------------------------------------------------

def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, t in tensors.items():
        size = len(t.data)
        if size != t.elements() * _FORMATS[t.dtype][1]:
            raise ConversionError(f"tensor {name!r}: {size} bytes for shape {t.shape} of {t.dtype}")
        header[name] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            f.write(t.data)
    os.replace(tmp, path)


def save(path, tensors):
    try:
        import numpy
        from safetensors.numpy import save_file
    except ImportError:
        write_safetensors(path, tensors)
        return
    arrays = {}
    for name, t in tensors.items():
        a = numpy.frombuffer(t.data, dtype={"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}[t.dtype])
        arrays[name] = a.reshape(t.shape).copy()  # a copy per key: tied tensors must not share memory
    save_file(arrays, path, metadata={"format": "pt"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="weights.ckpt, pytorch_model.bin, *.pt or *.safetensors")
    parser.add_argument("output", help="the safetensors file to write")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="floating-point type of the output (default float32)")
    parser.add_argument("--unsafe-pickle", action="store_true",
                        help="let torch.load run pickled code (trusted files only; some Lightning checkpoints)")
    args = parser.parse_args(argv)
    try:
        if args.input.endswith(".safetensors"):
            tensors = read_safetensors(args.input)
        else:
            tensors = read_torch(args.input, args.unsafe_pickle)
        out = convert(tensors, "F64" if args.dtype == "float64" else "F32",
                      log=lambda m: print(f"convert_checkpoint: {m}", file=sys.stderr))
        save(args.output, out)
    except (ConversionError, OSError, ValueError, KeyError) as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
