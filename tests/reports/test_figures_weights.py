"""The first layer's weights: one symmetric colour scale for every tile, a colour bar, and
a title that says what the colours mean."""

import numpy as np
import pytest
from figure_checks import texts_cut

import layerwise as lw
from layerwise.data.digits import tutorial_split
from layerwise.experiments.tutorial import TUTORIAL
from layerwise.nn import History
from layerwise.nn.metrics import confusion_matrix
from layerwise.reports import figures, tutorial


def weights():
    rng = np.random.default_rng(0)
    tiles = rng.normal(0, 1, (12, 8, 8))
    tiles[0] *= 0.01  # a unit whose weights are all small: it must look pale, not saturated
    tiles[5] *= 3
    return tiles


def test_every_tile_shares_one_symmetric_colour_scale_with_a_colour_bar():
    tiles = weights()
    fig = figures.image_grid_figure(tiles, [str(i + 1) for i in range(12)], cmap="RdBu_r", symmetric=True,
                                    colorbar_label="weight")  # fmt: skip
    ax = fig.axes[0]
    (image,) = ax.get_images()  # one image for every tile: one colour scale
    largest = np.abs(tiles).max()
    assert image.get_clim() == (-largest, largest)
    # the tiles are drawn as they are, not each scaled by its own maximum
    mosaic = np.ma.filled(np.ma.asarray(image.get_array(), dtype=np.float64), np.nan)
    shown = np.sort(mosaic[np.isfinite(mosaic)])
    np.testing.assert_array_equal(shown, np.sort(tiles.ravel()))
    assert np.abs(image.norm(tiles[0]) - 0.5).max() < 0.01  # the small unit stays near white
    assert image.colorbar is not None and image.colorbar.ax in fig.axes
    assert image.colorbar.ax.get_ylabel() == "weight"
    assert image.colorbar.vmin == -largest and image.colorbar.vmax == largest
    assert texts_cut(fig) == []


def test_an_unsymmetric_grid_has_no_colour_bar():
    fig = figures.image_grid_figure(np.ones((3, 8, 8)), ["a", "b", "c"], title="misclassified")
    assert len(fig.axes) == 1
    assert texts_cut(fig) == []


@pytest.fixture(scope="module")
def tutorial_result():
    """What tutorial.figure_calls reads of a run, with an untrained network."""
    data = tutorial_split()
    net = TUTORIAL.network(64, 10, 0)
    predicted = net.predict(data["X_test"])
    return {
        "config": TUTORIAL,
        "data": data,
        "best_lambda": 0.1,
        "test_predicted": predicted,
        "confusion": confusion_matrix(data["y_test"], predicted, 10),
        "final": {
            "net": net,
            "history": History(train_loss=[2.3, 1.9, 1.6], val_loss=[2.3, 2.0, 1.7]),
            "grad_norms": {"layer 1": [1.0, 0.5, 0.2]},
        },
    }


def call_for(calls, name):
    return next((fn, args, kwargs) for fn, args, kwargs in calls if args[0].name == name)


def test_the_tutorials_weight_figure_says_what_red_and_blue_mean(tutorial_result, tmp_path):
    calls = tutorial.figure_calls(tmp_path, tutorial_result)
    fn, args, kwargs = call_for(calls, "first_layer_weights.png")
    title = kwargs["title"].lower()
    assert "red" in title and "blue" in title and "positive" in title and "negative" in title
    assert "pixel" in title and "one colour scale" in title
    fig = figures.image_grid_figure(*args[1:], **kwargs)
    (image,) = fig.axes[0].get_images()
    assert image.colorbar is not None
    largest = np.abs(tutorial_result["final"]["net"].linears[0].weight.value).max()
    assert image.get_clim() == pytest.approx((-largest, largest))
    assert texts_cut(fig) == []
    assert fn(*args, **kwargs).read_bytes()[:4] == b"\x89PNG"


# --- the first layer of a training's network: filters of a convolution, or weight images ---


def test_a_conv_nets_first_layer_figure_shows_its_filters(tmp_path):
    from layerwise.nn.layer_spec import build_network

    net = build_network("conv12k5p2,relu,maxpool2,16,relu", 784, 10, image_shape=(28, 28), seed=0)
    images, captions, title = figures.first_layer_tiles(net, (28, 28))
    weight = net.layers[1].weight.value
    np.testing.assert_array_equal(images, weight[:, 0])
    assert images.shape == (12, 5, 5) and captions == [str(i) for i in range(1, 13)]
    assert title.startswith("The 12 5x5 filters of the first convolution, one colour scale for all")
    assert "red" in title and "blue" in title
    fig = figures.first_layer_figure(net, (28, 28))
    (image,) = fig.axes[0].get_images()
    largest = np.abs(weight).max()
    assert image.get_clim() == pytest.approx((-largest, largest)) and image.colorbar is not None
    assert texts_cut(fig) == []
    fn, args, kwargs = figures.first_layer_call(tmp_path / "first_layer.png", net, (28, 28))
    assert fn(*args, **kwargs).read_bytes()[:4] == b"\x89PNG"


def test_filters_of_several_input_channels_are_averaged_and_at_most_64_shown():
    from layerwise.nn.conv import Conv2D

    conv = Conv2D(3, 80, kernel_size=(3, 2), seed=0)
    net = lw.Network([lw.Reshape((3, 6, 6)), conv, lw.Flatten(), lw.Linear(80 * 4 * 5, 2)])
    images, captions, title = figures.first_layer_tiles(net)
    np.testing.assert_allclose(images, conv.weight.value.mean(axis=1)[:64])
    assert len(captions) == 64 and captions[-1] == "64"
    assert title.startswith(
        "The first 64 of the 80 3x2 filters of the first convolution, averaged over its 3"
    )
    assert texts_cut(figures.first_layer_figure(net)) == []


def test_a_dense_nets_first_layer_is_shown_as_images_of_the_data_and_nothing_without_them():
    net = lw.Network.from_spec("784-100-10", seed=0)
    images, captions, title = figures.first_layer_tiles(net, (28, 28))
    np.testing.assert_array_equal(images, net.layers[0].weight.value.T[:64].reshape(-1, 28, 28))
    assert len(captions) == 64 and "into the first 64 of the 100 first-layer units" in title
    assert figures.first_layer_tiles(net) is None  # rows without an image shape
    assert figures.first_layer_tiles(net, (27, 28)) is None
    assert figures.first_layer_call("unused.png", net) is None and figures.first_layer_figure(net) is None
