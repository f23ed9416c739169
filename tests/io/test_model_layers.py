"""Model files of convolutional networks, batch normalisation and regression: round trips,
and tampered files refused with one LayerwiseError before anything large is allocated."""

import json
import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.io.model_file import LAYER_TYPES, architecture


def header_of(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def write_with_header(path, header, data):
    head = json.dumps(header).encode()
    path.write_bytes(len(head).to_bytes(8, "little") + head + data)


def edit_architecture(path, edit):
    header, data = header_of(path)
    arch = json.loads(header["__metadata__"]["architecture"])
    edit(arch)
    header["__metadata__"]["architecture"] = json.dumps(arch)
    write_with_header(path, header, data)


def load_error(path):
    with pytest.raises(lw.LayerwiseError) as info:
        lw.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def cnn(dtype="float32", seed=0):
    """Every layer type, images of 7x6 (non-square), stride 2, padding, both poolings,
    batch normalisation of images and of rows."""
    return lw.Network(
        [
            lw.Reshape((2, 7, 6)),  # 0
            lw.Conv2D(2, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dtype=dtype, seed=seed),  # 1
            lw.BatchNorm(4, momentum=0.2, eps=1e-3, dtype=dtype),  # 2
            lw.LeakyReLU(0.1),  # 3
            lw.MaxPool2D(2, stride=1),  # 4: (4, 3, 4)
            lw.Conv2D(4, 3, kernel_size=3, padding=1, dtype=dtype, seed=seed + 1),  # 5
            lw.Tanh(),  # 6
            lw.AvgPool2D((1, 2)),  # 7: (3, 3, 2)
            lw.Flatten(),  # 8
            lw.Dropout(0.25, seed=seed),  # 9
            lw.Linear(18, 8, dtype=dtype, seed=seed + 2),  # 10
            lw.BatchNorm(8, dtype=dtype),  # 11
            lw.Sigmoid(),  # 12
            lw.ReLU(),  # 13
            lw.Linear(8, 3, dtype=dtype, seed=seed + 3),  # 14
        ]
    )


def images(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 84))


def trained(net, epochs=3):
    """The network after a few epochs: running statistics that are not the initial ones."""
    X = images()
    lw.fit(net, X, np.arange(len(X)) % net.n_outputs, optimizer=lw.Adam(0.01), epochs=epochs, batch_size=8)
    return net


@pytest.fixture
def saved_cnn(tmp_path):
    net = trained(cnn())
    path = lw.save(net, tmp_path / "cnn.safetensors", classes=["a", "b", "c"], preprocessing={"scale": 0.5})
    return net, path


