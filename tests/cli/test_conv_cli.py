"""Convolutional networks on the command line: `train --layers` on the digits' images, then
`predict` on an image file, `evaluate`, `--resume` and `--init-from`; `tune` over specs of
layers; `reproduce --layers`; and the one-line errors of specs that do not fit the data."""

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

import layerwise as lw
from layerwise.cli import main
from layerwise.nn.conv import Conv2D
from layerwise.nn.normalization import BatchNorm

# Batch norm, dropout, pooling: every layer whose state a run keeps.
CNN = "conv4k3p1,bn,relu,maxpool2,flatten,16,relu,dropout0.2"
SETTINGS = ["--data", "digits", "--layers", CNN, "--batch-size", "64", "--lr", "0.01", "--quiet"]


def train(*argv):
    return main(["train", *map(str, argv)])


def report(run):
    return json.loads((run / "report.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`two`: 2 epochs of SETTINGS, `three`: 3 epochs at once."""
    root = tmp_path_factory.mktemp("conv")
    assert train(*SETTINGS, "--epochs", 2, "--out", root / "two") == 0
    assert train(*SETTINGS, "--epochs", 3, "--out", root / "three") == 0
    return root


def test_train_builds_the_spec_on_the_digits_images_and_reports_it(runs):
    run = runs / "two"
    data = report(run)
    assert data["settings"]["layers"] == CNN and data["settings"]["hidden"] == "auto"
    assert [layer["type"] for layer in data["network_layers"]] == [
        "Reshape", "Conv2D", "BatchNorm", "ReLU", "MaxPool2D", "Flatten", "Linear", "ReLU", "Dropout",
        "Linear",
    ]  # fmt: skip
    assert data["network_layers"][4]["output_shape"] == [4, 4, 4] and data["network"] == [64, 16, 10]
    assert data["network_layers"][1]["parameters"] == 4 * 9 + 4
    assert "MaxPool2D  (4, 4, 4)" in data["network_summary"]
    assert data["figures"]["first_layer"] == "first_layer.png" and (run / "first_layer.png").is_file()
    markdown = (run / "report.md").read_text()
    assert f"network 64 -> {CNN} -> 10" in markdown and f"Layers: `{CNN}`" in markdown
    assert re.search(r"Conv2D +\(4, 8, 8\) +40", markdown) and "![first_layer](first_layer.png)" in markdown
    net = lw.load(run).network
    assert isinstance(net.layers[1], Conv2D) and isinstance(net.layers[2], BatchNorm)
    assert net.layers[2].running_var.tolist() != [1.0] * 4  # the running statistics are saved


def test_the_first_layer_figure_shows_the_convolutions_filters(runs):
    from layerwise.reports import figures

    net = lw.load(runs / "two").network
    images, captions, title = figures.first_layer_tiles(net, (8, 8))
    np.testing.assert_array_equal(images, net.layers[1].weight.value[:, 0])
    assert captions == ["1", "2", "3", "4"] and title.startswith("The 4 3x3 filters of the first convolution")


def test_predict_and_evaluate_take_the_conv_model(runs, tmp_path, capsys):
    image = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(image).line((14, 8, 50, 8, 26, 58), fill=0, width=7)
    image.save(tmp_path / "seven.png")
    np.savez(tmp_path / "rows.npz", X=np.zeros((3, 64)))
    args = ["predict", str(runs / "two"), str(tmp_path / "seven.png"), str(tmp_path / "rows.npz"), "--json"]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and all(line["class"] in [str(i) for i in range(10)] for line in lines)
    assert main(["evaluate", str(runs / "two")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        f"accuracy {report(runs / 'two')['test_accuracy']:.4f} on the 594 test examples"
    )
    assert main(["evaluate", str(runs / "two" / "model.safetensors"), "--data", "digits"]) == 0


def test_resume_extends_a_conv_run_bit_identically(runs, tmp_path):
    import shutil

    run = shutil.copytree(runs / "two", tmp_path / "two")
    assert train("--resume", run, "--epochs", 3, "--quiet") == 0
    a, b = lw.load(run), lw.load(runs / "three")
    for u, v in zip(a.network.get_weights(), b.network.get_weights()):
        np.testing.assert_array_equal(u, v)
    for (_, u), (_, v) in zip(a.network.named_state(), b.network.named_state()):
        np.testing.assert_array_equal(u, v)
    history = {k: v for k, v in report(run)["history"].items() if k != "seconds"}
    assert history == {k: v for k, v in report(runs / "three")["history"].items() if k != "seconds"}


def test_init_from_a_conv_model_copies_weights_and_statistics(runs, tmp_path, capsys):
    out = tmp_path / "tuned"
    assert train(*SETTINGS, "--epochs", 1, "--lr", "1e-12", "--init-from", runs / "two", "--out", out) == 0
    source, tuned = lw.load(runs / "two").network, lw.load(out).network
    np.testing.assert_allclose(tuned.layers[1].weight.value, source.layers[1].weight.value, atol=1e-6)
    # the running statistics go on from the source's (one epoch of momentum 0.1 moves them a little)
    assert np.abs(tuned.layers[2].running_mean - source.layers[2].running_mean).max() < 0.1
    other = ["--data", "digits", "--layers", "conv8k3p1,relu,maxpool2,flatten,16,relu", "--quiet"]
    assert train(*other, "--epochs", 1, "--init-from", runs / "two", "--out", tmp_path / "other") == 1
    err = capsys.readouterr().err
    assert (
        f"holds a 1x8x8 -> {CNN.replace(',dropout0.2', '')},10 network but the settings describe a "
        "1x8x8 -> conv8k3p1,relu,maxpool2,flatten,16,relu,10 one: --init-from needs the same architecture"
    ) in err
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--layers", "conv4k3,maxpool2,maxpool2,maxpool2"],
            "--layers has maxpool2 (layer 4), whose 2x2 window is larger than its input image of 1x1",
        ),
        (["--layers", "conv4k3,relu,flatten,conv4k3"], "--layers has conv4k3 (layer 4), which needs images"),
        (
            ["--layers", "conv4k3,rleu"],
            "--layers has an unknown layer 'rleu' (layer 2); did you mean 'relu'?",
        ),
        (["--layers", "conv4k3;relu"], "--layers 'conv4k3;relu' has a semicolon"),
        (["--layers", "conv4k3", "--hidden", "16"], "--layers gives the whole network, so --hidden cannot"),
    ],  # fmt: skip
    ids=["too-small", "after-flatten", "unknown", "semicolon", "with-hidden"],
)
def test_a_spec_that_does_not_fit_is_one_line_and_leaves_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    assert train("--data", "digits", *argv, "--epochs", 1, "--out", out) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: ") and message in err and err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_conv_spec_on_csv_rows_is_one_line(tmp_path, capsys):
    rows = ["a,b,c,d,label"] + [f"{i % 3},{i % 5},{i % 7},{i % 2},{i % 2}" for i in range(40)]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    argv = ["--data", tmp_path / "rows.csv", "--label-column", "label", "--layers", "conv4k3,relu,8,relu"]
    assert train(*argv, "--epochs", 1, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert err == (
        "layerwise train: error: --layers starts with image layers (conv4k3) but the data have no image "
        "shape (rows of 4 values, as from a CSV file); use Linear layers such as 128,relu instead\n"
    )
    assert not (tmp_path / "run").exists()
    # Linear layers and batch norm of features are fine on rows
    assert train(*argv[:-1], "bn,8,relu", "--epochs", 1, "--quiet", "--out", tmp_path / "run") == 0
    assert not (tmp_path / "run" / "first_layer.png").exists()  # rows: no image to show


def test_tune_searches_over_specs_of_layers(tmp_path, capsys):
    out = tmp_path / "search"
    grid = f"layers={CNN};32,relu"
    argv = ["tune", "--data", "digits", "--grid", grid, "--epochs", "2", "--jobs", "1", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert CNN in printed and "32,relu" in printed
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert sorted(t["settings"]["layers"] for t in trials) == sorted([CNN, "32,relu"])
    assert CNN in (out / "results.csv").read_text()
    data = report(out)
    assert data["space"]["grid"]["layers"] == [CNN, "32,relu"]
    best = data["best"]["settings"]["layers"]
    assert data["best_settings"]["layers"] == best and "Total parameters" in data["network_summary"]
    markdown = (out / "report.md").read_text()
    assert "## The best network" in markdown and f"Layers: `{best}`" in markdown
    assert lw.load(out).network.sizes == ([64, 16, 10] if best == CNN else [64, 32, 10])
    assert main(["evaluate", str(out)]) == 0


def test_tune_refuses_a_spec_that_does_not_fit_the_data_before_making_its_directory(tmp_path, capsys):
    out = tmp_path / "search"
    argv = ["tune", "--grid", "layers=conv4k9;32", "--epochs", "1", "--jobs", "1", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "layers has conv4k9 (layer 1), whose 9x9 window is larger than its input image of 8x8" in err
    assert err.count("\n") == 1 and not out.exists()


def test_reproduce_with_layers_draws_the_filters_and_their_gradient_norms(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["reproduce", "--layers", "conv4k3p1,tanh,maxpool2,16,tanh", "--epochs", "4",
            "--lambdas", "0.01,1", "--jobs", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = report(out)
    assert (
        data["config"]["layers"] == "conv4k3p1,tanh,maxpool2,16,tanh" and data["config"]["hidden"] == "auto"
    )
    assert list(data["final_gradient_norms"]) == [
        "layer 1 (conv 1->4 3x3)",
        "layer 2 (64x16)",
        "layer 3 (16x10)",
    ]
    assert (out / "first_layer_weights.png").is_file()
    assert "Network 64 -> conv4k3p1,tanh,maxpool2,16,tanh -> 10" in (out / "report.md").read_text()
    assert lw.load(out).network.layers[0].shape == (1, 8, 8)


def test_a_spec_of_linear_layers_trains_the_network_hidden_gives(tmp_path):
    common = ["--data", "digits", "--epochs", 2, "--quiet"]
    assert train(*common, "--layers", "32,relu,16,relu", "--out", tmp_path / "layers") == 0
    assert train(*common, "--hidden", "32,16", "--out", tmp_path / "hidden") == 0
    a, b = lw.load(tmp_path / "layers").network, lw.load(tmp_path / "hidden").network
    assert repr(a) == repr(b)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_resume_compares_the_architecture_not_only_the_sizes(runs, tmp_path, monkeypatch, capsys):
    import shutil

    from layerwise.experiments import training

    run = shutil.copytree(runs / "two", tmp_path / "two")
    recorded = training.recorded_config
    other = CNN.replace("conv4k3p1", "conv4k5p2")  # the same sizes, [64, 16, 10], another network
    monkeypatch.setattr(training, "recorded_config", lambda *a: recorded(*a).replace(layers=other))
    assert train("--resume", run, "--epochs", 3, "--quiet") == 1
    assert "holds a network that its recorded settings do not describe" in capsys.readouterr().err
