"""Defaults that fit the data: hidden sizes and batch size "auto", resolved from the data's
shape by one rule each, alike from the command line, from lw.fit and from the settings a
run records."""

import json
import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.nn.config import DEFAULTS, TrainConfig, parse_candidates, resolve_batch_size, resolve_hidden


class StepCounter(lw.Callback):
    """Counts the optimizer steps of each epoch."""

    def __init__(self):
        self.steps, self.count = [], 0

    def on_batch_end(self, batch, size, loss):
        self.count += 1

    def on_epoch_end(self, epoch, logs):
        self.steps.append(self.count)
        self.count = 0


def iris_like(n=150, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (n_classes, n_features))
    y = np.arange(n) % n_classes
    X = centers[y] + rng.normal(0, 1, (n, n_features))
    return X.astype(np.float32), y


def steps_per_epoch(net, X, y, **settings):
    counter = StepCounter()
    history = lw.fit(net, X, y, epochs=2, callbacks=[counter], **settings)
    return history, counter.steps


def test_the_defaults_are_auto_and_the_old_ones_still_read():
    assert DEFAULTS.hidden == "auto" and DEFAULTS.batch_size == "auto"
    assert TrainConfig(hidden="256,128", batch_size="128") == TrainConfig(hidden=(256, 128), batch_size=128)
    assert TrainConfig(hidden="AUTO", batch_size=" Auto ") == DEFAULTS


def test_iris_sized_data_get_a_small_network_and_several_steps_per_epoch():
    X, y = iris_like()
    assert DEFAULTS.sizes(4, 3) == [4, 64, 32, 3]  # not 4-256-128-3
    assert DEFAULTS.resolved_batch_size(150) == 10
    net = DEFAULTS.network(4, 3)
    assert net.sizes == [4, 64, 32, 3]
    assert sum(w.size for w in net.get_weights()) < 3_000
    history, steps = steps_per_epoch(net, X, y)  # fit's own defaults
    assert history.batch_size == 10 and steps == [15, 15]


def test_784_features_keep_256_128_and_large_data_keep_batches_of_128():
    assert DEFAULTS.sizes(784, 10) == [784, 256, 128, 10]
    assert DEFAULTS.resolved_batch_size(54_000) == 128  # Fashion-MNIST's training part
    assert DEFAULTS.resolved_batch_size(60_000) == 128
    assert (
        DEFAULTS.describe(784, 10, 54_000)
        == "network 784-256-128-10 relu, adam lr 0.001, batch 128, 20 epochs"
    )


def test_the_digits_get_a_network_between():
    assert DEFAULTS.sizes(64, 10) == [64, 128, 64, 10]
    assert DEFAULTS.resolved_batch_size(721) == 46  # the tutorial's training split: 16 steps


def test_the_batch_rule_gives_several_steps_per_epoch_and_never_tiny_batches():
    for n in [*range(1, 3000), 54_000, 60_000]:
        batch = resolve_batch_size("auto", n)
        steps = math.ceil(n / batch)
        if n <= 8:
            assert batch == n, n  # the full batch
        else:
            assert 8 <= batch <= 128 and 2 <= steps <= 16 or batch == 128, n
        if n >= 2048:
            assert batch == 128, n
        elif n >= 128:
            assert steps in (15, 16), n  # n / ceil(n / 16), rounded up


def test_explicit_and_full_batch_sizes_keep_working():
    X, y = iris_like(40)
    net = lw.Network.from_spec("4-8-3", seed=0)
    assert steps_per_epoch(net, X, y, batch_size=None)[1] == [1, 1]
    assert steps_per_epoch(net, X, y, batch_size="full")[1] == [1, 1]
    assert steps_per_epoch(net, X, y, batch_size=16)[1] == [3, 3]
    assert steps_per_epoch(net, X, y, batch_size=500)[0].batch_size == 40
    assert steps_per_epoch(net, X, y, batch_size="auto")[1] == [5, 5]
    assert TrainConfig(batch_size="full").resolved_batch_size(40) == 40
    assert TrainConfig(batch_size=16).describe(4, 3, 40).endswith("batch 16, 20 epochs")
    assert TrainConfig(batch_size="full").describe(4, 3, 40).endswith("batch full, 20 epochs")
    with pytest.raises(lw.LayerwiseError, match="batch_size must be a positive integer, full or auto"):
        lw.fit(net, X, y, batch_size=0)
    with pytest.raises(lw.LayerwiseError, match="batch_size must be a positive integer, full or auto"):
        lw.fit(net, X, y, batch_size="many")


