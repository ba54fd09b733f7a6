"""hyena.causal_conv and hyena.FFTFilter against direct convolution in double,
in place and zero-copy, and every refused argument."""
import gc

import numpy as np
import pytest

import hyena
from conftest import address, fft_conv_error, naive_causal_conv, relative_l2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch,channels,length", [(1, 1, 1), (2, 3, 1), (3, 4, 7), (2, 5, 97), (1, 2, 128), (2, 3, 250)])
def test_matches_direct_convolution(rng, dtype, batch, channels, length):
    u = rng.standard_normal((batch, channels, length)).astype(dtype)
    k = (rng.standard_normal((channels, length)) / np.sqrt(length)).astype(dtype)
    skip = rng.standard_normal(channels).astype(dtype)
    y = hyena.causal_conv(u, k, skip)
    assert y.dtype == dtype and y.shape == u.shape
    fft_size = hyena.FFTFilter(k).fft_size
    assert fft_size >= 2 * length - 1
    # 4x the model of the FFT convolution's relative L2 error (tests/support/numerics.hpp).
    assert relative_l2(y, naive_causal_conv(u, k, skip)) <= 4 * fft_conv_error(dtype, fft_size)


def test_without_skip_is_the_plain_convolution(rng):
    u = rng.standard_normal((2, 3, 31)).astype(np.float32)
    k = rng.standard_normal((3, 31)).astype(np.float32)
    y = hyena.causal_conv(u, k)
    assert relative_l2(y, naive_causal_conv(u, k)) <= 4 * fft_conv_error(np.float32, hyena.FFTFilter(k).fft_size)


def test_prepared_filter_equals_the_one_shot_call_and_outlives_its_taps(rng):
    u = rng.standard_normal((2, 4, 50))
    k = rng.standard_normal((4, 50))
    skip = rng.standard_normal(4)
    expected = hyena.causal_conv(u, k, skip)
    f = hyena.FFTFilter(k, skip, threads=1)
    assert f.threads == 1  # every call's default from now on
    del k, skip
    gc.collect()
    assert f.channels == 4 and f.length == 50 and f.dtype == np.float64 and f.bytes > 0
    np.testing.assert_array_equal(f(u), expected)
    np.testing.assert_array_equal(f(u), expected)  # reused: same result


def test_out_is_written_in_place_and_returned(rng):
    u = rng.standard_normal((2, 3, 20)).astype(np.float32)
    k = rng.standard_normal((3, 20)).astype(np.float32)
    out = np.empty_like(u)
    y = hyena.causal_conv(u, k, out=out)
    assert y is out
    np.testing.assert_array_equal(out, hyena.causal_conv(u, k))
    # u itself may be the output.
    expected = hyena.causal_conv(u, k)
    before = address(u)
    z = hyena.causal_conv(u, k, out=u)
    assert z is u and address(u) == before
    np.testing.assert_array_equal(u, expected)


def test_the_thread_count_does_not_change_the_result(rng):
    u = rng.standard_normal((3, 8, 300)).astype(np.float32)
    k = rng.standard_normal((8, 300)).astype(np.float32)
    results = [hyena.causal_conv(u, k, threads=t) for t in (1, 2, 3, 0, None)]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_torch_style_views_work_without_a_copy(rng):
    """A slice along the batch axis of a C-contiguous array is itself contiguous: used in place."""
    u = rng.standard_normal((4, 3, 16)).astype(np.float32)
    k = rng.standard_normal((3, 16)).astype(np.float32)
    out = np.zeros_like(u)
    hyena.causal_conv(u[1:3], k, out=out[1:3])
    np.testing.assert_array_equal(out[1:3], hyena.causal_conv(u, k)[1:3])
    assert not out[0].any() and not out[3].any()


