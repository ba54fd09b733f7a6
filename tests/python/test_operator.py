"""hyena.Operator on the reference dumps (equal to hyena-forward's output, bit
for bit, and within the forward's tolerance of PyTorch's), from a path or a
state_dict, its stages and filters, decoding, zero-copy, lifetimes, refusals."""
import gc
import json
import sys

import numpy as np
import pytest

import hyena
from conftest import address, fft_conv_error, reference_dir, relative_l2, run_tool


def safari_cases():
    return sorted(p.name for p in (reference_dir() / "safari").iterdir() if p.is_dir())


def load_case(name, **kwargs):
    case = reference_dir() / "safari" / name
    config = json.loads((case / "config.json").read_text())
    layout = "interleaved" if config["impl"] == "src" else "blocked"
    options = dict(layout=layout, shift=config["resolved"]["shift"])
    options.update(kwargs)
    return case, config, options


@pytest.mark.parametrize("name", safari_cases())
def test_matches_the_reference_and_the_command_line_tool(tmp_path, name):
    case, config, options = load_case(name)
    op = hyena.Operator.load(case / "params.safetensors", **options)
    io = hyena.load_safetensors(case / "io.safetensors")
    out = op(io["input"])
    # The C++ suite measures the output within ~1e-7 of the float32 reference
    # (test_reference_safari.cpp); the CLI tests allow 1e-6 of max|ref|, as here.
    reference = io["output"]
    assert np.abs(out - reference).max() <= 1e-6 * np.abs(reference).max()
    # The same code as hyena-forward: the same bits.
    written = tmp_path / "out.safetensors"
    run_tool("HYENA_FORWARD", "--weights", str(case / "params.safetensors"), "--input",
             str(case / "io.safetensors"), "--output", str(written), "--layout", options["layout"],
             "--shift", str(options["shift"]))
    np.testing.assert_array_equal(out, hyena.load_safetensors(written)["output"])


def test_a_state_dict_gives_the_same_operator_as_the_file():
    case, _, options = load_case("d32_l256_o3")
    weights = hyena.load_safetensors(case / "params.safetensors")
    from_dict = hyena.Operator.load(weights, **options)
    from_file = hyena.Operator.load(str(case / "params.safetensors"), **options)
    u = hyena.load_safetensors(case / "io.safetensors")["input"]
    del weights
    gc.collect()  # the operator copied what it needs
    np.testing.assert_array_equal(from_dict(u), from_file(u))
    assert (from_dict.d_model, from_dict.order, from_dict.max_length) == (32, 3, 256)
    assert from_dict.dtype == np.float32


def test_float64_operator_agrees_with_float32_to_float32_accuracy():
    case, _, options = load_case("d16_lmax128_L97_o2")
    u = hyena.load_safetensors(case / "io.safetensors")["input"]
    single = hyena.Operator.load(case / "params.safetensors", **options)
    double = hyena.Operator.load(case / "params.safetensors", dtype="float64", **options)
    assert double.dtype == np.float64
    exact = double(u.astype(np.float64))
    # The float32 forward against the float64 one: 4x the order-2 model (one long convolution).
    fft_size = 2 * 97  # >= 2L - 1; the model grows with log2(n) only
    assert relative_l2(single(u), exact) <= 4 * fft_conv_error(np.float32, fft_size) * 4


def test_stages_compose_to_the_forward():
    case, _, options = load_case("d32_l256_o3")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    u = hyena.load_safetensors(case / "io.safetensors")["input"]
    expected = op(u)
    L = u.shape[1]
    filters = op.prepared_filters(L)
    assert filters.length == L and filters.bytes > 0 and filters.operator is op
    for b in range(u.shape[0]):
        streams = op.project_in(u[b])
        assert streams.shape == ((op.order + 1) * op.d_model, L)
        assert op.short_conv(streams) is streams
        y = op.mix(streams, filters)
        assert y.shape == (op.d_model, L) and y.base is streams  # a view: no copy
        np.testing.assert_array_equal(op.project_out(y), expected[b])


def test_filters_are_the_reference_filters():
    case, config, options = load_case("d32_l256_o3")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    k, skip = op.filters(256)
    N, D = op.order, op.d_model
    assert k.shape == (N - 1, D, 256) and skip.shape == (N - 1, D)
    stages = hyena.load_safetensors(case / "stages.safetensors")
    # stages "k" [N-1, D, L] and "filter_bias" [N-1, D] in the order the recurrence uses them.
    # The filter MLP runs in float32 in both; 1e-5 of max|k| covers its sine arguments' rounding.
    assert np.abs(k - stages["k"]).max() <= 1e-5 * np.abs(stages["k"]).max()
    np.testing.assert_array_equal(skip, stages["filter_bias"])


@pytest.mark.parametrize("prefill", [0, 1, 5, 32])
def test_decoding_equals_the_forward(prefill):
    case, _, options = load_case("d16_lmax128_L97_o2")
    op = hyena.Operator.load(case / "params.safetensors", dtype="float64", **options)
    u = hyena.load_safetensors(case / "io.safetensors")["input"].astype(np.float64)
    B, L, D = u.shape
    expected = op(u)
    state = op.make_state(B, L)
    assert (state.batch, state.capacity, state.position) == (B, L, 0) and state.bytes > 0
    got = np.empty_like(u)
    got[:, :prefill] = op.prefill(state, np.ascontiguousarray(u[:, :prefill]))
    out_t = np.empty((B, D))
    for t in range(prefill, L):
        assert op.step(state, np.ascontiguousarray(u[:, t]), out=out_t) is out_t
        got[:, t] = out_t
    assert state.position == L
    # The decoder's error is the forward's (test_decoder_state.cpp): 4x the order-2 model, twice (both sides round).
    assert relative_l2(got, expected) <= 2 * 4 * fft_conv_error(np.float64, 2 * L)
    with pytest.raises(ValueError, match="full"):
        op.step(state, np.ascontiguousarray(u[:, 0]))
    state.reset()
    assert state.position == 0