def test_every_layer_type_is_in_the_test_network():
    assert {type(layer) for layer in cnn().layers} == {kind.cls for kind in LAYER_TYPES.values()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_cnn_with_batch_norm_round_trips(tmp_path, dtype):
    net = trained(cnn(dtype))
    model = lw.load(lw.save(net, tmp_path / "m.safetensors", classes=["a", "b", "c"]))
    loaded = model.network
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in net.layers]
    assert loaded.input_shape == net.input_shape and loaded.shapes == net.shapes
    assert loaded.dtype == np.dtype(dtype)
    for (name, a), (other, b) in zip(net.named_state(), loaded.named_state(), strict=True):
        assert name == other and b.dtype == a.dtype
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(net.layers[2].running_mean, np.zeros(4))  # trained, not initial
    for a, b in zip(net.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    X = images(9, seed=1)
    np.testing.assert_array_equal(model.predict_proba(X), net.predict_proba(X))
    assert model.classes.tolist() == ["a", "b", "c"]
    # the running statistics are the layer's own arrays, as training updates them
    assert loaded.named_state()[0][1] is loaded.layers[2].running_mean


def test_state_tensors_are_in_the_file_beside_the_parameters(saved_cnn):
    net, path = saved_cnn
    header, _ = header_of(path)
    assert header["2.running_mean"]["shape"] == [4] and header["11.running_var"]["shape"] == [8]
    assert header["1.weight"]["shape"] == [4, 2, 3, 2]
    arch = json.loads(header["__metadata__"]["architecture"])
    assert arch == architecture(net)
    assert arch["input_shape"] == [84]
    assert arch["layers"][1] == {"type": "Conv2D", "in_channels": 2, "out_channels": 4, "kernel_size": [3, 2],
                                 "stride": [2, 1], "padding": [1, 0]}  # fmt: skip
    assert arch["layers"][2] == {"type": "BatchNorm", "num_features": 4, "momentum": 0.2, "eps": 1e-3}
    assert arch["layers"][4] == {"type": "MaxPool2D", "kernel_size": [2, 2], "stride": [1, 1]}
    assert arch["layers"][7] == {"type": "AvgPool2D", "kernel_size": [1, 2], "stride": [1, 2]}
    assert arch["layers"][8] == {"type": "Flatten"}


@pytest.mark.parametrize(
    "first, input_shape",
    [
        (lambda: lw.Conv2D(1, 2, kernel_size=3, padding=1, seed=0), (1, 5, 4)),
        (lambda: lw.Flatten(), (2, 5, 4)),
    ],
    ids=["conv-first", "flatten-first"],
)
def test_a_network_whose_input_shape_was_given_reloads(tmp_path, first, input_shape):
    net = lw.Network([first(), lw.Flatten(), lw.Linear(40, 3, seed=0)], input_shape=input_shape)
    model = lw.load(lw.save(net, tmp_path / "m"))
    assert model.network.input_shape == input_shape
    X = np.random.default_rng(0).normal(size=(3, *input_shape))
    np.testing.assert_array_equal(model.network.predict_proba(X), net.predict_proba(X))


def regression(dtype="float32"):
    layers = [lw.Linear(5, 16, dtype=dtype, seed=0), lw.BatchNorm(16, dtype=dtype), lw.Tanh(),
              lw.Linear(16, 2, dtype=dtype, seed=1)]  # fmt: skip
    return lw.Network(layers, loss=lw.MeanSquaredError())


def test_a_regression_model_round_trips_without_class_labels(tmp_path):
    net = regression()
    X = np.random.default_rng(0).normal(size=(50, 5))
    lw.fit(net, X, X[:, :2] * 3 - 1, optimizer=lw.Adam(0.01), epochs=3, batch_size=10)
    prep = {"scale": 2.0, "mean": np.arange(5.0), "std": np.full(5, 3.0)}
    path = lw.save(net, tmp_path / "reg.safetensors", preprocessing=prep, metadata={"target": "y"})
    model = lw.load(path)
    assert model.classes is None and model.metadata == {"target": "y"}
    assert isinstance(model.network.loss, lw.MeanSquaredError)
    np.testing.assert_array_equal(model.predict(X), lw.Model(net, preprocessing=prep).predict(X))
    header, _ = header_of(path)
    assert json.loads(header["__metadata__"]["classes"]) is None
    assert json.loads(header["__metadata__"]["architecture"])["loss"] == "mean_squared_error"
    with pytest.raises(lw.LayerwiseError, match="no class labels"):
        lw.save(net, tmp_path / "again", classes=["u", "v"])


def test_files_without_input_shape_stay_readable(tmp_path):
    """The files of layerwise 0.1 record no input_shape: their first layer fixes it."""
    net = lw.Network.from_spec("6-5-3", seed=0)
    path = lw.save(net, tmp_path / "old.safetensors")
    edit_architecture(path, lambda arch: arch.pop("input_shape"))
    X = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_array_equal(lw.load(path).predict_proba(X), net.predict_proba(X))


def test_save_refuses_layers_and_losses_it_does_not_know(tmp_path):
    class Twice(lw.ReLU):
        pass

    with pytest.raises(lw.LayerwiseError, match="cannot save a network with a Twice layer"):
        lw.save(lw.Network([lw.Linear(2, 3), Twice()]), tmp_path / "m")

    class Hinge(lw.MeanSquaredError):
        pass

    with pytest.raises(lw.LayerwiseError, match="cannot save a network with the loss"):
        lw.save(lw.Network([lw.Linear(2, 3)], loss=Hinge()), tmp_path / "m")
    assert not any(tmp_path.iterdir())


# --- tampered and truncated files ---------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 7, 100, -4, -1000])
def test_truncated_cnn_files(saved_cnn, keep):
    _, path = saved_cnn
    path.write_bytes(path.read_bytes()[:keep])
    assert "truncated" in load_error(path)


def test_an_extra_state_tensor(saved_cnn):
    _, path = saved_cnn
    header, data = header_of(path)
    header["5.running_mean"] = {"dtype": "F32", "shape": [3], "data_offsets": [len(data), len(data) + 12]}
    write_with_header(path, header, data + bytes(12))
    assert "tensor 5.running_mean is not part of the architecture" in load_error(path)


def test_a_missing_state_tensor(saved_cnn):
    _, path = saved_cnn
    header, data = header_of(path)
    header.pop("11.running_var")
    write_with_header(path, header, data)
    assert "tensor 11.running_var is missing" in load_error(path)
    write_with_header(path, header, data[:-32])  # its bytes gone too: fewer than the layers need
    assert "needs 1560 bytes of weights but the file has 1528" in load_error(path)


def test_a_kernel_of_another_shape(saved_cnn):
    _, path = saved_cnn
    header, data = header_of(path)
    header["1.weight"]["shape"] = [4, 2, 2, 3]  # as many values, another kernel
    write_with_header(path, header, data)
    assert "tensor 1.weight has shape [4, 2, 2, 3], the architecture says [4, 2, 3, 2]" in load_error(path)


def test_an_architecture_edited_to_another_kernel(saved_cnn):
    _, path = saved_cnn
    edit_architecture(path, lambda arch: arch["layers"][5].update(kernel_size=[1, 1], padding=[0, 0]))
    assert "tensor 5.weight has shape [3, 4, 3, 3], the architecture says [3, 4, 1, 1]" in load_error(path)


@pytest.mark.parametrize(
    "layer, edit",
    [
        (1, {"out_channels": 10**9, "kernel_size": [10**4, 10**4]}),
        (1, {"in_channels": 2**62}),
        (2, {"num_features": 10**15}),
        (10, {"n_in": 10**12}),
    ],
    ids=["conv", "conv-channels", "batch-norm", "linear"],
)
def test_huge_sizes_are_refused_before_allocating(saved_cnn, layer, edit):
    _, path = saved_cnn
    edit_architecture(path, lambda arch: arch["layers"][layer].update(edit))
    message = load_error(path)
    assert "needs" in message and "bytes of weights" in message


def test_a_huge_reshape_allocates_nothing(saved_cnn):
    _, path = saved_cnn
    edit_architecture(path, lambda arch: arch["layers"][0].update(shape=[2**40, 2**40]))
    assert "Reshape" in load_error(path)


@pytest.mark.parametrize(
    "layer, edit, words",
    [
        (1, {"kernel_size": [3.0, 2]}, "layer 1 (Conv2D) kernel_size must be two positive integers"),
        (1, {"kernel_size": 3}, "kernel_size must be two positive integers, not 3"),
        (1, {"stride": [0, 1]}, "stride must be two positive integers"),
        (1, {"padding": [-1, 0]}, "padding must be two non-negative integers"),
        (1, {"in_channels": True}, "in_channels must be a positive integer, not True"),
        (1, {"out_channels": "4"}, "out_channels must be a positive integer"),
        (1, {"dilation": [1, 1]}, "layer 1 (Conv2D) has an unknown field 'dilation'"),
        (4, {"kernel_size": [2, 2, 2]}, "layer 4 (MaxPool2D) kernel_size"),
        (7, {"stride": None}, "layer 7 (AvgPool2D) stride"),
        (2, {"num_features": 4.0}, "num_features must be a positive integer"),
        (2, {"momentum": 2.0}, "momentum must be in [0, 1]"),
        (2, {"eps": 0}, "eps must be positive"),
        (2, {"eps": "1e-5"}, "eps must be a finite number"),
        (0, {"shape": []}, "layer 0 (Reshape) shape must be a list of positive integers"),
        (0, {"shape": [2, 7, 6.0]}, "shape must be a list of positive integers"),
        (8, {"shape": [18]}, "layer 8 (Flatten) has an unknown field 'shape'"),
        (3, {"negative_slope": 2}, "negative_slope must be in [0, 1)"),
    ],
)
def test_tampered_layer_fields(saved_cnn, layer, edit, words):
    _, path = saved_cnn
    edit_architecture(path, lambda arch: arch["layers"][layer].update(edit))
    assert words in load_error(path)


def test_json_nan_in_a_setting(saved_cnn):
    _, path = saved_cnn
    header, data = header_of(path)
    arch = header["__metadata__"]["architecture"]
    header["__metadata__"]["architecture"] = arch.replace('"momentum": 0.2', '"momentum": NaN')
    write_with_header(path, header, data)
    assert "momentum must be a finite number, not nan" in load_error(path)


def test_a_missing_field(saved_cnn):
    _, path = saved_cnn
    edit_architecture(path, lambda arch: arch["layers"][1].pop("stride"))
    assert "layer 1 (Conv2D) lacks its field 'stride'" in load_error(path)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda arch: arch["layers"].pop(8), "put a Flatten() before it"),  # Linear after pooling
        (
            lambda arch: arch["layers"][0].update(shape=[2, 6, 7]),
            "layer 10: Linear(18, 8, dtype=float32) takes rows of 18 values, not rows of 12",
        ),
        (lambda arch: arch.update(input_shape=[83]), "needs 84 values per example"),
        (lambda arch: arch.update(input_shape=[0, 84]), "input_shape must be a list of positive integers"),
        (lambda arch: arch.update(loss="hinge"), "its loss 'hinge' is unknown"),
        (lambda arch: arch.update(loss=["mean_squared_error"]), "is unknown"),
        (lambda arch: arch["layers"].insert(0, {"type": "Conv3D"}), "unknown layer type 'Conv3D'"),
    ],
    ids=["no-flatten", "reshape", "input-shape", "input-shape-zero", "loss", "loss-list", "unknown-type"],
)
def test_layers_that_do_not_chain_or_an_unknown_loss(saved_cnn, edit, words):
    _, path = saved_cnn
    edit_architecture(path, edit)
    message = load_error(path)
    assert "is not a valid layerwise model" in message and words in message


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("2.running_var", -1.0, "layer 2 (BatchNorm): its running_var has negative values"),
        ("11.running_mean", np.nan, "tensor 11.running_mean contains NaN"),
        ("2.gamma", np.inf, "tensor 2.gamma contains NaN or infinite values"),
    ],
)
def test_bad_values_in_state_and_parameters(saved_cnn, name, value, words):
    _, path = saved_cnn
    header, data = header_of(path)
    begin, _ = header[name]["data_offsets"]
    data = bytearray(data)
    data[begin : begin + 4] = np.float32(value).tobytes()
    write_with_header(path, header, bytes(data))
    assert words in load_error(path)


def test_labels_must_fit_the_loss(saved_cnn, tmp_path):
    _, path = saved_cnn
    header, data = header_of(path)
    header["__metadata__"]["classes"] = "null"
    write_with_header(path, header, data)
    assert "class labels are not a list" in load_error(path)
    reg = lw.save(regression(), tmp_path / "reg.safetensors")
    header, data = header_of(reg)
    header["__metadata__"]["classes"] = json.dumps({"dtype": "<i8", "values": [0, 1]})
    write_with_header(reg, header, data)
    assert "regression model (mean_squared_error) but has class labels" in load_error(reg)


def test_the_bytes_check_counts_every_tensor_of_the_architecture(saved_cnn):
    net, path = saved_cnn
    header, data = header_of(path)
    arch = json.loads(header["__metadata__"]["architecture"])
    counted = sum(
        LAYER_TYPES[spec["type"]].values(LAYER_TYPES[spec["type"]].parse(spec, "layer"))
        for spec in arch["layers"]
    )
    stored = sum(p.value.size for p in net.parameters()) + sum(a.size for _, a in net.named_state())
    assert counted == stored and 4 * counted == len(data)
    assert math.prod(header["1.weight"]["shape"]) == 4 * 2 * 3 * 2
