"""What raw training images look like (polarity, framing), fitted and saved, and images
framed as MNIST's digits and Fashion-MNIST's items were."""

import json
import struct

import numpy as np
import pytest
from PIL import Image

import layerwise as lw
from layerwise.data.inputs import frame, read_image, read_inputs
from layerwise.data.preprocessing import (
    fit_preprocessing,
    has_light_background,
    image_framing,
    image_polarity,
    ink_box,
    mass_centre,
)


def corner_stroke(size=200):
    """A small "7" (bright ink on black) in the lower-left corner of a big canvas."""
    canvas = np.zeros((size, size))
    canvas[140:146, 10:40] = 1.0  # the bar
    for i in range(50):  # the slanted stroke
        canvas[146 + i, 35 - i // 2 : 40 - i // 2] = 1.0
    return canvas


def test_a_small_digit_in_a_corner_is_framed_as_mnist():
    digit = frame(corner_stroke(), (28, 28), "mnist")
    top, bottom, left, right = ink_box(digit)
    assert max(bottom - top, right - left) == 20  # the 20x20 box
    assert np.abs(mass_centre(digit) - 13.5).max() <= 0.5  # centred by mass, to a pixel
    assert digit.min() >= 0 and digit.max() <= 1 and digit.max() > 0.9


def test_framing_keeps_the_aspect_ratio_and_fill_fills_the_frame():
    canvas = np.zeros((100, 300))
    canvas[10:30, 200:240] = 1.0  # twice as wide as tall
    item = frame(canvas, (28, 28), "fill")
    top, bottom, left, right = ink_box(item)
    assert (left, right) == (0, 28) and bottom - top == 14
    assert (top + bottom) / 2 == pytest.approx(14, abs=1)
    digit = frame(canvas, (28, 28), "mnist")
    top, bottom, left, right = ink_box(digit)
    assert (right - left, bottom - top) == (20, 10)


def test_the_background_level_is_taken_off_and_a_blank_stays_blank():
    canvas = np.full((60, 60), 0.2)  # a grey page...
    canvas[20:40, 25:35] = 0.9  # ...with a stroke
    digit = frame(canvas, (28, 28), "mnist")
    assert digit[0, 0] == 0 and digit.max() == pytest.approx(0.7, abs=0.05)
    assert not frame(np.full((60, 60), 0.3), (28, 28), "mnist").any()


def test_polarity_of_images():
    digit = np.zeros((28, 28))
    digit[5:23, 12:16] = 1.0
    assert has_light_background(digit) is False
    assert has_light_background(1 - digit) is True
    assert has_light_background(np.full((9, 9), 0.5)) is None
    X = np.stack([digit.ravel()] * 5)
    assert image_polarity(X, (28, 28)) == "dark_background"
    assert image_polarity(1 - X, (28, 28)) == "light_background"


def test_fit_preprocessing_records_polarity_and_framing_of_image_data():
    rng = np.random.default_rng(0)
    mnist_like = np.stack(
        [frame(np.roll(corner_stroke(), rng.integers(-9, 9), 1), (28, 28), "mnist") for _ in range(6)]
    )
    X = (mnist_like * 255).reshape(6, -1)
    prep = fit_preprocessing(X, "unit", pixel_max=255, image_shape=(28, 28))
    assert (prep.polarity, prep.framing) == ("dark_background", "mnist")
    prep = fit_preprocessing(255 - X, "none", pixel_max=255, image_shape=(28, 28))
    assert (prep.polarity, prep.framing) == ("light_background", "mnist")
    filled = np.stack([frame(corner_stroke(), (28, 28), "fill")] * 3).reshape(3, -1)
    assert image_framing(filled, (28, 28), "dark_background") == "fill"
    # not image data: nothing recorded; given values are kept
    prep = fit_preprocessing(X, "standard")
    assert prep.polarity is None and prep.framing is None
    prep = fit_preprocessing(X, pixel_max=255, image_shape=(28, 28), polarity=None, framing="none")
    assert prep.polarity is None and prep.framing == "none"


def test_polarity_and_framing_are_checked_and_saved(tmp_path):
    with pytest.raises(lw.LayerwiseError, match="polarity must be one of"):
        lw.Preprocessing(polarity="dark")
    with pytest.raises(lw.LayerwiseError, match="framing must be one of"):
        lw.Preprocessing.coerce({"framing": "centre"})
    prep = lw.Preprocessing(scale=1 / 255, image_shape=(4, 4), polarity="light_background", framing="fill")
    assert lw.Preprocessing.coerce(prep.to_dict()).to_dict() == prep.to_dict()
    path = tmp_path / "m.safetensors"
    lw.save(lw.Network.from_spec("16-2", seed=0), path, preprocessing=prep)
    loaded = lw.load(path).preprocessing
    assert (loaded.polarity, loaded.framing) == ("light_background", "fill")

    # a file whose polarity is not one of the names is refused
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"]["preprocessing"] = header["__metadata__"]["preprocessing"].replace(
        "light_background", "light_backgroun"
    )
    text = json.dumps(header).encode()
    text += b" " * (n - len(text))
    (tmp_path / "bad.safetensors").write_bytes(raw[:8] + text + raw[8 + n :])
    with pytest.raises(lw.LayerwiseError, match="polarity"):
        lw.load(tmp_path / "bad.safetensors")


def test_an_off_centre_photo_is_framed_like_mnist(tmp_path):
    """Dark ink in a corner of a big white page becomes a centred bright digit."""
    prep = lw.Preprocessing(
        scale=1 / 255, image_shape=(28, 28), pixel_max=255, polarity="dark_background", framing="mnist"
    )
    model = lw.Model(lw.Network.from_spec("784-10", seed=0), preprocessing=prep)
    page = ((1 - corner_stroke()) * 255).astype(np.uint8)
    Image.fromarray(page).save(tmp_path / "page.png")
    notes = []
    digit = read_image(tmp_path / "page.png", model, note=notes.append).reshape(28, 28)
    assert len(notes) == 1 and "light background; inverted" in notes[0]
    assert digit[0, 0] == 0 and digit.max() > 200
    top, bottom, left, right = ink_box(digit)
    assert max(bottom - top, right - left) == 20
    assert np.abs(mass_centre(digit) - 13.5).max() <= 0.5


def test_a_folder_holds_images_sorted_by_name(tmp_path):
    model = lw.Model(lw.Network.from_spec("4-2", seed=0), preprocessing=lw.Preprocessing(image_shape=(2, 2)))
    for name, value in (("b.png", 10), ("a.jpg", 200), ("c.gif", 60)):
        Image.new("L", (2, 2), value).save(tmp_path / name)
    (tmp_path / "z.csv").write_text("1,2,3,4\n")  # not an image: left out
    (tmp_path / "sub").mkdir()
    Image.new("L", (2, 2), 0).save(tmp_path / "sub" / "d.png")  # not looked into
    names, X = read_inputs(tmp_path, model)
    assert names == [str(tmp_path / n) for n in ("a.jpg", "b.png", "c.gif")]
    assert X.shape == (3, 4) and X[:, 0].round().tolist() == [200, 10, 60]
