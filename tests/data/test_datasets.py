"""Every loader's good and bad paths, on small files the tests write themselves."""

import gzip
import struct

import numpy as np
import pytest
from idx_files import idx_bytes, tiny_images, write_idx, write_mnist_folder

import layerwise as lw
from layerwise import data as datasets
from layerwise.data import load, load_csv, load_digits, load_idx, load_npz, read_idx
from layerwise.data.preprocessing import fit_preprocessing, stratified_split

# --- IDX -------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_idx_round_trip(tmp_path, compress):
    images, labels = tiny_images()
    ip = write_idx(tmp_path / "images", images, compress=compress)
    lp = write_idx(tmp_path / "labels", labels, compress=compress)
    X, y = load_idx(ip, lp)
    assert X.dtype == np.float32 and X.flags.c_contiguous and X.shape == (30, 16)
    assert np.array_equal(X, images.reshape(30, -1)) and np.array_equal(y, labels)


@pytest.mark.parametrize("code", [0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_idx_value_types(tmp_path, code):
    values = np.arange(-6, 6).reshape(3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a", values, code)), values)


def test_truncated_idx_names_the_file_and_the_bytes(tmp_path):
    images, labels = tiny_images()
    data = idx_bytes(images)
    (tmp_path / "images").write_bytes(data[:-5])
    with pytest.raises(
        lw.LayerwiseError, match=rf"images is truncated: it has {len(data) - 5} bytes .* needs {len(data)}"
    ):
        read_idx(tmp_path / "images")


def test_truncated_gzip_idx(tmp_path):
    images, _ = tiny_images(300)
    packed = gzip.compress(idx_bytes(images))
    (tmp_path / "images.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(
        lw.LayerwiseError,
        match=rf"images.gz is truncated or corrupt: this gzip file of {len(packed) // 2} bytes",
    ):
        read_idx(tmp_path / "images.gz")


def test_gzip_whose_stream_ends_early(tmp_path):
    images, _ = tiny_images(300)
    data = idx_bytes(images)
    packed = gzip.compress(data)
    # cut the deflate stream but keep a trailer that records the right length
    (tmp_path / "images.gz").write_bytes(packed[: len(packed) // 2] + packed[-8:])
    with pytest.raises(lw.LayerwiseError, match="images.gz (is truncated|cannot be read)"):
        read_idx(tmp_path / "images.gz")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01\x02\x08\x01" + b"\0" * 8, "not an IDX file"),
        (b"\x00\x00\x07\x01" + b"\0" * 8, "not an IDX file"),
        (b"", "not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00", "header ends after"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (idx_bytes(np.zeros((2, 2))) + b"xyz", "3 bytes more than its header"),
    ],
    ids=["magic", "type", "empty", "short-header", "no-dims", "extra"],
)
def test_bad_idx_files(tmp_path, content, message):
    (tmp_path / "f").write_bytes(content)
    with pytest.raises(lw.LayerwiseError, match=message):
        read_idx(tmp_path / "f")


def test_a_header_cannot_make_the_loader_allocate_what_the_file_lacks(tmp_path):
    header = b"\x00\x00\x08\x03" + struct.pack(">3I", 4_000_000_000, 1000, 1000)
    (tmp_path / "huge").write_bytes(header + b"\0" * 100)
    with pytest.raises(lw.LayerwiseError, match="truncated: it has 116 bytes"):
        read_idx(tmp_path / "huge")


def test_idx_pair_mismatches(tmp_path):
    images, labels = tiny_images()
    ip = write_idx(tmp_path / "images", images)
    with pytest.raises(lw.LayerwiseError, match="30 images but .* 29 labels"):
        load_idx(ip, write_idx(tmp_path / "l1", labels[:29]))
    with pytest.raises(lw.LayerwiseError, match="not labels"):
        load_idx(ip, write_idx(tmp_path / "l2", labels.reshape(10, 3)))
    with pytest.raises(lw.LayerwiseError, match="not images"):
        load_idx(write_idx(tmp_path / "flat", labels), write_idx(tmp_path / "l3", labels))
    with pytest.raises(lw.LayerwiseError, match="does not exist"):
        load_idx(tmp_path / "missing", ip)


# --- folders and names -----------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_load_a_folder_of_idx_files(tmp_path, compress):
    folder = write_mnist_folder(tmp_path / "mine", compress)
    data = load(str(folder))
    assert (len(data.y_train), len(data.y_test), data.n_features) == (30, 12, 16)
    assert data.image_shape == (4, 4) and data.pixel_max == 255 and data.classes == ["0", "1", "2"]


def test_named_dataset_search_order(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "env" / "fashion-mnist", n_train=9)
    write_mnist_folder(tmp_path / "dir" / "fashion-mnist", n_train=6)
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    assert len(load("fashion-mnist").y_train) == 9
    data = load("fashion-mnist", data_dir=tmp_path / "dir")
    assert len(data.y_train) == 6 and data.classes[0] == "T-shirt/top" and len(data.classes) == 10


def test_a_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    with pytest.raises(lw.LayerwiseError, match="'fashion-mnist' not found in .*make data"):
        load("fashion-mnist", data_dir=tmp_path)
    with pytest.raises(lw.LayerwiseError, match="does not exist"):
        load(str(tmp_path / "nothing.csv"))


FOUR_FILES = [
    "train-images-idx3-ubyte[.gz]",
    "train-labels-idx1-ubyte[.gz]",
    "t10k-images-idx3-ubyte[.gz]",
    "t10k-labels-idx1-ubyte[.gz]",
]


@pytest.mark.parametrize(
    "typed, name",
    [("fashion_mnist", "fashion-mnist"), ("Fashion-MNIST", "fashion-mnist"),
     ("FASHION MNIST", "fashion-mnist"), ("FashionMNIST", "fashion-mnist"), ("MNIST", "mnist"),
     ("Mnist", "mnist")],
)  # fmt: skip
def test_known_names_ignore_case_and_separators(tmp_path, monkeypatch, typed, name):
    write_mnist_folder(tmp_path / "env" / name)
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    data = load(typed)
    assert data.name == name and len(data.y_train) == 30
    assert data.classes == datasets.CLASSES[name]


@pytest.mark.parametrize("typed", ["digits", "Digits", "DIGITS", " digits"])
def test_the_digits_by_any_case(typed):
    data = load(typed)
    assert data.name == "digits" and len(data.y_train) == 721


def test_an_existing_path_wins_over_a_name(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "MNIST", n_train=9)
    monkeypatch.chdir(tmp_path)
    data = load("MNIST")
    assert len(data.y_train) == 9 and data.name == "MNIST"


@pytest.mark.parametrize(
    "typed, suggestion",
    [("fashon-mnist", "fashion-mnist"), ("fashion", "fashion-mnist"), ("Fashion_MNSIT", "fashion-mnist"),
     ("mnsit", "mnist"), ("digts", "digits")],
)  # fmt: skip
def test_an_unknown_name_close_to_a_known_one_gets_a_suggestion(tmp_path, monkeypatch, typed, suggestion):
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(lw.LayerwiseError) as e:
        load(typed, data_dir=tmp_path)
    message = str(e.value)
    assert message.startswith(f"dataset {typed!r} not found") and message.endswith(
        f"; did you mean {suggestion!r}?"
    ), message
    assert str(tmp_path / typed) in message


def test_an_unknown_name_far_from_the_known_ones_lists_them(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(lw.LayerwiseError) as e:
        load("cifar10", data_dir=tmp_path)
    assert "did you mean" not in str(e.value)
    assert "the known names are digits, mnist and fashion-mnist" in str(e.value)


@pytest.mark.parametrize("typed, name", [("fashion-mnist", "fashion-mnist"), ("MNIST", "mnist")])
def test_a_missing_known_dataset_names_the_four_files_and_the_folders(tmp_path, monkeypatch, typed, name):
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "system")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(lw.LayerwiseError) as e:
        load(typed, data_dir=tmp_path / "mine")
    message = str(e.value)
    assert "\n" not in message
    searched = ", ".join(str(tmp_path / place / name) for place in ("mine", "env", "system"))
    assert message.startswith(f"dataset {name!r} not found in {searched}: put its four files "), message
    assert all(file in message for file in FOUR_FILES), message
    assert f"DIR/{name}/ and give --data-dir DIR" in message
    assert f"$LAYERWISE_DATA/{name}/" in message and f"{tmp_path / 'system' / name}/" in message
    if name == "fashion-mnist":
        assert "`make data` (the Debian package dataset-fashion-mnist)" in message


def test_a_known_dataset_folder_missing_a_file_says_which(tmp_path, monkeypatch):
    folder = write_mnist_folder(tmp_path / "mine" / "mnist")
    next(folder.glob("t10k-labels*")).unlink()
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "nowhere")
    with pytest.raises(lw.LayerwiseError, match=r"mnist lacks t10k-labels-idx1-ubyte\[\.gz\]\):"):
        load("mnist", data_dir=tmp_path / "mine")


def test_a_folder_missing_a_file(tmp_path):
    folder = write_mnist_folder(tmp_path / "mine")
    next(folder.glob("t10k-labels*")).unlink()
    with pytest.raises(lw.LayerwiseError, match="has no test labels file"):
        load(str(folder))


def test_test_labels_outside_the_training_classes(tmp_path):
    folder = write_mnist_folder(tmp_path / "mine")
    write_idx(next(folder.glob("t10k-labels*")), np.full(12, 7))
    with pytest.raises(lw.LayerwiseError, match="the test set has label 7, outside the classes 0..2"):
        load(str(folder))


# --- CSV -------------------------------------------------------------------------------


def test_csv_with_header_and_named_label(tmp_path):
    (tmp_path / "d.csv").write_text("a,label,b\n1,2,3\n4,0,6\n7,1,9\n")
    X, y, classes = load_csv(tmp_path / "d.csv", label_column="label")
    assert X.dtype == np.float32 and X.tolist() == [[1, 3], [4, 6], [7, 9]]
    assert y.tolist() == [2, 0, 1] and classes == ["0", "1", "2"]


def test_csv_without_header_string_labels_and_last_column(tmp_path):
    (tmp_path / "d.csv").write_text('1.5,2,cat\n3,4,"dog"\n5,6e0, cat\n')
    X, y, classes = load_csv(tmp_path / "d.csv", label_column=-1)
    assert X.tolist() == [[1.5, 2], [3, 4], [5, 6]] and y.tolist() == [0, 1, 0] and classes == ["cat", "dog"]
    data = load(str(tmp_path / "d.csv"), label_column=-1)
    assert data.X_test is None and data.evaluation_set()[2] == "all 3 examples of d.csv"


def test_gzipped_csv(tmp_path):
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"label,x\n1,0.5\n0,0.25\n"))
    data = load(str(tmp_path / "d.csv.gz"))
    assert data.y_train.tolist() == [1, 0] and data.X_train.ravel().tolist() == [0.5, 0.25]


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("label,x\n1,2\n0,nan\n", {}, "NaN or infinite value in line 3, column 2"),
        ("1,2,3\n0,1\n", {}, "d.csv: .*column"),
        ("1,2\n0,abc\n", {}, "d.csv: .*abc"),
        ("", {}, "is empty"),
        ("label,x\n", {}, "no rows"),
        ("1,2\n", {"label_column": 5}, "no column 5"),
        ("a,b\n1,2\n", {"label_column": "label"}, "no column named 'label'"),
        ("-1,2\n0,3\n", {}, "label -1"),
        ("5\n3\n", {}, "only one column"),
    ],
    ids=["nan", "ragged", "text", "empty", "header-only", "column", "name", "negative", "one-column"],
)
def test_bad_csv(tmp_path, text, kwargs, message):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(lw.LayerwiseError, match=message):
        load_csv(tmp_path / "d.csv", **kwargs)


