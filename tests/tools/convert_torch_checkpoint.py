#!/usr/bin/env python3
"""Make a real PyTorch checkpoint from a dumped state_dict, convert it with
examples/convert_checkpoint.py, and check the result with check_converted.py.

    convert_torch_checkpoint.py KIND EXPECTED.safetensors CONVERTER.py OUTDIR

KIND is
  lightning_ckpt  a Lightning-style weights.ckpt: torch.save of {"state_dict": ...,
                  "epoch": ..., ...} with every key behind "model.", block 0's mixer
                  and MLP behind ".layer." (gradient checkpointing wraps them),
                  the tied lm_head and a key outside the model;
  state_dict_bin  a pytorch_model.bin: torch.save of the plain state_dict, with
                  the tied lm_head.
In both, the filters' sine frequencies (".freq") that are equal share one
tensor, as the trained model's tied parameters do, and lm_head is the
embedding tensor itself. The converter runs as a program, without
--unsafe-pickle (torch.load with weights_only=True); for the .ckpt, a torch
whose weights_only loader rejects it (torch < 2: the optimizer's float lr)
must be reported on one line naming --unsafe-pickle, and the conversion
with --unsafe-pickle must then pass the same check.

Exits 77 (CTest's SKIP_RETURN_CODE) when this Python has no torch: torch is
optional, and the torch-free conversion tests run without it.
"""

import os
import subprocess
import sys

SKIP = 77


def main(argv):
    if len(argv) != 5 or argv[1] not in ("lightning_ckpt", "state_dict_bin"):
        print("usage: convert_torch_checkpoint.py lightning_ckpt|state_dict_bin EXPECTED.safetensors "
              "CONVERTER.py OUTDIR", file=sys.stderr)
        return 2
    kind, expected_path, converter, outdir = argv[1:]
    try:
        import torch
    except ImportError as e:
        print(f"skipped: {sys.executable} cannot import torch ({e})")
        return SKIP

    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import check_converted

    if sys.byteorder != "little":
        print("skipped: torch.frombuffer reads native byte order, and safetensors is little-endian")
        return SKIP
    torch_dtype = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
    expected = check_converted.read(expected_path)
    state = {}
    tied = {}  # (dtype, shape, bytes) of a .freq tensor -> the one tensor they share
    for name, (dtype, shape, data) in expected.items():
        key = (dtype, tuple(shape), data)
        if name.endswith(".freq") and key in tied:
            state[name] = tied[key]
            continue
        t = torch.frombuffer(bytearray(data), dtype=torch_dtype[dtype]).reshape(shape).clone()
        state[name] = t
        if name.endswith(".freq"):
            tied[key] = t
    embedding = state["backbone.embeddings.word_embeddings.weight"]
    shared = sum(1 for n in expected if n.endswith(".freq")) - len(tied)
    if shared == 0:
        print("note: no equal .freq tensors to tie")

    os.makedirs(outdir, exist_ok=True)
    if kind == "lightning_ckpt":
        source = os.path.join(outdir, "torch_weights.ckpt")
        model = {}
        for name, t in state.items():
            if name.startswith("backbone.layers.0."):
                name = name.replace(".mixer.", ".mixer.layer.").replace(".mlp.", ".mlp.layer.")
            model["model." + name] = t
        model["model.lm_head.weight"] = embedding
        model["decoder.0.output_transform.weight"] = torch.zeros(2, 3)  # not the model's: skipped
        torch.save({"epoch": 3, "global_step": 1200, "pytorch-lightning_version": "1.8.6",
                    "state_dict": model, "loops": {}, "callbacks": {},
                    "optimizer_states": [{"state": {}, "param_groups": [{"lr": 6e-4, "params": [0, 1]}]}],
                    "lr_schedulers": []}, source)
    else:
        source = os.path.join(outdir, "torch_pytorch_model.bin")
        plain = dict(state)
        plain["lm_head.weight"] = embedding
        torch.save(plain, source)

    converted = os.path.join(outdir, f"torch_{kind}_converted.safetensors")
    if os.path.exists(converted):
        os.remove(converted)
    run = convert(converter, source, converted)
    if run.returncode != 0 and kind == "lightning_ckpt":
        # torch < 2 cannot unpickle a float outside a tensor with weights_only
        # (the optimizer's lr here, as in every Lightning checkpoint): the
        # converter must then say so on one line, and --unsafe-pickle, fine
        # for a file made here, must work.
        lines = run.stderr.strip().splitlines()
        if run.returncode != 1 or len(lines) != 1 or "--unsafe-pickle" not in lines[0]:
            print(f"convert_torch_checkpoint: expected exit 1 and one line naming --unsafe-pickle, "
                  f"got exit {run.returncode}")
            return 1
        print(f"note: torch {torch.__version__} cannot load this checkpoint with weights_only; "
              "converting again with --unsafe-pickle")
        run = convert(converter, source, converted, "--unsafe-pickle")
    if run.returncode != 0:
        print(f"convert_torch_checkpoint: {converter} {source} exited {run.returncode}")
        return 1
    return check_converted.check(expected_path, converted)


def convert(converter, source, converted, *options):
    run = subprocess.run([sys.executable, converter, source, converted, *options], capture_output=True, text=True)
    sys.stdout.write(run.stderr)
    return run


if __name__ == "__main__":
    sys.exit(main(sys.argv))
