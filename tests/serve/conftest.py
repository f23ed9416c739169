"""Models and runs for the web app's tests, made in seconds: a digits MLP with its run
directory (report, figures, checkpoint), a small convolutional digits network, an
MNIST-format model (28x28, untrained) and a model file that cannot be read."""

import time

import pytest
from serve_helpers import BASE
from starlette.testclient import TestClient

import layerwise as lw
from layerwise.experiments.training import TrainingRun
from layerwise.reports.train import write_run
from layerwise.serve.app import create_app


def train_run(folder, config):
    """A finished `layerwise train` run of ``config`` in ``folder``."""
    folder.mkdir(parents=True)
    run = TrainingRun.start(config, folder)
    run.fit()
    write_run(run, time.perf_counter())
    run.finished()
    return folder


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory):
    """runs/: mlp (a finished run of a 64-32-10 ReLU network, 0.9 test accuracy), conv (a
    convolutional digits network), mnist-format (a 28x28 MNIST-style model file) and broken
    (a model file that cannot be read)."""
    root = tmp_path_factory.mktemp("serve") / "runs"
    train_run(root / "mlp", lw.TrainConfig(hidden=(32,), epochs=25, seed=0))
    conv = lw.TrainConfig(layers="conv4k3p1,relu,maxpool2,flatten,16,relu", epochs=6, seed=0)
    train_run(root / "conv", conv)
    net = lw.Network(
        [lw.Reshape((1, 28, 28)), lw.Conv2D(1, 4, 5, padding=2, seed=0), lw.ReLU(), lw.MaxPool2D(2),
         lw.Flatten(), lw.Linear(4 * 14 * 14, 10, seed=0)],
        loss=lw.SoftmaxCrossEntropy(),
    )  # fmt: skip
    prep = lw.Preprocessing(
        scale=1 / 255, image_shape=(28, 28), pixel_max=255, polarity="dark_background", framing="mnist"
    )
    (root / "mnist-format").mkdir()
    lw.save(net, root / "mnist-format" / "model.safetensors", classes=[str(i) for i in range(10)],
            preprocessing=prep, metadata={"dataset": "mnist"})  # fmt: skip
    (root / "broken").mkdir()
    (root / "broken" / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    return root


@pytest.fixture
def app(runs_folder, tmp_path):
    """The app serving runs/, with its trainings written under tmp_path/live."""
    return create_app([runs_folder], runs_folder=tmp_path / "live")


@pytest.fixture
def client(app):
    with TestClient(app, base_url=BASE) as client:
        yield client


@pytest.fixture(scope="session")
def digits():
    from layerwise.data import load_digits

    return load_digits()
