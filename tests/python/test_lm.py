"""hyena.LM on the HyenaDNA dump (equal to hyena-lm's output bit for bit, and
within its tolerance of PyTorch's), embeddings, scores, generation, decoding,
and hyena.Tokenizer."""
import json
import subprocess

import numpy as np
import pytest

import hyena
from conftest import fft_conv_error, reference_dir, relative_l2, run_tool


def dna_case():
    return reference_dir() / "hyenadna" / "dna_tiny_d32_n2"


@pytest.fixture(scope="module")
def model():
    return hyena.LM.load(dna_case() / "params.safetensors")


@pytest.fixture(scope="module")
def io():
    return hyena.load_safetensors(dna_case() / "io.safetensors")


def test_matches_the_reference_and_the_command_line_tool(tmp_path, model, io):
    ids = io["input_ids"]
    logits, hidden = model.logits(ids), model.hidden(ids)
    assert logits.shape == (2, 256, 16) and hidden.shape == (2, 256, 32)
    # Within 1.3e-7 of the float32 reference in the C++ suite; the CLI tests allow 1e-6 of max|ref|.
    for got, name in ((logits, "logits"), (hidden, "hidden_states")):
        assert np.abs(got - io[name]).max() <= 1e-6 * np.abs(io[name]).max()
    written = tmp_path / "out.safetensors"
    run_tool("HYENA_LM", "--weights", str(dna_case() / "params.safetensors"), "--ids-file",
             str(dna_case() / "io.safetensors"), "--output", str(written), stdout=subprocess.DEVNULL)
    cli = hyena.load_safetensors(written)
    np.testing.assert_array_equal(logits, cli["logits"])
    np.testing.assert_array_equal(hidden, cli["hidden_states"])


def test_one_sequence_drops_the_batch_axis(model, io):
    ids = io["input_ids"]
    np.testing.assert_array_equal(model.logits(ids[1]), model.logits(ids)[1])
    assert model.embed(ids[0]).shape == (32,)


def test_embedding_is_the_mean_hidden_state(model, io):
    ids = np.ascontiguousarray(io["input_ids"][:, :100])
    expected = model.hidden(ids).astype(np.float64).mean(axis=1)
    # Summed in double on both sides: only the final rounding to float32 differs.
    np.testing.assert_allclose(model.embed(ids), expected, rtol=1e-6, atol=1e-7)


def test_score_is_the_log_likelihood_of_the_logits(model, io):
    ids = io["input_ids"]
    logits = model.logits(ids).astype(np.float64)
    scores = model.score(ids)
    assert len(scores) == 2
    for b, score in enumerate(scores):
        rows = logits[b, :-1]
        peak = rows.max(axis=1, keepdims=True)
        log_softmax = rows - peak - np.log(np.exp(rows - peak).sum(axis=1, keepdims=True))
        expected = log_softmax[np.arange(255), ids[b, 1:]].sum()
        assert score.predictions == 255
        # Both sum 255 double terms from the same float32 logits: a few ulps of double.
        assert score.log_likelihood == pytest.approx(expected, rel=1e-12)
        assert score.perplexity == pytest.approx(np.exp(-expected / 255), rel=1e-12)
    single = model.score(ids[0, :1])
    assert single.predictions == 0 and np.isnan(single.perplexity)


def test_greedy_generation_follows_the_argmax_and_seeds_repeat(model):
    tokenizer = hyena.Tokenizer.dna()
    prompt = tokenizer.encode("ACGTACGTTTGA")
    new = model.generate(prompt, 6, temperature=0)
    assert new.dtype == np.int64 and new.shape == (6,)
    # Each greedy token is the argmax over the real vocabulary of the logits of the sequence so far.
    sequence = prompt
    for token in new:
        logits = model.logits(sequence)[-1, : model.vocab_size]
        assert token == int(np.argmax(logits))
        sequence = np.append(sequence, token)
    sampled = model.generate(prompt, 20, temperature=1.5, top_k=4, seed=7)
    np.testing.assert_array_equal(sampled, model.generate(prompt, 20, temperature=1.5, top_k=4, seed=7))
    only_bases = model.generate(prompt, 200, temperature=3, seed=1, allowed_ids=tokenizer.character_ids())
    assert set(only_bases.tolist()) <= set(tokenizer.character_ids().tolist())
    with pytest.raises(ValueError, match="temperature must be finite and >= 0"):
        model.generate(prompt, 3, temperature=-1)
    with pytest.raises(ValueError, match="the prompt is empty"):
        model.generate(prompt[:0], 3)


