"""Data: datasets, file readers (IDX, CSV, NPZ, images), preprocessing and splits.
Imports layerwise.nn (and layerwise.errors); never io, experiments, reports or cli.

Datasets: the digits with the tutorial's split, MNIST-format IDX files (MNIST,
Fashion-MNIST, KMNIST, EMNIST), CSV files and NPZ archives, all as a ``Dataset`` of
contiguous float32 features and integer labels 0..K-1.

``load(name_or_path, data_dir=None)`` is the one entry point the command line uses: a
name ("digits", "mnist", "fashion-mnist", in any case and with "-", "_" or a space between
its words) is looked up as a folder of the four IDX files in ``data_dir``, then in
$LAYERWISE_DATA, then in /usr/share/datasets/; a path may be a CSV file, an NPZ file or a
folder with the four IDX files.
"""

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError
from .digits import tutorial_split
from .files import load_csv, load_npz
from .idx import image_shape, load_idx, read_idx, read_idx_type
from .preprocessing import stratified_split

__all__ = ["Dataset", "load", "load_csv", "load_digits", "load_idx", "load_npz", "read_idx", "search_path"]

SYSTEM_DATA = Path("/usr/share/datasets")
CLASSES = {
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],  # fmt: skip
    "mnist": [str(i) for i in range(10)],
}
KNOWN = ("digits", "mnist", "fashion-mnist")  # the names load() knows; the last two are IDX folders
HOW_TO_GET = {
    "fashion-mnist": "`make data` (the Debian package dataset-fashion-mnist) installs them in "
    "/usr/share/datasets/fashion-mnist/",
    "mnist": "MNIST's are at http://yann.lecun.com/exdb/mnist/",
}
# The four files of an MNIST-format dataset, as the error messages name them.
IDX_FILE_NAMES = {
    "train images": "train-images-idx3-ubyte[.gz]",
    "train labels": "train-labels-idx1-ubyte[.gz]",
    "test images": "t10k-images-idx3-ubyte[.gz]",
    "test labels": "t10k-labels-idx1-ubyte[.gz]",
}
IDX_FILES = {
    "train images": ("train-images",),
    "train labels": ("train-labels",),
    "test images": ("t10k-images", "test-images"),
    "test labels": ("t10k-labels", "test-labels"),
}


