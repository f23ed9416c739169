"""The loaders under fuzzing, a valid file for each, and the ways to damage one.

Shared by the hypothesis properties (tests/test_fuzz_loaders.py) and the coverage-guided
atheris harness (tests/fuzz/fuzz_loaders.py). ``load(kind, path)`` runs one loader on a
file: it must return, or raise LayerwiseError; anything else is a bug.
"""

import gzip
import io
import struct
import zipfile

import numpy as np

import layerwise as lw
from layerwise.data import load_csv, load_idx, load_npz, read_idx
from layerwise.data.arrays import read_npy
from layerwise.experiments.search import Space, read_trials
from layerwise.io.checkpoint import Checkpointer, load_checkpoint
from layerwise.nn.config import TrainConfig
from layerwise.nn.model import Model
from layerwise.nn.training import seed_generators

# Absurd sizes a damaged header may claim: 10^12 images, the largest 32- and 64-bit counts.
ABSURD = [0, 1, 10**12, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1]


def _idx(array, code=0x08):
    array = np.asarray(array)
    dtype = lw.data.idx.TYPES[code]
    return (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.astype(dtype).tobytes()
    )


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npz_of(members, compress=True):
    """An NPZ archive of raw NPY member bytes, {name: bytes}."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return buffer.getvalue()


def _images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (6, 3, 3)).astype(np.uint8)


def _csv():
    rows = ["a,b,c,label", "1,2,3,cat", "4,5.5,6,dog", "7,8,-9e3,cat", "0.5,1,2,emu"]
    return ("\n".join(rows) + "\n").encode()


def _npz_members():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4)).astype(np.float32)
    return {"X_train": _npy(X), "y_train": _npy(np.arange(6) % 3), "classes": _npy(np.array(["a", "b", "c"]))}


def _model_and_checkpoint(folder):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 4)), np.arange(12) % 3
    net = lw.Network.from_spec("4-5-3", activation="leaky_relu", dropout=0.2, seed=0)
    optimizer, early = lw.Adam(lr=0.01), lw.EarlyStopping(patience=5)
    generator = seed_generators(net, 0)
    prep = {"scale": 0.5, "mean": np.zeros(4), "std": np.ones(4)}
    model = Model(net, classes=["x", "y", "z"], preprocessing=prep, metadata={"note": "fuzz"})
    saver = Checkpointer(folder / "seed-checkpoint", 1, model, optimizer, generator, early)
    lw.fit(net, X, y, optimizer=optimizer, epochs=2, batch_size=5, seed=generator,
           validation_data=(X, y), callbacks=[early, saver])  # fmt: skip
    lw.save(model, folder / "seed-model")
    return (folder / "seed-model").read_bytes(), (folder / "seed-checkpoint").read_bytes()


TOML = b"""[grid]
l2 = "logspace(-2,2,3)"
hidden = ["8x4", "16"]
[random]
lr = "loguniform(1e-4,1e-1)"
batch_size = "randint(8,64)"
trials = 3
[settings]
epochs = 2
hidden = "8x4"
dropout = 0.1
"""

TRIALS = (
    b'{"trial": 0, "status": "ok", "val_loss": 0.5, "val_accuracy": 0.9}\n{"trial": 1, "status": "failed"}\n'
)


def seeds(folder):
    """{kind: the bytes of a valid file of that kind}."""
    model, checkpoint = _model_and_checkpoint(folder)
    idx = _idx(_images())
    return {
        "idx": idx,
        "idx.gz": gzip.compress(idx, mtime=0),
        "csv": _csv(),
        "csv.gz": gzip.compress(_csv(), mtime=0),
        "npz": npz_of(_npz_members()),
        "npy": _npy(np.arange(12, dtype=np.float64).reshape(3, 4)),
        "model": model,
        "checkpoint": checkpoint,
        "toml": TOML,
        "jsonl": TRIALS,
    }


def load(kind, path):
    """Runs the loader of ``kind`` on ``path``."""
    if kind in ("idx", "idx.gz"):
        read_idx(path)
        load_idx(path, path)
    elif kind in ("csv", "csv.gz"):
        load_csv(path, label_column=-1)
    elif kind == "npz":
        load_npz(path)
    elif kind == "npy":
        read_npy(path)
    elif kind == "model":
        lw.load(path)
    elif kind == "checkpoint":
        load_checkpoint(path)
    elif kind == "toml":
        space, fixed = Space.from_toml(path)
        space.trials_settings(0)
        TrainConfig.from_dict(fixed)  # as `layerwise tune` reads [settings]
    elif kind == "jsonl":
        read_trials(path)
    else:
        raise KeyError(kind)


KINDS = ["idx", "idx.gz", "csv", "csv.gz", "npz", "npy", "model", "checkpoint", "toml", "jsonl"]
CONTAINERS = ("idx.gz", "csv.gz", "npz")


def decode(data):
    """(kind, file content) of a fuzzer's input: its first byte picks the kind of file and
    whether the rest goes into a valid container; None for an empty input."""
    if not data:
        return None
    kind = KINDS[data[0] % len(KINDS)]
    content = data[1:]
    if data[0] // len(KINDS) % 2 and kind in CONTAINERS:
        content = wrap(kind, content)
    return kind, content


def encode(kind, content, inside=False):
    """The fuzzer's input for a file (``inside``: content to put into the kind's container)."""
    return bytes([KINDS.index(kind) + (len(KINDS) if inside else 0)]) + content


def suffix(kind):
    return {"idx": "-idx3-ubyte", "idx.gz": "-idx3-ubyte.gz", "csv": ".csv", "csv.gz": ".csv.gz",
            "npz": ".npz", "npy": ".npy", "model": ".safetensors", "checkpoint": ".safetensors",
            "toml": ".toml", "jsonl": ".jsonl"}[kind]  # fmt: skip


def wrap(kind, inner):
    """Damaged content put back in a valid container: gzip or zip with a correct checksum,
    so that the loader meets the damage inside (header sizes, not a bad CRC)."""
    if kind in ("idx.gz", "csv.gz"):
        return gzip.compress(inner, mtime=0)
    if kind == "npz":
        return npz_of({"X_train": inner, "y_train": _npz_members()["y_train"]})
    return inner


def inner(kind, data):
    """The content inside a container (the inverse of ``wrap`` for the seeds)."""
    if kind in ("idx.gz", "csv.gz"):
        return gzip.decompress(data)
    if kind == "npz":
        return _npz_members()["X_train"]
    return data
