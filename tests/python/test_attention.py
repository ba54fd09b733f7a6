"""hyena.Attention, the baselines, against causal multi-head attention written
with NumPy in double."""
import numpy as np
import pytest

import hyena
from conftest import relative_l2


def naive_attention(x, wqkv, bqkv, wout, bout, heads, kind, window=0):
    x = x.astype(np.float64)
    B, L, D = x.shape
    dh = D // heads
    qkv = x @ wqkv.astype(np.float64).T + bqkv
    q, k, v = (qkv[..., i * D:(i + 1) * D].reshape(B, L, heads, dh).transpose(0, 2, 1, 3) for i in range(3))
    if kind == "linear":
        phi = lambda a: np.where(a > 0, a + 1, np.exp(a))  # elu + 1
        fq, fk = phi(q), phi(k)
        scores = np.einsum("bhtd,bhsd->bhts", fq, fk) * np.tril(np.ones((L, L)))
        o = scores @ v / scores.sum(-1, keepdims=True)
    else:
        scores = np.einsum("bhtd,bhsd->bhts", q, k) / np.sqrt(dh)
        allowed = np.tril(np.ones((L, L), bool))
        if kind == "local":
            allowed &= ~np.tril(np.ones((L, L), bool), -window)
        scores = np.where(allowed, scores, -np.inf)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        o = p @ v / p.sum(-1, keepdims=True)
    return o.transpose(0, 2, 1, 3).reshape(B, L, D) @ wout.astype(np.float64).T + bout


@pytest.mark.parametrize("kind,window", [("softmax", 0), ("tiled", 0), ("linear", 0), ("local", 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_naive_attention(rng, kind, window, dtype):
    B, L, D, H = 2, 37, 16, 4
    x = rng.standard_normal((B, L, D)).astype(dtype)
    wqkv = (rng.standard_normal((3 * D, D)) / np.sqrt(D)).astype(dtype)
    wout = (rng.standard_normal((D, D)) / np.sqrt(D)).astype(dtype)
    bqkv = rng.standard_normal(3 * D).astype(dtype)
    bout = rng.standard_normal(D).astype(dtype)
    layer = hyena.Attention(kind, H, wqkv, wout, bqkv, bout, window=window)
    assert (layer.kind, layer.d_model, layer.heads, layer.dtype) == (kind, D, H, dtype)
    y = layer(x)
    # Sums of at most D or L products of O(1) terms: 64 units of roundoff covers them
    # with room (the C++ suite models these errors closely: tests/baselines/).
    tolerance = 64 * np.finfo(dtype).eps
    assert relative_l2(y, naive_attention(x, wqkv, bqkv, wout, bout, H, kind, window)) <= tolerance
    # out may be x itself: the layer reads x before writing.
    expected = y.copy()
    assert layer(x, out=x) is x
    np.testing.assert_array_equal(x, expected)


def test_refusals():
    w = np.zeros((48, 16), np.float32)
    with pytest.raises(ValueError, match=r"qkv_weight: expected shape \[3\*d_model, d_model\], got \(47, 16\)"):
        hyena.Attention("softmax", 4, np.zeros((47, 16), np.float32), np.zeros((16, 16), np.float32))
    with pytest.raises(ValueError, match='kind: expected "softmax", "tiled", "linear" or "local", got "full"'):
        hyena.Attention("full", 4, w, np.zeros((16, 16), np.float32))
    with pytest.raises(ValueError, match="window: local attention needs window >= 1"):
        hyena.Attention("local", 4, w, np.zeros((16, 16), np.float32))
    with pytest.raises(ValueError, match="not divisible by heads"):
        hyena.Attention("softmax", 5, w, np.zeros((16, 16), np.float32))
    with pytest.raises(TypeError, match="out_weight: expected a float32 array, got float64"):
        hyena.Attention("softmax", 4, w, np.zeros((16, 16)))
