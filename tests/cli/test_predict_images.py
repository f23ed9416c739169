"""`layerwise predict` on people's images: transparency, polarity (with --invert and
--no-invert), framing, folders, and model files without the polarity and framing fields."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import layerwise as lw
from layerwise.cli import main
from layerwise.data.inputs import read_image, read_inputs
from layerwise.data.preprocessing import fit_preprocessing

FASHION = Path("/usr/share/datasets/fashion-mnist")
NOTE = "has a light background; inverted to match the model's dark background (--no-invert to keep it)"


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory, digits_split):
    """A small network on the 8x8 digits whose Preprocessing was fitted as `train` fits it:
    raw pixels 0..16, polarity and framing from the training images."""
    X_train, _, X_test, y_train, _, _ = digits_split
    prep = fit_preprocessing(X_train, "unit", pixel_max=16, image_shape=(8, 8))
    assert (prep.polarity, prep.framing) == ("dark_background", "none")
    net = lw.Network.from_spec("64-32-10", activation="relu", seed=0)
    X = prep.transform(X_train.astype(np.float32))
    lw.fit(net, X, y_train, optimizer=lw.Adam(1e-2), epochs=40, batch_size=64, seed=0)
    path = tmp_path_factory.mktemp("model") / "digits.safetensors"
    lw.save(net, path, preprocessing=prep)
    return path, X_test


def predict(*args, capsys):
    code = main(["predict", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def classes(out):
    return [json.loads(line)["class"] for line in out.splitlines()]


def draw_seven(image, ink):
    pen = ImageDraw.Draw(image)
    pen.line((14, 8, 50, 8), fill=ink, width=7)
    pen.line((50, 8, 26, 58), fill=ink, width=7)
    return image


# --- transparency ----------------------------------------------------------------------


def test_black_ink_on_a_transparent_canvas_predicts_as_on_white(digits_model, tmp_path, capsys):
    model_path, _ = digits_model
    model = lw.load(model_path)
    on_white = draw_seven(Image.new("L", (64, 64), 255), 0)
    on_white.save(tmp_path / "white.png")
    draw_seven(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), (0, 0, 0, 255)).save(tmp_path / "clear.png")
    draw_seven(Image.new("LA", (64, 64), (255, 0)), (255, 255)).save(tmp_path / "white-ink.png")

    rows = [read_image(tmp_path / name, model) for name in ("white.png", "clear.png", "white-ink.png")]
    np.testing.assert_allclose(rows[1], rows[0], atol=1e-9)
    np.testing.assert_allclose(rows[2], rows[0], atol=1e-9)
    assert rows[0].max() > 8  # not a blank
    code, out, err = predict(
        model_path, *(tmp_path / n for n in ("white.png", "clear.png")), "--json", capsys=capsys
    )
    assert code == 0 and classes(out) == [7, 7]
    assert err.count(NOTE) == 2  # both read as dark ink on a light background


# --- polarity and the 8x8 digits ------------------------------------------------------


def save_digits(folder, X, light_background):
    folder.mkdir()
    for i, row in enumerate(X):
        pixels = (row.reshape(8, 8) * 255 / 16).round().astype(np.uint8)
        Image.fromarray(255 - pixels if light_background else pixels).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("light_background", [False, True])
def test_every_test_digit_saved_as_a_png_predicts_as_its_array(
    digits_model, tmp_path, capsys, light_background
):
    model_path, X_test = digits_model
    model = lw.load(model_path)
    folder = save_digits(tmp_path / "digits", X_test, light_background)
    (folder / "notes.txt").write_text("not an image: skipped")
    names, X = read_inputs(folder, model)
    assert names == [str(folder / f"{i:03d}.png") for i in range(len(X_test))]
    # the rows read are the arrays, but for the 8 bits of a PNG (a 16th of a level)
    as_png = (X_test * 255 / 16).round() * 16 / 255
    np.testing.assert_allclose(X, as_png, atol=1e-9)
    assert np.abs(X - X_test).max() <= 1 / 30

    code, out, err = predict(model_path, folder, "--json", capsys=capsys)
    assert code == 0
    predicted = classes(out)
    assert predicted == model.predict(as_png).tolist()  # all 594
    assert np.mean(np.array(predicted) == model.predict(X_test)) >= 0.995
    assert err.count(NOTE) == (len(X_test) if light_background else 0)


def test_invert_and_no_invert_decide_instead_of_the_image(digits_model, tmp_path, capsys):
    model_path, X_test = digits_model
    expected = lw.load(model_path).predict(X_test[:20]).tolist()
    light = save_digits(tmp_path / "light", X_test[:20], light_background=True)
    dark = save_digits(tmp_path / "dark", X_test[:20], light_background=False)

    code, out, err = predict(model_path, light, "--no-invert", "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) != expected
    code, out, err = predict(model_path, light, "--invert", "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) == expected
    code, out, err = predict(model_path, dark, "--invert", "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) != expected


def test_an_empty_folder_is_an_error(digits_model, tmp_path, capsys):
    model_path, _ = digits_model
    (tmp_path / "empty").mkdir()
    code, out, err = predict(model_path, tmp_path / "empty", capsys=capsys)
    assert code == 1 and out == "" and "no images" in err and str(tmp_path / "empty") in err


# --- model files without polarity and framing -------------------------------------------


def test_a_model_file_without_polarity_and_framing_predicts_as_before(digits_model, tmp_path, capsys):
    model_path, X_test = digits_model
    model = lw.load(model_path)
    assert (model.preprocessing.polarity, model.preprocessing.framing) == ("dark_background", "none")
    old = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8), pixel_max=16)  # as older versions saved
    lw.save(model.network, tmp_path / "old.safetensors", preprocessing=old)
    header = (tmp_path / "old.safetensors").read_bytes()
    assert b"polarity" not in header and b"framing" not in header
    loaded = lw.load(tmp_path / "old.safetensors")
    assert loaded.preprocessing.polarity is None and loaded.preprocessing.framing is None

    expected = model.predict(X_test[:10]).tolist()
    dark = save_digits(tmp_path / "dark", X_test[:10], light_background=False)
    light = save_digits(tmp_path / "light", X_test[:10], light_background=True)
    code, out, err = predict(tmp_path / "old.safetensors", dark, "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) == expected
    # no polarity: images are not inverted unless asked, as before
    code, out, err = predict(tmp_path / "old.safetensors", light, "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) != expected
    code, out, err = predict(tmp_path / "old.safetensors", light, "--invert", "--json", capsys=capsys)
    assert code == 0 and err == "" and classes(out) == expected


# --- Fashion-MNIST: a dark-on-white trouser ---------------------------------------------


@pytest.fixture(scope="module")
def fashion_model(tmp_path_factory):
    # make test installs the data set (make data): a missing one is a failure, not a skip
    assert (FASHION / "train-images-idx3-ubyte.gz").exists(), "Fashion-MNIST is not installed: run make data"
    from layerwise.data import load

    data = load(str(FASHION))
    X_train, y_train = data.X_train[:5000], data.y_train[:5000]
    prep = fit_preprocessing(X_train, "unit", pixel_max=255, image_shape=(28, 28))
    assert (prep.polarity, prep.framing) == ("dark_background", "fill")
    net = lw.Network.from_spec("784-64-10", activation="relu", seed=0)
    X = prep.transform(X_train.astype(np.float32))
    lw.fit(net, X, y_train, optimizer=lw.Adam(2e-3), epochs=8, batch_size=64, seed=0)
    path = tmp_path_factory.mktemp("fashion") / "fashion.safetensors"
    lw.save(net, path, classes=data.classes, preprocessing=prep)
    model = lw.load(path)
    trousers = data.X_test[data.y_test == 1][:40]
    right = trousers[model.predict(trousers) == "Trouser"][:5]
    assert len(right) == 5
    return path, right


@pytest.mark.parametrize("size", [28, 100])
def test_a_dark_on_white_trouser_is_a_trouser(fashion_model, tmp_path, capsys, size):
    model_path, trousers = fashion_model
    paths = []
    for i, row in enumerate(trousers):
        dark_on_white = Image.fromarray(255 - row.reshape(28, 28).astype(np.uint8))
        paths.append(tmp_path / f"trouser{i}.png")
        dark_on_white.resize((size, size), Image.Resampling.BICUBIC).save(paths[-1])
    code, out, err = predict(model_path, *paths, "--json", capsys=capsys)
    assert code == 0 and classes(out) == ["Trouser"] * len(paths)
    assert err.splitlines() == [f"layerwise predict: {p} {NOTE}" for p in paths]
