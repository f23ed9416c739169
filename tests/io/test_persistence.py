import json
import pickle

import numpy as np
import pytest

import layerwise as lw
from layerwise.io.model_file import FORMAT_VERSION


def header_of(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def write_with_header(path, header, data):
    head = json.dumps(header).encode()
    path.write_bytes(len(head).to_bytes(8, "little") + head + data)


@pytest.fixture
def saved(tmp_path):
    net = lw.Network.from_spec("6-7-5-3", activation="leaky_relu", dropout=0.25, seed=0, negative_slope=0.2)
    path = tmp_path / "model.safetensors"
    lw.save(
        net,
        path,
        classes=["cat", "dog", "eel"],
        preprocessing={"scale": 0.5, "mean": np.arange(6.0), "std": np.full(6, 2.0)},
        metadata={"dataset": "toy", "epochs": 3},
    )
    return net, path


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_the_same_predictions(tmp_path, activation, dtype):
    net = lw.Network.from_spec(
        "5-8-4", activation=activation, output_activation="sigmoid", dtype=dtype, seed=1
    )
    path = lw.save(net, tmp_path / "m.lw")
    assert path == tmp_path / "m.lw" and sorted(p.name for p in tmp_path.iterdir()) == ["m.lw"]
    model = lw.load(path)
    X = np.random.default_rng(0).normal(size=(9, 5))
    assert model.network.dtype == np.dtype(dtype)
    assert [repr(layer) for layer in model.network.layers] == [repr(layer) for layer in net.layers]
    np.testing.assert_array_equal(model.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(model.classes, np.arange(4))


def test_classes_preprocessing_and_metadata_are_kept(saved):
    net, path = saved
    model = lw.load(path)
    assert model.classes.tolist() == ["cat", "dog", "eel"]
    assert model.metadata == {"dataset": "toy", "epochs": 3}
    assert model.network.layers[1].negative_slope == pytest.approx(0.2)
    assert model.network.layers[2].p == 0.25
    X = np.random.default_rng(0).normal(size=(4, 6)) * 10
    expected = net.predict_proba((X * 0.5 - np.arange(6.0)) / 2.0)
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-6)
    assert list(model.predict(X)) == [["cat", "dog", "eel"][i] for i in expected.argmax(axis=1)]


@pytest.mark.parametrize(
    "classes",
    [np.array([3, 1, 2]), np.array([0.5, 1.5, 2.5]), np.array(["x", "yy", "zzz"]), [True, False, 7]],
)
def test_labels_of_any_type_round_trip(tmp_path, classes):
    net = lw.Network.from_spec("2-3", seed=0)
    model = lw.load(lw.save(net, tmp_path / "m", classes=classes))
    expected = np.asarray(classes) if not isinstance(classes, list) else classes
    assert list(model.classes) == list(expected)
    if isinstance(classes, np.ndarray):
        assert model.classes.dtype == classes.dtype


def test_a_model_saves_again_with_its_own_labels_and_preprocessing(saved, tmp_path):
    _, path = saved
    again = lw.load(lw.save(lw.load(path), tmp_path / "again.safetensors"))
    assert again.classes.tolist() == ["cat", "dog", "eel"] and again.preprocessing.scale == 0.5


def test_the_file_is_safetensors_with_string_metadata(saved):
    _, path = saved
    header, data = header_of(path)
    meta = header["__metadata__"]
    assert all(isinstance(v, str) for v in meta.values())
    assert meta["format_version"] == str(FORMAT_VERSION) and meta["layerwise_version"] == lw.__version__
    arch = json.loads(meta["architecture"])
    assert [layer["type"] for layer in arch["layers"]] == [
        "Linear",
        "LeakyReLU",
        "Dropout",
        "Linear",
        "LeakyReLU",
        "Dropout",
        "Linear",
    ]
    assert header["0.weight"] == {"dtype": "F32", "shape": [6, 7], "data_offsets": [0, 168]}
    w = np.frombuffer(data[:168], "<f4").reshape(6, 7)
    np.testing.assert_array_equal(w, saved[0].layers[0].weight.value)


def test_save_replaces_atomically_and_leaves_no_temporary_file(saved, tmp_path):
    net, path = saved
    lw.save(net, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    with pytest.raises(lw.LayerwiseError, match="cannot write"):
        lw.save(net, tmp_path / "missing-dir" / "m.safetensors")


def test_a_run_directory_holding_model_safetensors_loads(saved):
    _, path = saved
    assert lw.load(path.parent).classes.tolist() == ["cat", "dog", "eel"]


def test_loading_never_unpickles(saved, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    lw.load(saved[1])


# --- bad files: one LayerwiseError naming the problem ---------------------------------


def load_error(path):
    with pytest.raises(lw.LayerwiseError) as info:
        lw.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize("keep", [0, 5, 8, 100, -1])
def test_truncated_files(saved, keep):
    _, path = saved
    raw = path.read_bytes()
    path.write_bytes(raw[:keep])
    assert "truncated" in load_error(path)


def test_missing_file(tmp_path):
    with pytest.raises(lw.LayerwiseError, match="no model file"):
        lw.load(tmp_path / "nope.safetensors")


def test_a_huge_header_length_is_refused_before_reading(tmp_path):
    path = tmp_path / "m"
    path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    assert "truncated" in load_error(path)


def test_foreign_files(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert load_error(pickled)
    other = tmp_path / "other.safetensors"
    write_with_header(other, {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    assert "no layerwise metadata" in load_error(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a model at all")
    assert load_error(text)


def test_flipped_bytes_in_the_header(saved):
    _, path = saved
    raw = bytearray(path.read_bytes())
    raw[10] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert "JSON" in load_error(path)


def test_nan_weights(saved):
    _, path = saved
    header, data = header_of(path)
    begin, _ = (
        header["2.weight"]["data_offsets"] if "2.weight" in header else header["3.weight"]["data_offsets"]
    )
    data = bytearray(data)
    data[begin : begin + 4] = np.float32(np.nan).tobytes()
    write_with_header(path, header, bytes(data))
    assert "NaN" in load_error(path)


def test_wrong_format_version(saved):
    _, path = saved
    header, data = header_of(path)
    header["__metadata__"]["format_version"] = "99"
    write_with_header(path, header, data)
    assert "format version '99'" in load_error(path)


def test_header_claiming_other_shapes(saved):
    _, path = saved
    header, data = header_of(path)
    header["0.weight"]["shape"] = [7, 6]
    write_with_header(path, header, data)
    assert "0.weight has shape [7, 6]" in load_error(path)


def with_hidden_size(path, n):
    """Rewrites the file's architecture so that its first hidden layer has n units."""
    header, data = header_of(path)
    arch = json.loads(header["__metadata__"]["architecture"])
    arch["layers"][0]["n_out"] = arch["layers"][3]["n_in"] = n
    header["__metadata__"]["architecture"] = json.dumps(arch)
    write_with_header(path, header, data)


def test_architecture_edited_to_disagree_with_the_tensors(saved):
    _, path = saved
    with_hidden_size(path, 8)
    assert "0.weight" in load_error(path)


def test_an_architecture_larger_than_the_file_is_refused_before_allocating(saved):
    _, path = saved
    with_hidden_size(path, 10**9)
    assert "needs" in load_error(path)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda h: h["0.bias"].update(data_offsets=[0, 28]), "starts at byte"),
        (lambda h: h["0.bias"].update(dtype="F16"), "dtype"),
        (lambda h: h["0.bias"].update(data_offsets=[168, 10**9]), "spans"),
        (lambda h: h.pop("0.bias"), "missing"),
        (lambda h: h.update(extra={"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}), "not part"),
        (lambda h: h["__metadata__"].update(architecture="[1, 2"), "architecture"),
        (
            lambda h: h["__metadata__"].update(
                architecture='{"layers": [{"type": "Conv"}], "loss": '
                '"softmax_cross_entropy", "dtype": "float32"}'
            ),
            "Conv",
        ),
        (lambda h: h["__metadata__"].update(classes='{"dtype": "int64", "values": [1, 1, 2]}'), "distinct"),
        (lambda h: h["__metadata__"].update(classes='{"dtype": "|O", "values": [1, 2, 3]}'), "dtype"),
    ],
)
def test_tampered_headers(saved, edit, words):
    _, path = saved
    header, data = header_of(path)
    edit(header)
    write_with_header(path, header, data)
    assert words in load_error(path)


def test_extra_bytes_after_the_tensors(saved):
    _, path = saved
    path.write_bytes(path.read_bytes() + b"junk")
    assert "bytes of data" in load_error(path)


def test_save_validates_its_arguments(tmp_path):
    net = lw.Network.from_spec("3-2", seed=0)
    with pytest.raises(lw.LayerwiseError, match="2 class labels"):
        lw.save(net, tmp_path / "m", classes=["a", "b", "c"])
    with pytest.raises(lw.LayerwiseError, match="mean has 2 values"):
        lw.save(net, tmp_path / "m", preprocessing={"mean": [1, 2]})
    with pytest.raises(lw.LayerwiseError, match="std must be positive"):
        lw.save(net, tmp_path / "m", preprocessing={"std": [1, 0, 1]})
    with pytest.raises(lw.LayerwiseError, match="unknown preprocessing"):
        lw.save(net, tmp_path / "m", preprocessing={"center": 1})
    with pytest.raises(lw.LayerwiseError, match="Network or a Model"):
        lw.save("net", tmp_path / "m")
    assert not any(tmp_path.iterdir())
