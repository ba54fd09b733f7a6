"""safetensors helpers: round trips of every dtype, metadata, and malformed files."""
import numpy as np
import pytest

import hyena


def test_round_trip_of_every_dtype(tmp_path, rng):
    tensors = {
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "i64": np.arange(6, dtype=np.int64).reshape(3, 2),
        "i32": np.array([-1, 2**31 - 1], np.int32),
        "scalar": np.array(1.5, np.float32),
    }
    path = tmp_path / "t.safetensors"
    hyena.save_safetensors(path, tensors, metadata={"format": "pt"})
    back = hyena.load_safetensors(path)
    assert back.keys() == tensors.keys()
    for name, value in tensors.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        np.testing.assert_array_equal(back[name], value)
    assert hyena.safetensors_metadata(path) == {"format": "pt"}


def test_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r'tensors\["h"\]: expected float32, float64, int64 or int32, got float16'):
        hyena.save_safetensors(tmp_path / "x", {"h": np.zeros(2, np.float16)})
    with pytest.raises(ValueError, match=r'tensors\["t"\]: expected a C-contiguous array'):
        hyena.save_safetensors(tmp_path / "x", {"t": np.zeros((2, 3), np.float32).T})
    with pytest.raises(TypeError, match="tensors: keys must be str, got int"):
        hyena.save_safetensors(tmp_path / "x", {1: np.zeros(2, np.float32)})
    with pytest.raises(hyena.SafetensorsError, match="cannot open for writing"):
        hyena.save_safetensors(tmp_path / "no" / "such" / "dir", {"a": np.zeros(1, np.float32)})


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "truncated: 0 bytes"),
        (b"\xff" * 8 + b"{}", "absurdly large"),
        (b"\x04\x00\x00\x00\x00\x00\x00\x00{}  " + b"\x00", "unused bytes|cover only"),
        (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "object"),
    ],
)
def test_malformed_files_raise_safetensors_error(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(hyena.SafetensorsError, match=message):
        hyena.load_safetensors(path)


def test_a_missing_file_names_itself(tmp_path):
    with pytest.raises(hyena.SafetensorsError, match="no_such.safetensors.*cannot open"):
        hyena.load_safetensors(tmp_path / "no_such.safetensors")
