"""Layer specs: every token, the canonical text, one-line errors naming the layer at fault,
and the networks they build (sizes from shape propagation, reshape and flatten where images
need them, seeds as Network.from_spec's)."""

import numpy as np
import pytest

import layerwise as lw
from layerwise.nn.conv import AvgPool2D, Conv2D, MaxPool2D
from layerwise.nn.layer_spec import (
    build_layers,
    build_network,
    canonical_layers,
    default_init,
    layers_text,
    linear_units,
    multiply_adds,
    on_images,
    parse_layers,
)
from layerwise.nn.normalization import BatchNorm

FASHION_CNN = "conv32k3p1,relu,maxpool2,conv64k3p1,bn,relu,maxpool2,flatten,128,relu,dropout0.3"


def kinds(layers):
    return [type(layer).__name__ for layer in layers]


# --- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind, canonical, numbers",
    [
        (
            "conv32k3",
            "conv",
            "conv32k3",
            {"units": 32, "kernel": (3, 3), "stride": (1, 1), "padding": (0, 0)},
        ),
        ("conv8k5s2p2", "conv", "conv8k5s2p2", {"kernel": (5, 5), "stride": (2, 2), "padding": (2, 2)}),
        ("conv8k3p1", "conv", "conv8k3p1", {"stride": (1, 1), "padding": (1, 1)}),
        ("conv8k3s2", "conv", "conv8k3s2", {"stride": (2, 2), "padding": (0, 0)}),
        (
            "conv4k3x5s1x2p0x1",
            "conv",
            "conv4k3x5s1x2p0x1",
            {"kernel": (3, 5), "stride": (1, 2), "padding": (0, 1)},
        ),
        ("conv4k3s1p0", "conv", "conv4k3", {}),
        ("maxpool2", "maxpool", "maxpool2", {"kernel": (2, 2), "stride": None}),
        ("maxpool3s2", "maxpool", "maxpool3s2", {"kernel": (3, 3), "stride": (2, 2)}),
        ("maxpool2s2", "maxpool", "maxpool2", {"stride": None}),
        ("avgpool2", "avgpool", "avgpool2", {"kernel": (2, 2)}),
        ("avgpool2x3s1", "avgpool", "avgpool2x3s1", {"kernel": (2, 3), "stride": (1, 1)}),
        ("bn", "bn", "bn", {}),
        ("BatchNorm", "bn", "bn", {}),
        ("relu", "activation", "relu", {"name": "relu"}),
        ("Leaky-ReLU", "activation", "leaky_relu", {"name": "leaky_relu"}),
        ("tanh", "activation", "tanh", {"name": "tanh"}),
        ("sigmoid", "activation", "sigmoid", {"name": "sigmoid"}),
        ("dropout0.3", "dropout", "dropout0.3", {"p": 0.3}),
        ("dropout.50", "dropout", "dropout0.5", {"p": 0.5}),
        ("dropout0", "dropout", "dropout0", {"p": 0.0}),
        ("flatten", "flatten", "flatten", {}),
        ("128", "linear", "128", {"units": 128}),
        (" 064 ", "linear", "64", {"units": 64}),
    ],
)
def test_every_token_reads_to_its_layer_and_canonical_text(text, kind, canonical, numbers):
    (token,) = parse_layers(text)
    assert token.kind == kind and token.text == canonical
    for name, value in numbers.items():
        assert getattr(token, name) == value, name