# --- NPZ -------------------------------------------------------------------------------


def test_npz_with_train_test_and_classes(tmp_path):
    images, labels = tiny_images(10)
    np.savez(
        tmp_path / "d.npz",
        x_train=images,
        y_train=labels,
        x_test=images[:4],
        y_test=labels[:4],
        classes=np.array(["a", "b", "c"]),
    )
    data = load(str(tmp_path / "d.npz"))
    assert data.X_train.shape == (10, 16) and data.X_train.dtype == np.float32 and data.image_shape == (4, 4)
    assert len(data.y_test) == 4 and data.classes == ["a", "b", "c"]


def test_npz_with_X_and_y(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.eye(3), y=np.array([0.0, 1.0, 1.0]))
    arrays = load_npz(tmp_path / "d.npz")
    assert arrays["X_train"].shape == (3, 3) and arrays["y_train"].tolist() == [0, 1, 1]


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X": np.eye(3), "y": np.arange(2)}, "3 examples but y_train has 2"),
        ({"X": np.array([[np.nan, 1.0]]), "y": np.array([0])}, "NaN"),
        ({"X": np.eye(2), "y": np.array([0.5, 1.0])}, "integer labels"),
        ({"X": np.eye(2), "y": np.array([-1, 0])}, "label -1"),
        ({"X": np.arange(3.0), "y": np.arange(3)}, "2 or more dimensions"),
        ({"data": np.eye(2)}, "must hold arrays X_train"),
        ({"X_train": np.eye(2), "y_train": np.arange(2), "X_test": np.eye(2)}, "only one of X_test"),
        (
            {"X_train": np.eye(2), "y_train": np.arange(2), "X_test": np.ones((1, 3)), "y_test": [0]},
            "3 features",
        ),
    ],
    ids=["count", "nan", "float-labels", "negative", "1-d", "keys", "half-pair", "features"],
)
def test_bad_npz(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(lw.LayerwiseError, match=message):
        load(str(tmp_path / "d.npz"))


def test_not_an_npz(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(lw.LayerwiseError, match="not a readable NPZ file"):
        load_npz(tmp_path / "d.npz")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(lw.LayerwiseError, match="not a CSV file, an NPZ file or a folder"):
        load(str(tmp_path / "d.txt"))


# --- digits and preprocessing ----------------------------------------------------------


def test_digits_have_the_tutorials_split(digits_split):
    data = load_digits()
    X_train, X_valid, X_test, y_train, y_valid, y_test = digits_split
    assert (len(data.y_train), len(data.y_valid), len(data.y_test)) == (721, 482, 594)
    assert np.array_equal(data.X_train, X_train) and np.array_equal(data.y_test, y_test)
    assert data.X_train.dtype == np.float32 and data.pixel_max == 16


def test_preprocessing_is_fitted_on_training_data_only():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (50, 6)).astype(np.float32)
    X[:, 2] = 7  # a constant feature
    unit = fit_preprocessing(X, "unit", pixel_max=255)
    assert unit.transform(X.copy()).max() <= 1 and unit.scale == pytest.approx(1 / 255)
    standard = fit_preprocessing(X, "standard", pixel_max=255)
    Z = standard.transform(X.copy())
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-5) and np.allclose(
        Z[:, [0, 1, 3]].std(axis=0), 1, atol=1e-4
    )
    assert standard.std[2] == 1
    assert fit_preprocessing(X * 2, "unit").scale == pytest.approx(1 / X.max() / 2)
    with pytest.raises(lw.LayerwiseError, match="unknown scaling"):
        fit_preprocessing(X, "minmax")


def test_stratified_split_is_seeded_and_keeps_class_shares():
    y = np.repeat([0, 1, 2], [100, 50, 10])
    train, valid = stratified_split(y, 0.2, seed=3)
    assert np.bincount(y[valid]).tolist() == [20, 10, 2]
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(160))
    assert np.array_equal(valid, stratified_split(y, 0.2, seed=3)[1])
    assert not np.array_equal(valid, stratified_split(y, 0.2, seed=4)[1])
    with pytest.raises(lw.LayerwiseError, match="too few"):
        stratified_split(np.array([0, 1]), 0.1)
    with pytest.raises(lw.LayerwiseError, match="between 0 and 1"):
        stratified_split(y, 1.5)


def test_with_validation_moves_examples_once(tmp_path):
    data = load(str(write_mnist_folder(tmp_path / "m")))
    split = data.with_validation(0.2, seed=0)
    assert (len(split.y_train), len(split.y_valid)) == (24, 6) and split.X_train.flags.c_contiguous
    assert split.with_validation(0.5) is split