@dataclass
class Dataset:
    """Training examples, and test and validation examples where the source has them.

    X arrays are C-contiguous float32 of shape (N, n_features); y arrays hold integer
    labels 0..K-1 with K = len(classes). ``image_shape`` is (rows, columns) for images and
    ``pixel_max`` the raw value of full intensity (255 for MNIST-format files, 16 for the
    digits), None when unknown.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    X_valid: np.ndarray | None = None
    y_valid: np.ndarray | None = None
    classes: list | None = None
    image_shape: tuple | None = None
    pixel_max: float | None = None

    def __post_init__(self):
        if self.classes is None:
            self.classes = [str(i) for i in range(int(self.y_train.max()) + 1)]
        n_features = self.X_train.shape[1]
        for part, y in self._labels().items():
            X = getattr(self, f"X_{part}")
            if X.shape[1] != n_features:
                raise LayerwiseError(
                    f"{self.name}: the {part} set has {X.shape[1]} features but the training set {n_features}"
                )
            if y.max() >= self.n_classes:
                raise LayerwiseError(
                    f"{self.name}: the {part} set has label {y.max()}, "
                    f"outside the classes 0..{self.n_classes - 1}"
                )

    def _labels(self):
        parts = {"train": self.y_train, "test": self.y_test, "valid": self.y_valid}
        return {part: y for part, y in parts.items() if y is not None}

    @property
    def n_features(self):
        return self.X_train.shape[1]

    @property
    def n_classes(self):
        return len(self.classes)

    def check_trainable(self):
        """A classifier can learn from this dataset: its training set has two classes or
        more, and its validation set no class the training set lacks."""
        present = np.unique(self.y_train)
        if len(present) < 2:
            name = self.classes[present[0]]
            raise LayerwiseError(
                f"{self.name}: every training example has the class {name!r}; a classifier needs two or more"
            )
        if self.y_valid is not None:
            absent = np.setdiff1d(np.unique(self.y_valid), present)
            if len(absent):
                raise LayerwiseError(
                    f"{self.name}: the validation set has the class {self.classes[absent[0]]!r}, "
                    "which no training example has"
                )
        return self

    def with_validation(self, fraction, seed=None):
        """This dataset with a stratified, seeded ``fraction`` of the training examples
        moved to the validation set (unchanged if it has a validation set already)."""
        if self.X_valid is not None:
            return self
        train, valid = stratified_split(self.y_train, fraction, seed)
        X, y = self.X_train, self.y_train
        return Dataset(
            self.name, X[train], y[train], self.X_test, self.y_test, X[valid], y[valid],
            self.classes, self.image_shape, self.pixel_max,
        )  # fmt: skip

    def evaluation_set(self):
        """(X, y, description): the test set, or every example when there is none."""
        if self.X_test is not None:
            return self.X_test, self.y_test, f"the {len(self.y_test)} test examples of {self.name}"
        X = np.concatenate([a for a in (self.X_train, self.X_valid) if a is not None])
        y = np.concatenate([a for a in (self.y_train, self.y_valid) if a is not None])
        return X, y, f"all {len(y)} examples of {self.name}"


def load_digits():
    """scikit-learn's 8x8 digits with the tutorial's split: 721 training, 482 validation
    and 594 test examples, pixel values 0..16."""
    parts = tutorial_split()
    f32 = lambda name: np.ascontiguousarray(parts[name], dtype=np.float32)  # noqa: E731
    return Dataset(
        "digits", f32("X_train"), parts["y_train"], f32("X_test"), parts["y_test"], f32("X_valid"),
        parts["y_valid"], [str(i) for i in range(10)], (8, 8), 16.0,
    )  # fmt: skip


def search_path(data_dir=None):
    """Where named datasets are looked for, in order."""
    places = [data_dir, os.environ.get("LAYERWISE_DATA"), SYSTEM_DATA]
    return [Path(p) for p in places if p]


def known_name(name):
    """The known dataset name (digits, mnist, fashion-mnist) that ``name`` spells, case,
    "-", "_" and spaces aside: "Fashion_MNIST" and "FASHION MNIST" -> "fashion-mnist";
    None for any other name."""
    key = _name_key(name)
    return next((known for known in KNOWN if _name_key(known) == key), None)


def _name_key(name):
    return re.sub(r"[-_\s]+", "", str(name).lower())


def load(name, data_dir=None, label_column=0, drop_columns=()):
    """A Dataset from a name ("digits", "mnist", "fashion-mnist", in any case and with "-",
    "_" or a space between the words, or any folder name under the search path) or from the
    path of a CSV file, an NPZ file or a folder of IDX files. An existing path wins over a
    name. ``label_column`` and ``drop_columns`` (indices from 0 or header names) apply to
    CSV files only; columns to drop are refused for other data."""
    name = str(name)
    path = Path(name).expanduser()
    if drop_columns and not (path.is_file() and _is_csv(path)):
        raise LayerwiseError(f"drop_columns applies to CSV files only, not to {name}")
    if name == "digits":
        return load_digits()
    if path.exists():
        return _load_path(path, label_column, drop_columns)
    known = known_name(name)
    if known == "digits":
        return load_digits()
    if known is not None:
        return _load_named(known, dict.fromkeys([known, name]), data_dir)
    if os.sep in name or path.suffix:
        raise LayerwiseError(f"{name} does not exist")
    for place in search_path(data_dir):
        if _idx_files(place / name, required=False):
            return load_idx_folder(place / name, name=name)
    searched = ", ".join(str(p / name) for p in search_path(data_dir))
    keys = {_name_key(known): known for known in KNOWN}
    close = difflib.get_close_matches(_name_key(name), keys, n=1)
    hint = (
        f"did you mean {keys[close[0]]!r}?"
        if close
        else "the known names are digits, mnist and fashion-mnist, and a path may be a CSV or NPZ "
        "file or a folder of IDX files"
    )
    raise LayerwiseError(
        f"dataset {name!r} not found: no such file or folder, and no folder of the four IDX files "
        f"in {searched}; {hint}"
    )


def _load_named(name, folders, data_dir):
    """The MNIST-format dataset ``name`` from the first folder <place>/<folder> of the search
    path that holds its four files, or an error saying which files to put where."""
    for place in search_path(data_dir):
        for folder in folders:
            if _idx_files(place / folder, required=False):
                return load_idx_folder(place / folder, name=name)
    searched = ", ".join(str(p / name) for p in search_path(data_dir))
    lacking = []
    for place in search_path(data_dir):
        missing = _missing_idx_files(place / name)
        if missing:
            lacking.append(f"{place / name} lacks {' and '.join(missing)}")
    *first, last = IDX_FILE_NAMES.values()
    files = f"{', '.join(first)} and {last}"
    how = HOW_TO_GET.get(name)
    raise LayerwiseError(
        f"dataset {name!r} not found in {searched}"
        + (f" ({'; '.join(lacking)})" if lacking else "")
        + f": put its four files {files} in DIR/{name}/ and give --data-dir DIR, or in "
        f"$LAYERWISE_DATA/{name}/, or in {SYSTEM_DATA / name}/" + (f"; {how}" if how else "")
    )


def _missing_idx_files(folder):
    """The IDX files a folder lacks (as IDX_FILE_NAMES names them); [] when it is no folder
    or has all four."""
    if not folder.is_dir():
        return []
    return [
        IDX_FILE_NAMES[role]
        for role, prefixes in IDX_FILES.items()
        if not any(p.is_file() for prefix in prefixes for p in folder.glob(f"{prefix}*"))
    ]


def _is_csv(path):
    return "".join(path.suffixes[-2:]).lower().endswith((".csv", ".csv.gz"))


def _load_path(path, label_column, drop_columns=()):
    if path.is_dir():
        return load_idx_folder(path)
    if _is_csv(path):
        X, y, classes = load_csv(path, label_column=label_column, drop_columns=drop_columns)
        return Dataset(path.name, X, y, classes=classes)
    if "".join(path.suffixes[-2:]).lower().endswith(".npz"):
        arrays = load_npz(path)
        shape = arrays.pop("shape_train")
        images = shape if len(shape) == 2 else None
        parts = {k: v for k, v in arrays.items() if not k.startswith("shape_")}
        return Dataset(path.name, **parts, image_shape=images)
    raise LayerwiseError(f"{path} is not a CSV file, an NPZ file or a folder of IDX files")


def load_idx_folder(folder, name=None):
    """The four MNIST-format files of a folder (train-images..., t10k-labels... raw or .gz)."""
    folder = Path(folder)
    files = _idx_files(folder, required=True)
    X_train, y_train = load_idx(files["train images"], files["train labels"])
    X_test, y_test = load_idx(files["test images"], files["test labels"])
    name = name or folder.name
    classes = CLASSES.get(name)
    if classes is not None and max(y_train.max(), y_test.max()) >= len(classes):
        classes = None
    images = files["train images"]
    pixel_max = 255.0 if read_idx_type(images) == np.uint8 else None
    return Dataset(
        name, X_train, y_train, X_test, y_test,
        classes=classes, image_shape=image_shape(images), pixel_max=pixel_max,
    )  # fmt: skip


def _idx_files(folder, required):
    if not folder.is_dir():
        return None
    found = {}
    for role, prefixes in IDX_FILES.items():
        matches = sorted(p for prefix in prefixes for p in folder.glob(f"{prefix}*") if p.is_file())
        if not matches:
            if not required:
                return None
            raise LayerwiseError(f"{folder} has no {role} file ({' or '.join(p + '*' for p in prefixes)})")
        found[role] = matches[0]
    return found