@pytest.mark.parametrize(
    "make,error,message",
    [
        (lambda u, k: hyena.causal_conv(u.tolist(), k), TypeError, r"u: expected a numpy.ndarray, got list"),
        (lambda u, k: hyena.causal_conv(u.astype(np.float64), k), TypeError,
         r"k: expected the dtype of u \(float64\), got float32"),
        (lambda u, k: hyena.causal_conv(u.astype(np.int32), k.astype(np.int32)), TypeError,
         r"u: expected a float32 or float64 array, got int32"),
        (lambda u, k: hyena.causal_conv(u[:, :, ::2], k[:, :6].copy()), ValueError,
         r"u: expected a C-contiguous array, got one with strides \(144, 48, 8\)"),
        (lambda u, k: hyena.causal_conv(u[0], k), ValueError,
         r"u: expected shape \[batch, 3, 12\], got \(3, 12\)"),
        (lambda u, k: hyena.causal_conv(u[:, :, :5], k.copy()), ValueError, r"u: expected a C-contiguous array"),
        (lambda u, k: hyena.causal_conv(np.ascontiguousarray(u[:, :, :5]), k), ValueError,
         r"u: expected shape \[batch, 3, 12\], got \(2, 3, 5\)"),
        (lambda u, k: hyena.causal_conv(u, k, skip=np.ones(2, np.float32)), ValueError,
         r"skip: expected shape \[3\], got \(2,\)"),
        (lambda u, k: hyena.causal_conv(u, k, out=np.empty((2, 3, 11), np.float32)), ValueError,
         r"out: expected shape \(2, 3, 12\), got \(2, 3, 11\)"),
        (lambda u, k: hyena.causal_conv(u, k, out=np.empty((2, 3, 12), np.float64)), TypeError,
         r"out: expected a float32 array, got float64"),
        (lambda u, k: hyena.causal_conv(u, k, threads=-1), ValueError, r"threads: expected 0 \(every core\) to 1024, got -1"),
        (lambda u, k: hyena.causal_conv(u, k, threads=2.0), TypeError, r"threads: expected an int or None, got float"),
        (lambda u, k: hyena.causal_conv(u, k, threads=2**70), ValueError,
         r"threads: expected 0 \(every core\) to 1024, got 1180591620717411303424"),
        (lambda u, k: hyena.causal_conv(np.ma.masked_array(u), k), TypeError, r"u: expected a numpy.ndarray, got a masked array"),
        (lambda u, k: hyena.causal_conv(u, k.astype(">f4")), TypeError, r"k: expected a float32 or float64 array, got >f4"),
        (lambda u, k: hyena.causal_conv(u[:0], k), ValueError, r"batch must be >= 1, got 0"),
        (lambda u, k: hyena.causal_conv(u, np.full_like(k, np.nan)), ValueError, r"k\[0\]\[0\] = nan is not finite"),
    ],
)
def test_refuses_what_it_would_have_to_copy_or_guess(make, error, message):
    u = np.ones((2, 3, 12), np.float32)
    k = np.ones((3, 12), np.float32)
    with pytest.raises(error, match=message):
        make(u, k)


def test_refuses_a_read_only_or_overlapping_output():
    u = np.ones((2, 3, 12), np.float32)
    k = np.ones((3, 12), np.float32)
    frozen = np.empty_like(u)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="out: the array is read-only"):
        hyena.causal_conv(u, k, out=frozen)
    buffer = np.zeros(2 * 3 * 12 + 1, np.float32)
    shifted_u = buffer[1:].reshape(2, 3, 12)
    shifted_out = buffer[:-1].reshape(2, 3, 12)
    with pytest.raises(ValueError, match="out: overlaps an input array"):
        hyena.causal_conv(shifted_u, k, out=shifted_out)


def test_inputs_are_read_and_written_where_they_live(rng):
    """An array over someone else's memory (here a bytearray, as a torch tensor's .numpy() is
    over the tensor's storage) is used in place: the result lands in that memory."""
    storage = bytearray(2 * 3 * 16 * 4)
    u = np.frombuffer(storage, np.float32).reshape(2, 3, 16)
    u[...] = rng.standard_normal(u.shape)
    k = rng.standard_normal((3, 16)).astype(np.float32)
    expected = hyena.causal_conv(u, k)
    hyena.causal_conv(u, k, out=u)
    np.testing.assert_array_equal(np.frombuffer(storage, np.float32).reshape(2, 3, 16), expected)