@pytest.mark.parametrize("n_features", [1, 2, 4, 13, 30, 32, 33, 64, 100, 784, 3072])
@pytest.mark.parametrize("n_classes", [2, 3, 10, 100, 1000])
def test_the_hidden_rule_narrows_towards_the_classes(n_features, n_classes):
    first, second = resolve_hidden("auto", n_features, n_classes)
    assert first in (64, 128, 256) and second == first // 2
    assert first >= min(256, 2 * n_features) and second >= min(128, n_classes)


def test_explicit_hidden_sizes_and_none_keep_working():
    assert TrainConfig(hidden=(48, 32)).sizes(4, 3) == [4, 48, 32, 3]
    assert TrainConfig(hidden="none").sizes(4, 3) == [4, 3]
    from layerwise.experiments.tutorial import TUTORIAL

    assert TUTORIAL.hidden == (48, 32) and TUTORIAL.network(64, 10).sizes == [64, 48, 32, 10]
    with pytest.raises(lw.LayerwiseError, match="hidden"):
        TrainConfig(hidden="automatic")


def test_auto_round_trips_through_the_recorded_settings(tmp_path):
    from layerwise.experiments.training import recorded_config

    recorded = json.loads(json.dumps(DEFAULTS.to_dict()))
    assert recorded["hidden"] == "auto" and recorded["batch_size"] == "auto"
    assert TrainConfig.from_dict(recorded) == DEFAULTS
    assert recorded_config({"settings": recorded}, tmp_path / "model.safetensors") == DEFAULTS
    explicit = {**recorded, "hidden": [256, 128], "batch_size": 128}  # a run of an earlier version
    assert recorded_config({"settings": explicit}, tmp_path / "model.safetensors").sizes(784, 10) == (
        DEFAULTS.sizes(784, 10)
    )


def test_a_search_may_try_auto_beside_explicit_sizes():
    assert parse_candidates("hidden", "auto;48,32") == ["auto", (48, 32)]
    assert parse_candidates("batch_size", "auto,32,full") == ["auto", 32, None]


def test_the_command_line_and_fit_resolve_the_same_defaults(tmp_path):
    X, y = iris_like()
    rows = [",".join([str(label), *(f"{v:.4f}" for v in x)]) for x, label in zip(X, y)]
    (tmp_path / "my.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "my.csv"), "--epochs", "2", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    n_train = report["dataset"]["train"]
    assert n_train == 108  # 150 less the 20% test split (30), then 10% of the rest for validation (12)
    assert report["settings"]["hidden"] == "auto" and report["settings"]["batch_size"] == "auto"
    assert report["network"] == [4, 64, 32, 3]
    assert report["history"]["batch_size"] == 8 == resolve_batch_size("auto", n_train)
    # Python, with the defaults, on as many examples: the same network and batch size
    config = TrainConfig.from_dict(report["settings"])
    net = config.network(4, 3)
    assert net.sizes == report["network"] == lw.load(out).network.sizes
    history, steps = steps_per_epoch(net, X[:n_train], y[:n_train])
    assert history.batch_size == report["history"]["batch_size"] and steps == [14, 14]


def test_a_run_with_auto_settings_resumes_and_a_search_tries_auto(tmp_path):
    X, y = iris_like(60)
    rows = [",".join([str(label), *(f"{v:.4f}" for v in x)]) for x, label in zip(X, y)]
    (tmp_path / "my.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    data = ["--data", str(tmp_path / "my.csv")]
    assert (
        main(["train", *data, "--epochs", "2", "--checkpoint-every", "1", "--quiet", "--out", str(out)]) == 0
    )
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["network"] == [4, 64, 32, 3] and len(report["history"]["train_loss"]) == 3
    assert report["history"]["batch_size"] == resolve_batch_size("auto", report["dataset"]["train"])
    out = tmp_path / "search"
    argv = [
        "tune",
        *data,
        "--grid",
        "hidden=auto;8",
        "--epochs",
        "1",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert sorted(str(t["settings"]["hidden"]) for t in trials) == ["[8]", "auto"]