def test_a_spec_keeps_its_canonical_text():
    assert canonical_layers(" Conv32K3P1 , ReLU,MaxPool2S2, BN , 128, Dropout0.30") == (
        "conv32k3p1,relu,maxpool2,bn,128,dropout0.3"
    )
    assert canonical_layers(FASHION_CNN) == FASHION_CNN


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "layers is empty: give layers such as"),
        ("   ", "layers is empty"),
        ("conv8k3,,relu", "layers has an empty layer (layer 2): remove an extra comma"),
        ("conv8k3,relu,", "layers has an empty layer (layer 3): remove a trailing comma"),
        ("conv8k3,rleu", "layers has an unknown layer 'rleu' (layer 2); did you mean 'relu'?"),
        ("swish", "layers has an unknown layer 'swish' (layer 1); the layers are conv<filters>k<kernel>"),
        ("conv32", "layers has a malformed layer 'conv32' (layer 1): write conv<filters>k<kernel>"),
        ("conv32k3q1", "malformed layer 'conv32k3q1'"),
        ("conv32k3p1s2", "malformed layer 'conv32k3p1s2'"),
        ("conv0k3", "'conv0k3' (layer 1), whose filters, kernel and stride must be at least 1"),
        ("conv8k0", "'conv8k0' (layer 1), whose filters, kernel and stride must be at least 1"),
        ("conv8k3s0", "whose filters, kernel and stride must be at least 1"),
        ("relu,maxpool", "layers has a malformed layer 'maxpool' (layer 2): write maxpool<k>[s<stride>]"),
        ("avgpool2s", "malformed layer 'avgpool2s' (layer 1): write avgpool<k>[s<stride>]"),
        ("maxpool0", "'maxpool0' (layer 1), whose window and stride must be at least 1"),
        ("dropout", "'dropout' (layer 1): write dropout<p> with the probability p, e.g. dropout0.3"),
        ("dropout1", "'dropout1' (layer 1), whose probability is not in [0, 1)"),
        ("dropoutnan", "'dropoutnan' (layer 1), whose probability is not in [0, 1)"),
        ("0", "layers has a Linear layer of 0 units (layer 1); give at least 1"),
        ("-3", "unknown layer '-3'"),
        ("12.5", "unknown layer '12.5'"),
        ("conv8k3;relu", "layers 'conv8k3;relu' has a semicolon: one spec separates its layers by commas"),
    ],
)
def test_a_spec_that_cannot_be_read_is_a_one_line_setting_error(text, message):
    with pytest.raises(lw.SettingError) as error:
        parse_layers(text)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert error.value.setting == "layers"


def test_what_a_spec_says_about_its_network():
    assert on_images("conv8k3,relu,flatten,32") and on_images("bn,maxpool2,64")
    assert not on_images("bn,128,relu") and not on_images("flatten,conv8k3") and not on_images("relu")
    assert default_init("conv8k3,relu,64,leaky_relu") == "he_uniform"
    assert default_init("conv8k3,relu,64,sigmoid") == default_init("128") == "glorot_uniform"
    assert linear_units(FASHION_CNN) == [128]


# --- building ----------------------------------------------------------------------------


def test_the_issues_network_from_its_spec():
    net = build_network(FASHION_CNN, 784, 10, image_shape=(28, 28))
    assert kinds(net.layers) == [
        "Reshape", "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "BatchNorm", "ReLU", "MaxPool2D", "Flatten",
        "Linear", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    conv1, conv2 = net.layers[1], net.layers[4]
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size, conv1.padding) == (
        1,
        32,
        (3, 3),
        (1, 1),
    )
    assert (conv2.in_channels, conv2.out_channels) == (32, 64) and net.layers[5].num_features == 64
    assert net.layers[9].n_in == 64 * 7 * 7 and net.layers[-1].n_out == 10
    assert net.shapes[0] == (1, 28, 28) and net.shapes[7] == (64, 7, 7) and net.input_shape == (784,)
    assert net.layers[11].p == 0.3 and conv1.init == net.layers[9].init == "he_uniform"
    assert str(net.dtype) == "float32" and net.n_features == 784


def test_flatten_is_inserted_before_the_first_linear_layer_after_images():
    with_flatten = build_layers("conv4k3,relu,flatten,16", 64, 10, image_shape=(8, 8))
    without = build_layers("conv4k3,relu,16", 64, 10, image_shape=(8, 8))
    assert (
        kinds(with_flatten) == kinds(without) == ["Reshape", "Conv2D", "ReLU", "Flatten", "Linear", "Linear"]
    )
    # images up to the end: flattened before the last Linear layer
    assert kinds(build_layers("conv4k3,maxpool2", 64, 3, image_shape=(8, 8)))[-2:] == ["Flatten", "Linear"]
    assert build_layers("conv4k3,maxpool2", 64, 3, image_shape=(8, 8))[-1].n_in == 4 * 3 * 3


