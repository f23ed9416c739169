"""The command line on a corpus of bad inputs: every case exits non-zero with exactly one
line on stderr, no traceback and no warning, and leaves no file behind."""

import warnings

import numpy as np
import pytest
from idx_files import idx_bytes, write_mnist_folder

from layerwise.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small digits model (64 inputs, 8x8 images, classes 0..9)."""
    out = tmp_path_factory.mktemp("model") / "run"
    assert (
        main(["train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(out)])
        == 0
    )
    return out


def csv(name, text):
    def make(d):
        (d / name).write_text(text)

    return make


def npz(name, **arrays):
    def make(d):
        np.savez(d / name, **arrays)

    return make


def idx_folder(test_shape):
    def make(d):
        folder = write_mnist_folder(d / "images")
        (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros(test_shape, np.uint8)))

    return make


def a_file(name):
    def make(d):
        (d / name).write_text("not a folder")

    return make


def folders(*names):
    def make(d):
        for name in names:
            (d / name).mkdir(parents=True)

    return make


def nothing(d):
    pass


rows = lambda n, label=0: "".join(f"{label},{i},{i * 2}\n" for i in range(n))  # noqa: E731
TRAIN = ["train", "--hidden", "4", "--epochs", "1", "--quiet"]
CSV_TRAIN = [*TRAIN, "--data", "{d}/t.csv"]

# (id, what to create in the folder {d}, command line, words the error must contain)
CASES = [
    ("missing-data", nothing, [*TRAIN, "--data", "{d}/none.csv", "--out", "{d}/run"], "does not exist"),
    ("directory-as-data", folders("x.csv"), [*TRAIN, "--data", "{d}/x.csv", "--out", "{d}/run"],
     "no train images"),
    ("empty-csv", csv("t.csv", ""), [*CSV_TRAIN, "--out", "{d}/run"], "is empty"),
    ("nan-in-csv", csv("t.csv", "0,1,2\n1,nan,3\n" + rows(9) + rows(9, 1)), [*CSV_TRAIN, "--out", "{d}/run"],
     "NaN"),
    ("text-in-csv", csv("t.csv", "0,1,2\n1,abc,3\n"), [*CSV_TRAIN, "--out", "{d}/run"], "abc"),
    ("negative-label", csv("t.csv", rows(5) + "-1,2,3\n"), [*CSV_TRAIN, "--out", "{d}/run"], "label -1"),
    ("huge-label", csv("t.csv", rows(5) + "99999999999,2,3\n"), [*CSV_TRAIN, "--out", "{d}/run"],
     "label 99999999999"),
    ("one-class", csv("t.csv", rows(20)), [*CSV_TRAIN, "--out", "{d}/run"], "classifier needs two"),
    ("npz-label-out-of-range", npz("t.npz", X=np.zeros((4, 2)), y=np.array([0, 1, 2, 5000])),
     [*TRAIN, "--data", "{d}/t.npz", "--out", "{d}/run"], "label 5000"),
    ("validation-class-absent", npz("t.npz", X_train=np.eye(4), y_train=np.array([0, 0, 2, 2]),
                                    X_valid=np.eye(4)[:2], y_valid=np.array([1, 2])),
     [*TRAIN, "--data", "{d}/t.npz", "--out", "{d}/run"], "which no training example has"),
    ("not-an-npz", csv("t.npz", "hello"), [*TRAIN, "--data", "{d}/t.npz", "--out", "{d}/run"],
     "not a readable NPZ"),
    ("wrong-image-size", idx_folder((12, 5, 5)), [*TRAIN, "--data", "{d}/images", "--out", "{d}/run"],
     "25 features but the training set 16"),
    ("zero-hidden", nothing, [*TRAIN, "--data", "digits", "--hidden", "8,0", "--out", "{d}/run"], "positive"),
    ("negative-hidden", nothing, [*TRAIN, "--data", "digits", "--hidden=-3", "--out", "{d}/run"], "hidden"),
    ("zero-epochs", nothing, ["train", "--data", "digits", "--epochs", "0", "--out", "{d}/run"], "--epochs"),
    ("negative-batch", nothing, [*TRAIN, "--data", "digits", "--batch-size=-5", "--out", "{d}/run"],
     "--batch-size"),
    ("zero-checkpoint-every", nothing, [*TRAIN, "--data", "digits", "--checkpoint-every", "0", "--out",
     "{d}/r"],
     "--checkpoint-every"),
    ("negative-patience", nothing, [*TRAIN, "--data", "digits", "--patience=-1", "--out", "{d}/run"],
     "--patience"),
    ("out-parent-is-a-file", a_file("f"), [*TRAIN, "--data", "digits", "--out", "{d}/f/run"],
     "is a file, not a folder"),
    ("out-is-a-file", a_file("f"), [*TRAIN, "--data", "digits", "--out", "{d}/f"], "already exists"),
    ("resume-nothing", folders("run"), ["train", "--resume", "{d}/run"], "no checkpoint"),
    ("evaluate-missing", nothing, ["evaluate", "{d}/none"], "no model file"),
    ("evaluate-empty-model", csv("m.safetensors", ""), ["evaluate", "{d}/m.safetensors"], "only 0 bytes"),
    ("evaluate-more-features", csv("t.csv", rows(5) + rows(5, 1)),
     ["evaluate", "{model}", "--data", "{d}/t.csv"], "2 features but the model expects 64"),
    ("predict-missing-input", nothing, ["predict", "{model}", "{d}/none.png"], "does not exist"),
    ("predict-directory-input", folders("in.csv"), ["predict", "{model}", "{d}/in.csv"], "not a file"),
    ("predict-empty-csv", csv("in.csv", ""), ["predict", "{model}", "{d}/in.csv"], "no rows"),
    ("predict-more-features", csv("in.csv", ",".join(["1"] * 65)), ["predict", "{model}", "{d}/in.csv"],
     "65 values; the model expects 64"),
    ("predict-wrong-image-size", npz("in.npz", X=np.zeros((2, 5, 5))), ["predict", "{model}", "{d}/in.npz"],
     "shape (2, 5, 5)"),
    ("predict-zero-top", nothing, ["predict", "{model}", "{d}/x.png", "--top", "0"], "--top"),
    ("export-parent-is-a-file", a_file("f"), ["export", "{model}", "--onnx", "{d}/f/m.onnx"], "f/m.onnx"),
    ("tune-missing-space", nothing, ["tune", "--space", "{d}/none.toml", "--out", "{d}/run"],
     "does not exist"),
    ("tune-empty-space", csv("s.toml", ""), ["tune", "--space", "{d}/s.toml", "--out", "{d}/run"], "empty"),
    ("tune-bad-toml", csv("s.toml", "[grid\n"), ["tune", "--space", "{d}/s.toml", "--out", "{d}/run"],
     "TOML"),
    ("tune-zero-trials", nothing, ["tune", "--random", "lr=uniform(0.1,1)", "--trials", "0", "--out",
     "{d}/run"],
     "trials"),
    ("tune-one-fold", nothing, ["tune", "--grid", "l2=0.1,1", "--cv", "1", "--out", "{d}/run"], "--cv"),
    ("tune-out-parent-is-a-file", a_file("f"), ["tune", "--grid", "l2=0.1", "--epochs", "1", "--out",
     "{d}/f/r"],
     "f/r"),
    ("reproduce-zero-epochs", nothing, ["reproduce", "--epochs", "0", "--out", "{d}/run"], "--epochs"),
    ("reproduce-overflowing-lambdas", nothing, ["reproduce", "--lambdas", "logspace(0,400,2)", "--out",
     "{d}/run"], "must hold 1 to 10000 finite numbers"),
    ("data-name-typo", nothing, [*TRAIN, "--data", "fashon-mnist", "--out", "{d}/run"],
     "did you mean 'fashion-mnist'?"),
    ("reproduce-out-parent-is-a-file", a_file("f"), ["reproduce", "--epochs", "1", "--out", "{d}/f/run"],
     "is a file, not a folder"),
]  # fmt: skip


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("make, argv, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_on_stderr_and_leaves_nothing(tmp_path, capsys, model_dir, make, argv, words):
    make(tmp_path)
    before = tree(tmp_path)
    argv = [a.format(d=tmp_path, model=model_dir) for a in argv]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(argv)
    out, err = capsys.readouterr()
    assert status not in (0, None)
    assert err.count("\n") == 1 and err.startswith(f"layerwise {argv[0]}: error: "), err
    assert "Traceback" not in err and words in err, err
    assert not [str(w.message) for w in caught]
    assert tree(tmp_path) == before
