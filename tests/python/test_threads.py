"""Calls from many Python threads at once (the GIL is released while they
compute): every result equals the one computed alone, whatever the thread
counts. (That they overlap in time is measured by bench/python_bench.py,
not asserted here.)"""
import threading

import numpy as np

import hyena
from conftest import reference_dir


def run_in_threads(count, work):
    results = [None] * count
    errors = []

    def body(i):
        try:
            results[i] = work(i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_one_operator_from_many_threads(rng):
    case = reference_dir() / "safari" / "d32_l256_o3"
    op = hyena.Operator.load(case / "params.safetensors")
    inputs = [rng.standard_normal((2, 200 + 7 * i, 32)).astype(np.float32) for i in range(6)]
    alone = [op(u) for u in inputs]

    def work(i):
        outs = []
        for _ in range(5):
            outs.append(op(inputs[i]))
            if i == 0:
                op.threads = 1 + len(outs) % 2  # changing the thread count meanwhile is safe
        return outs

    for i, outs in enumerate(run_in_threads(len(inputs), work)):
        for out in outs:
            np.testing.assert_array_equal(out, alone[i])


def test_one_model_and_one_filter_from_many_threads(rng):
    model = hyena.LM.load(reference_dir() / "hyenadna" / "dna_tiny_d32_n2" / "params.safetensors")
    ids = [rng.integers(7, 12, size=(1, 50 + i), dtype=np.int64) for i in range(4)]
    alone = [model.logits(x) for x in ids]
    for i, out in enumerate(run_in_threads(4, lambda i: model.logits(ids[i]))):
        np.testing.assert_array_equal(out, alone[i])

    f = hyena.FFTFilter(rng.standard_normal((8, 300)))
    us = [rng.standard_normal((2, 8, 300)) for _ in range(4)]
    alone = [f(u) for u in us]
    for i, out in enumerate(run_in_threads(4, lambda i: f(us[i], threads=2))):
        np.testing.assert_array_equal(out, alone[i])


def test_separate_decoding_states_from_many_threads(rng):
    case = reference_dir() / "safari" / "d16_l64_o2"
    op = hyena.Operator.load(case / "params.safetensors")
    u = rng.standard_normal((1, 64, 16)).astype(np.float32)

    def decode(_):
        state = op.make_state(1, 64)
        return np.stack([op.step(state, np.ascontiguousarray(u[:, t])) for t in range(64)], axis=1)

    results = run_in_threads(4, decode)
    alone = decode(None)
    for r in results:
        np.testing.assert_array_equal(r, alone)
    # And the decoder is the forward, to rounding (test_operator.py bounds it; 1e-5 of max|y| here).
    forward = op(u)
    assert np.abs(alone - forward).max() <= 1e-5 * np.abs(forward).max()