def test_states_and_filters_keep_their_operator_alive():
    case, _, options = load_case("d16_l64_o2")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    u = hyena.load_safetensors(case / "io.safetensors")["input"]
    expected = op(u)
    state = op.make_state(u.shape[0], 64)
    filters = op.prepared_filters(64)
    del op
    gc.collect()
    again = state.operator
    np.testing.assert_array_equal(again(u), expected)
    assert filters.operator is again
    out = again.prefill(state, u)
    np.testing.assert_array_equal(out, expected)


def test_zero_copy_inputs_and_outputs():
    case, _, options = load_case("d16_l64_o2")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    u = hyena.load_safetensors(case / "io.safetensors")["input"]
    out = np.empty_like(u)
    before = address(out)
    refs = sys.getrefcount(u)
    assert op(u, out=out) is out and address(out) == before
    assert sys.getrefcount(u) == refs  # no reference kept or leaked
    # A batch slice of a contiguous array is contiguous: used in place too.
    part = np.empty_like(u)
    op(u[1:], out=part[1:])
    np.testing.assert_array_equal(part[1:], out[1:])


def test_refusals_name_the_argument():
    case, _, options = load_case("d16_l64_o2")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    u = np.zeros((2, 8, 16), np.float32)
    with pytest.raises(TypeError, match="u: expected a float32 array, got float64"):
        op(u.astype(np.float64))
    with pytest.raises(ValueError, match=r"u: expected shape \[batch, length, 16\], got \(2, 8, 15\)"):
        op(np.zeros((2, 8, 15), np.float32))
    with pytest.raises(ValueError, match="u: expected a C-contiguous array"):
        op(np.zeros((2, 16, 8), np.float32).transpose(0, 2, 1))
    with pytest.raises(ValueError, match="input length 65 exceeds"):
        op(np.zeros((1, 65, 16), np.float32))
    with pytest.raises(ValueError, match="out: overlaps an input array"):
        op(u, out=u)
    with pytest.raises(TypeError, match="u: expected a numpy.ndarray, got list"):
        op(u.tolist())
    with pytest.raises(ValueError, match='layout: expected "blocked" or "interleaved", got "diagonal"'):
        hyena.Operator.load(case / "params.safetensors", layout="diagonal")
    with pytest.raises(ValueError, match="dtype: expected float32 or float64, got float16"):
        hyena.Operator.load(case / "params.safetensors", dtype="float16")
    with pytest.raises(ValueError, match="shift: expected a finite number"):
        hyena.Operator.load(case / "params.safetensors", shift=float("inf"))
    with pytest.raises(TypeError, match="source: expected a path"):
        hyena.Operator.load(42)
    with pytest.raises(ValueError, match="dtype: expected float32 or float64, got 'foo'"):
        hyena.Operator.load(case / "params.safetensors", dtype="foo")
    with pytest.raises(ValueError, match="length: expected 1 to"):
        op.filters(0)
    with pytest.raises(ValueError, match="length: expected 1 to .*, got -3"):
        op.prepared_filters(-3)
    with pytest.raises(TypeError, match="batch: expected an int, got float"):
        op.make_state(2.0, 8)
    with pytest.raises(ValueError, match="capacity: expected 1 to .*, got -1"):
        op.make_state(2, -1)
    other = hyena.Operator.load(case / "params.safetensors", **options)
    with pytest.raises(ValueError, match="state: made by another operator"):
        other.step(op.make_state(2, 8), np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="filters: prepared by another operator"):
        other.mix(other.project_in(u[0]), op.prepared_filters(8))
    with pytest.raises(ValueError, match=r"u: expected shape \[2, length, 16\]"):
        op.prefill(op.make_state(2, 8), np.zeros((3, 4, 16), np.float32))


def test_malformed_and_incomplete_weights_raise_safetensors_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(hyena.SafetensorsError, match="not valid JSON"):
        hyena.Operator.load(bad)
    assert issubclass(hyena.SafetensorsError, ValueError)
    case, _, options = load_case("d16_l64_o2")
    weights = hyena.load_safetensors(case / "params.safetensors")
    del weights["in_proj.weight"]
    with pytest.raises(hyena.SafetensorsError, match="in_proj.weight"):
        hyena.Operator.load(weights, **options)
    weights = hyena.load_safetensors(case / "params.safetensors")
    weights["out_proj.weight"] = weights["out_proj.weight"].astype(np.int32)
    with pytest.raises(TypeError, match=r'state_dict\["out_proj.weight"\]: expected a float32 or float64 array, got int32'):
        hyena.Operator.load(weights, **options)


def test_sizes_beyond_memory_raise_memory_error():
    case, _, options = load_case("d16_l64_o2")
    op = hyena.Operator.load(case / "params.safetensors", **options)
    with pytest.raises(MemoryError, match="bytes"):
        op.make_state(1 << 40, 64)