def test_decoding_gives_the_forward_logits(io):
    model = hyena.LM.load(dna_case() / "params.safetensors", dtype="float64")
    ids = np.ascontiguousarray(io["input_ids"][:, :40])
    expected = model.logits(ids)
    state = model.make_state(2, 40)
    got = np.empty_like(expected)
    got[:, :10] = model.prefill(state, np.ascontiguousarray(ids[:, :10]))
    for t in range(10, 40):
        got[:, t] = model.step(state, np.ascontiguousarray(ids[:, t]))
    assert state.position == 40
    # As accurate as the forward (test_hyena_lm_decoding.cpp): 3x sqrt(2 layers) x the model, both sides.
    assert relative_l2(got, expected) <= 2 * 3 * np.sqrt(2) * fft_conv_error(np.float64, 80)


def test_config_as_a_file_or_a_dict(tmp_path, io):
    config = {"d_model": 32, "n_layer": 2, "vocab_size": 12, "layer": {"l_max": 258}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    a = hyena.LM.load(dna_case() / "params.safetensors", config=config)
    b = hyena.LM.load(dna_case() / "params.safetensors", config=path)
    assert a.vocab_size == 12 and a.padded_vocab_size == 16 and a.max_length == 258
    ids = np.ascontiguousarray(io["input_ids"][:, :16])
    np.testing.assert_array_equal(a.logits(ids), b.logits(ids))
    with pytest.raises(hyena.SafetensorsError, match=r"expected \[vocab_size, 64\] \(the config's d_model\)"):
        hyena.LM.load(dna_case() / "params.safetensors", config={"d_model": 64})


def test_refusals(model):
    with pytest.raises(TypeError, match="ids: expected a int64 array, got int32"):
        model.logits(np.zeros((1, 4), np.int32))
    with pytest.raises(ValueError, match=r"ids: expected shape \[batch, length\], got \(1, 2, 3\)"):
        model.logits(np.zeros((1, 2, 3), np.int64))
    with pytest.raises(ValueError, match="outside"):
        model.logits(np.array([[0, 99]], np.int64))
    with pytest.raises(ValueError, match="exceeds the model's max_length 258"):
        model.logits(np.zeros(259, np.int64))
    with pytest.raises(ValueError, match="vocab_size: expected 1 to .*, got 0"):
        hyena.LM.load(dna_case() / "params.safetensors", vocab_size=0)
    with pytest.raises(TypeError, match="vocab_size: expected an int, got float"):
        hyena.LM.load(dna_case() / "params.safetensors", vocab_size=12.0)
    with pytest.raises(ValueError, match="config: not expressible as JSON"):
        hyena.LM.load(dna_case() / "params.safetensors", config={"layer_norm_epsilon": float("nan")})
    with pytest.raises(ValueError, match="cannot open model config"):
        hyena.LM.load(dna_case() / "params.safetensors", config="/nonexistent/config.json")
    ids = np.array([7, 8, 9], np.int64)
    with pytest.raises(ValueError, match="n: expected 0 to .*, got -1"):
        model.generate(ids, -1)
    with pytest.raises(TypeError, match="seed: expected an int, got str"):
        model.generate(ids, 2, seed="1")


def test_tokenizer():
    t = hyena.Tokenizer.dna()
    assert t.vocab_size == 12 and t.characters == "ACGTN"
    ids = t.encode("ACGTN")
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(t.encode("AX", add_special_tokens=True), [0, 7, 6, 1])
    assert t.decode(t.encode("GATTACA")) == "GATTACA"
    assert t.decode(np.array([0, 7, 1], np.int64), skip_special_tokens=True) == "A"
    assert t.token(3) == "[MASK]"
    with pytest.raises(ValueError, match="unknown character 'x' at position 1"):
        t.encode("Ax", strict=True)
    with pytest.raises(ValueError, match="appears twice"):
        hyena.Tokenizer("AA")
