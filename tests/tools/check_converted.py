#!/usr/bin/env python3
"""Check a file written by examples/convert_checkpoint.py against the state_dict
it should hold.

    check_converted.py EXPECTED.safetensors CONVERTED.safetensors

Passes (exit 0) when CONVERTED has exactly EXPECTED's tensor names, and each
tensor has the same dtype, the same shape and byte-identical data. Otherwise
it lists every difference and exits 1. A converter that copies its input, or
keeps a "model." prefix, a ".layer." level or the tied lm_head, fails here even
though hyena-lm, which reads those variants too, would run on its output.

Standard library only, and on purpose not convert_checkpoint's own reader: a
bug shared by the writer and its reader must not cancel out. The reader below
checks the format (header length, JSON header, dtypes, in-bounds offsets whose
sizes match the shapes) rather than trusting it.
"""

import json
import struct
import sys

_ITEM_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class FormatError(Exception):
    pass


def read(path):
    """{name: (dtype, shape, bytes)} of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError(f"{path}: {len(blob)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise FormatError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(f"{path}: header is not JSON: {e}")
    if not isinstance(header, dict):
        raise FormatError(f"{path}: header is not a JSON object")
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise FormatError(f"{path}: tensor {name!r}: entry {entry!r} lacks dtype, shape or data_offsets")
        if dtype not in _ITEM_SIZE:
            raise FormatError(f"{path}: tensor {name!r}: unknown dtype {dtype!r}")
        count = 1
        for d in shape:
            if not isinstance(d, int) or d < 0:
                raise FormatError(f"{path}: tensor {name!r}: bad shape {shape!r}")
            count *= d
        if not (0 <= begin <= end <= len(data)):
            raise FormatError(f"{path}: tensor {name!r}: data_offsets [{begin}, {end}] outside the "
                              f"{len(data)}-byte data section")
        if end - begin != count * _ITEM_SIZE[dtype]:
            raise FormatError(f"{path}: tensor {name!r}: {end - begin} bytes for shape {shape} of {dtype}")
        tensors[name] = (dtype, list(shape), data[begin:end])
    return tensors


def differences(expected, converted):
    """Every way `converted` ({name: (dtype, shape, bytes)}) differs from `expected`."""
    problems = []
    for name in sorted(converted):
        if name in expected:
            continue
        if name.startswith("model."):
            problems.append(f"{name!r}: still has the 'model.' prefix")
        elif ".layer." in name:
            problems.append(f"{name!r}: still has the '.layer.' level of checkpointed blocks")
        elif name.endswith("lm_head.weight"):
            problems.append(f"{name!r}: the tied lm_head should have been dropped")
        else:
            problems.append(f"{name!r}: not in the expected state_dict")
    for name in sorted(expected):
        if name not in converted:
            problems.append(f"{name!r}: missing")
            continue
        (dtype, shape, data), (got_dtype, got_shape, got_data) = expected[name], converted[name]
        if got_dtype != dtype:
            problems.append(f"{name!r}: dtype {got_dtype}, expected {dtype}")
        if got_shape != shape:
            problems.append(f"{name!r}: shape {got_shape}, expected {shape}")
        if got_dtype == dtype and got_shape == shape and got_data != data:
            first = next(i for i, (a, b) in enumerate(zip(data, got_data)) if a != b)
            problems.append(f"{name!r}: data differs (first at byte {first} of {len(data)})")
    return problems


def check(expected_path, converted_path, out=sys.stdout):
    """0 if the files agree, else 1; the verdict and every difference on `out`."""
    try:
        expected, converted = read(expected_path), read(converted_path)
    except (OSError, FormatError) as e:
        print(f"check_converted: {e}", file=out)
        return 1
    problems = differences(expected, converted)
    if problems:
        print(f"check_converted: {converted_path} does not hold the state_dict of {expected_path}: "
              f"{len(problems)} problem(s)", file=out)
        for p in problems:
            print(f"  {p}", file=out)
        return 1
    print(f"check_converted: {converted_path}: {len(expected)} tensors, names, dtypes, shapes and bytes "
          f"identical to {expected_path}", file=out)
    return 0


def main(argv):
    if len(argv) != 3:
        print("usage: check_converted.py EXPECTED.safetensors CONVERTED.safetensors", file=sys.stderr)
        return 2
    return check(argv[1], argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