def test_batch_norm_normalises_channels_of_images_and_features_of_rows():
    images = build_layers("bn,conv4k3,bn,relu,flatten,bn,16,bn", 64, 10, image_shape=(8, 8))
    norms = [layer.num_features for layer in images if isinstance(layer, BatchNorm)]
    assert norms == [1, 4, 4 * 6 * 6, 16] and isinstance(images[0], lw.Reshape)
    rows = build_layers("bn,32,bn,relu", 64, 10, image_shape=(8, 8))  # no image layer: rows
    assert kinds(rows) == ["BatchNorm", "Linear", "BatchNorm", "ReLU", "Linear"]
    assert rows[0].num_features == 64
    # a network that starts with a layer of any input shape takes rows of the data's features
    for spec in ("bn,32", "dropout0.2,relu,16", "flatten,8"):
        assert build_network(spec, 64, 10).input_shape == (64,)


def test_pooling_strides_pairs_and_the_output_activation():
    layers = build_layers("conv2k3x1s2x1p1x0,avgpool3s1,maxpool2x1", 12 * 5, 3, image_shape=(12, 5),
                          output_activation="sigmoid", dtype="float64")  # fmt: skip
    conv, avg, top = layers[1], layers[2], layers[3]
    assert isinstance(avg, AvgPool2D) and isinstance(top, MaxPool2D)
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 1), (2, 1), (1, 0))
    assert (avg.kernel_size, avg.stride, top.kernel_size, top.stride) == ((3, 3), (1, 1), (2, 1), (2, 1))
    net = lw.Network(layers)
    assert net.shapes[1:4] == [(2, 6, 5), (2, 4, 3), (2, 2, 3)]
    assert kinds(layers)[-2:] == ["Linear", "Sigmoid"] and str(net.dtype) == "float64"


