"""MNIST-format IDX files made up for the tests: tiny images in three classes."""

import gzip
import struct

import numpy as np

from layerwise import data as datasets


def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    dtype = datasets.idx.TYPES[code]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx(path, array, code=0x08, compress=False):
    data = idx_bytes(array, code)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def tiny_images(n=30, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    images = (rng.integers(0, 60, (n, 4, 4)) + 60 * y[:, None, None]).astype(np.uint8)
    return images, y


def write_mnist_folder(folder, compress=False, n_train=30, n_test=12):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = tiny_images(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress=compress)
    return folder
