import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

import layerwise as lw
from layerwise.cli import main


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory, digits_split):
    """A small ReLU network trained on the tutorial's digits (raw pixels 0..16)."""
    X_train, _, X_test, y_train, _, y_test = digits_split
    prep = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8), pixel_max=16)
    net = lw.Network.from_spec("64-32-10", activation="relu", seed=0)
    lw.fit(
        net,
        prep.transform(X_train.astype(np.float32)),
        y_train,
        optimizer=lw.Adam(1e-2),
        epochs=40,
        batch_size=64,
        seed=0,
    )
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    lw.save(net, path, preprocessing=prep)
    return path, X_test, y_test


def draw_digit(path, digit, size=64):
    """Dark ink on white paper, as people draw."""
    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    k = size / 64  # the strokes are drawn on a 64x64 grid
    width = round(7 * k)
    if digit == 0:
        pen.ellipse((16 * k, 6 * k, 48 * k, 58 * k), outline=0, width=width)
    elif digit == 7:
        pen.line((14 * k, 8 * k, 50 * k, 8 * k), fill=0, width=width)
        pen.line((50 * k, 8 * k, 26 * k, 58 * k), fill=0, width=width)
    image.save(path)
    return path


def predict(*args, capsys):
    code = main(["predict", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("digit", [0, 7])
def test_a_drawn_digit_png_is_recognised(digits_model, tmp_path, capsys, digit):
    model_path, _, _ = digits_model
    png = draw_digit(tmp_path / f"digit{digit}.png", digit)
    code, out, _ = predict(model_path, png, "--invert", "--json", capsys=capsys)
    assert code == 0
    line = json.loads(out)
    assert line["input"] == str(png) and line["class"] == digit
    assert len(line["top"]) == 3 and line["top"][0]["probability"] > 0.5


def test_an_image_of_a_digit_row_predicts_as_the_row(digits_model, tmp_path, capsys):
    model_path, X_test, _ = digits_model
    expected = lw.load(model_path).predict(X_test[:5])
    paths = []
    for i, row in enumerate(X_test[:5]):
        pixels = (row.reshape(8, 8) * 255 / 16).round().astype(np.uint8)
        paths.append(tmp_path / f"row{i}.png")
        Image.fromarray(pixels).resize((8, 8)).save(paths[-1])
    code, out, _ = predict(model_path, *paths, capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert [int(line.split(": ")[1].split()[0]) for line in lines] == list(expected)
    assert lines[0].startswith(f"{paths[0]}: ")


def test_jpeg_of_another_size_is_resized(digits_model, tmp_path, capsys):
    model_path, _, _ = digits_model
    jpg = tmp_path / "zero.jpg"
    Image.open(draw_digit(tmp_path / "zero.png", 0, size=120)).convert("RGB").save(jpg)
    code, out, _ = predict(model_path, jpg, "--invert", "--top", "1", capsys=capsys)
    assert code == 0 and out.startswith(f"{jpg}: 0  (0 ")


def test_csv_rows_and_npz_arrays(digits_model, tmp_path, capsys):
    model_path, X_test, _ = digits_model
    expected = lw.load(model_path).predict(X_test[:4]).tolist()
    csv = tmp_path / "rows.csv"
    header = ",".join(f"pixel{i}" for i in range(64))
    csv.write_text(header + "\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in X_test[:2]) + "\n")
    npz = tmp_path / "arrays.npz"
    np.savez(npz, X=X_test[2:4].reshape(2, 8, 8))
    npy = tmp_path / "row.npy"
    np.save(npy, X_test[0])
    code, out, _ = predict(model_path, csv, npz, npy, "--json", capsys=capsys)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["input"] for line in lines] == [
        f"{csv}:2",
        f"{csv}:3",
        f"{npz}[0]",
        f"{npz}[1]",
        f"{npy}[0]",
    ]
    assert [line["class"] for line in lines] == expected + [expected[0]]


def test_string_labels_are_printed(tmp_path, capsys):
    net = lw.Network.from_spec("4-3", seed=0)
    lw.save(net, tmp_path / "m.safetensors", classes=["cat", "dog", "eel"])
    (tmp_path / "x.csv").write_text("1,2,3,4\n")
    code, out, _ = predict(tmp_path / "m.safetensors", tmp_path / "x.csv", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["class"] in ("cat", "dog", "eel")


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.png", "does not exist"),
        (lambda d: (d / "fake.png").write_text("not an image") and d / "fake.png", "not an image"),
        (lambda d: (d / "short.csv").write_text("1,2,3\n") and d / "short.csv", "line 1 has 3 values"),
        (
            lambda d: (d / "text.csv").write_text("1,2\n" + "x," * 63 + "x\n") and d / "text.csv",
            "line 1 has 2",
        ),
        (lambda d: (d / "nan.csv").write_text(",".join(["nan"] * 64)) and d / "nan.csv", "NaN"),
        (lambda d: np.savez(d / "bad.npz", X=np.zeros((3, 7))) or d / "bad.npz", "shape (3, 7)"),
        (lambda d: np.savez(d / "two.npz", a=np.zeros(64), b=np.zeros(64)) or d / "two.npz", "name the one"),
        (lambda d: np.save(d / "obj.npy", np.array([{}], dtype=object)) or d / "obj.npy", "safely"),
        (lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt", "unknown file type"),
    ],
)
def test_bad_inputs_are_one_line_errors_naming_the_input(digits_model, tmp_path, capsys, make, words):
    model_path, _, _ = digits_model
    bad = make(tmp_path)
    code, out, err = predict(model_path, bad, capsys=capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and str(bad) in err and words in err


def test_images_need_a_model_with_an_image_shape(tmp_path, capsys):
    lw.save(lw.Network.from_spec("10-3", seed=0), tmp_path / "m.safetensors")
    png = draw_digit(tmp_path / "d.png", 0)
    code, _, err = predict(tmp_path / "m.safetensors", png, capsys=capsys)
    assert code == 1 and "cannot read images" in err


def test_a_broken_model_file_is_one_line(tmp_path, capsys):
    (tmp_path / "m.safetensors").write_bytes(b"\x10" + b"\0" * 7 + b"{}")
    (tmp_path / "x.csv").write_text("1\n")
    code, _, err = predict(tmp_path / "m.safetensors", tmp_path / "x.csv", capsys=capsys)
    assert code == 1 and err.count("\n") == 1 and "not a valid layerwise model" in err