def test_a_spec_of_linear_layers_is_the_network_from_spec_gives():
    ours = build_network("48,sigmoid,32,sigmoid,dropout0.2", 64, 10, output_activation="sigmoid", seed=7)
    theirs = lw.Network.from_spec("64-48-32-10", "sigmoid", "sigmoid", dropout=0.2, seed=7)
    assert repr(ours) != repr(theirs)  # from_spec puts dropout after every hidden activation
    theirs = lw.Network.from_spec("64-48-32-10", "sigmoid", "sigmoid", seed=7)
    ours = build_network("48,sigmoid,32,sigmoid", 64, 10, output_activation="sigmoid", seed=7)
    assert repr(ours) == repr(theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    # and dropout masks too: each dropout from the child after its Linear layer's
    ours = build_network("16,relu,dropout0.5,8,relu,dropout0.5", 4, 3, seed=3)
    theirs = lw.Network.from_spec("4-16-8-3", "relu", dropout=0.5, seed=3)
    assert repr(ours) == repr(theirs)
    X = np.random.default_rng(0).random((20, 4))
    for net in (ours, theirs):
        net.train()
    np.testing.assert_array_equal(ours.forward(ours.check_X(X)), theirs.forward(theirs.check_X(X)))


def test_the_same_seed_gives_the_same_network_and_each_layer_its_own_stream():
    spec = "dropout0.1,conv4k3,relu,dropout0.5,dropout0.5,flatten,16,relu,dropout0.5"
    a = build_network(spec, 64, 10, image_shape=(8, 8), seed=1)
    b = build_network(spec, 64, 10, image_shape=(8, 8), seed=1)
    c = build_network(spec, 64, 10, image_shape=(8, 8), seed=2)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    dropouts = [layer for layer in a.layers if isinstance(layer, lw.Dropout)]
    draws = [d.rng.random(4).tolist() for d in dropouts]
    assert len(dropouts) == 4 and len({tuple(d) for d in draws}) == 4  # four different streams
    again = [d.rng.random(4).tolist() for d in (x for x in b.layers if isinstance(x, lw.Dropout))]
    assert again == draws


def test_init_and_dtype_reach_every_weighted_layer():
    net = build_network("conv4k3,tanh,16,tanh", 64, 10, image_shape=(8, 8), dtype="float64")
    weighted = [layer for layer in net.layers if isinstance(layer, (Conv2D, lw.Linear))]
    assert [layer.init for layer in weighted] == ["glorot_uniform"] * 3
    net = build_network("conv4k3,tanh,16,tanh", 64, 10, image_shape=(8, 8), init="he_normal")
    assert {layer.init for layer in net.layers if isinstance(layer, (Conv2D, lw.Linear))} == {"he_normal"}
    with pytest.raises(lw.LayerwiseError, match="unknown init 'zeros'"):
        build_network("16", 4, 3, init="zeros")


@pytest.mark.parametrize(
    "spec, image_shape, message",
    [
        (
            "conv8k3,relu",
            None,
            "layers starts with image layers (conv8k3) but the data have no image shape "
            "(rows of 64 values, as from a CSV file); use Linear layers such as 128,relu",
        ),
        ("bn,maxpool2,16", None, "starts with image layers (maxpool2)"),
        (
            "conv8k9",
            (8, 8),
            "layers has conv8k9 (layer 1), whose 9x9 window is larger than its input image "
            "of 8x8 (shape (1, 8, 8)); use fewer pooling layers, smaller kernels or padding",
        ),
        (
            "conv4k3p1,maxpool2,maxpool2,conv4k3",
            (8, 8),
            "conv4k3 (layer 4), whose 3x3 window is larger than its input image of 2x2",
        ),
        (
            "maxpool3,maxpool3",
            (8, 8),
            "maxpool3 (layer 2), whose 3x3 window is larger than its input image of 2x2",
        ),
        (
            "conv4k3,flatten,maxpool2",
            (8, 8),
            "layers has maxpool2 (layer 3), which needs images, but its input "
            "is rows of 144 values since layer 2 (flatten); put the "
            "convolution and pooling layers before flatten",
        ),
        (
            "32,relu,conv4k3",
            (8, 8),
            "conv4k3 (layer 3), which needs images, but its input is rows of 32 values since layer 1 (32)",
        ),
    ],  # fmt: skip
)
def test_a_spec_that_does_not_fit_the_data_is_a_one_line_error_naming_the_layer(spec, image_shape, message):
    with pytest.raises(lw.SettingError) as error:
        build_network(spec, 64, 10, image_shape=image_shape)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_padding_lets_a_kernel_larger_than_the_image_fit():
    net = build_network("conv2k9p1", 64, 10, image_shape=(8, 8))
    assert net.shapes[1] == (2, 2, 2)


def test_an_image_shape_that_does_not_hold_the_features_is_refused():
    with pytest.raises(lw.LayerwiseError, match=r"image_shape \(8, 8\) does not hold the 60 input values"):
        build_network("conv2k3", 60, 10, image_shape=(8, 8))


def test_layers_text_writes_a_network_back_as_its_spec():
    net = build_network(FASHION_CNN, 784, 10, image_shape=(28, 28))
    assert layers_text(net.layers) == FASHION_CNN + ",10"
    again = build_network(layers_text(net.layers[:-1]), 784, 10, image_shape=(28, 28))
    assert repr(again) == repr(net)
    net = build_network("conv2k3x5s2x1p1,leaky_relu,avgpool3s2,tanh", 100, 4, image_shape=(10, 10),
                        output_activation="sigmoid")  # fmt: skip
    assert layers_text(net.layers) == "conv2k3x5s2x1p1,leaky_relu,avgpool3s2,tanh,flatten,4,sigmoid"


def test_multiply_adds_count_the_convolutions_and_linear_layers():
    assert multiply_adds("16,relu", 64, 10) == 64 * 16 + 16 * 10
    conv = 32 * 28 * 28 * 9 + 64 * 14 * 14 * 32 * 9 + 3136 * 128 + 128 * 10
    assert multiply_adds(FASHION_CNN, 784, 10, image_shape=(28, 28)) == conv


def test_the_gradients_of_a_spec_network_check_against_finite_differences():
    spec = "conv3k3s2p1,tanh,avgpool2,bn,conv2k1,sigmoid,maxpool1,flatten,6,leaky_relu"
    net = build_network(spec, 7 * 6, 3, image_shape=(7, 6), dtype="float64", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 42))
    errors = lw.gradcheck(net, X, [0, 1, 2, 0, 1], l2=0.1)
    assert max(errors.values()) < 1e-6, errors
