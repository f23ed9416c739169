"""One training configuration: every default, parser and check lives in TrainConfig, and
every command, fit, Network.from_spec and the estimator take them from there."""

import argparse
import inspect
import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

import layerwise as lw
from layerwise.cli import build_parser, main
from layerwise.experiments.tutorial import OPTIONS, TUTORIAL
from layerwise.nn.config import DEFAULTS, TrainConfig, parse_candidates, parse_setting
from layerwise.sklearn import LayerwiseClassifier

SETTINGS = [f.name for f in fields(TrainConfig)]
README = Path(__file__).resolve().parents[2] / "README.md"


def subparser(name):
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def options(name):
    return {a.dest: a for a in subparser(name)._actions}


def test_train_and_tune_take_every_setting_with_the_same_option_and_help():
    train, tune = options("train"), options("tune")
    for name in SETTINGS:
        flag = "--" + name.replace("_", "-")
        assert flag in train[name].option_strings and flag in tune[name].option_strings
        assert train[name].help == tune[name].help and train[name].default is tune[name].default is None


def test_reproduce_and_gradcheck_options_are_the_shared_ones_with_the_tutorials_defaults():
    reproduce = options("reproduce")
    for name in OPTIONS:
        assert reproduce[name].help.startswith(options("train")[name].help.split(" (default")[0])
    assert "(default 48,32)" in reproduce["hidden"].help and "(default sgd)" in reproduce["optimizer"].help
    assert (
        "(default full)" in reproduce["batch_size"].help
        and "(default auto)" in options("train")["hidden"].help
        and "(default auto)" in options("train")["batch_size"].help
    )
    assert "l2" in options("gradcheck") and "lambdas" not in options("gradcheck")


def test_fit_and_from_spec_defaults_are_the_configurations():
    fit = inspect.signature(lw.fit).parameters
    for name in ("epochs", "batch_size", "l2", "seed"):
        assert fit[name].default == getattr(DEFAULTS, name), name
    assert (DEFAULTS.epochs, DEFAULTS.batch_size, DEFAULTS.hidden) == (20, "auto", "auto")
    spec = inspect.signature(lw.Network.from_spec).parameters
    for name in ("activation", "output_activation", "dropout", "dtype", "seed"):
        assert spec[name].default == getattr(DEFAULTS, name), name
    # the initialisation follows the activation, as on the command line
    relu = lw.Network.from_spec("4-8-3", activation="relu")
    sigmoid = lw.Network.from_spec("4-8-3", activation="sigmoid")
    assert relu.linears[0].init == "he_uniform" == TrainConfig(activation="relu").weight_init
    assert sigmoid.linears[0].init == "glorot_uniform" == TrainConfig(activation="sigmoid").weight_init


def test_fit_without_an_optimizer_uses_the_configurations(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-8-3")
    history = lw.fit(net, X, y, epochs=2)
    assert history.lr == [DEFAULTS.learning_rate] * 2 == [1e-3, 1e-3]


def test_the_estimators_defaults_are_the_configurations():
    params = LayerwiseClassifier().get_params()
    pairs = {
        "hidden_layer_sizes": "hidden",
        "activation": "activation",
        "solver": "optimizer",
        "alpha": "l2",
        "batch_size": "batch_size",
        "learning_rate_init": "lr",
        "max_iter": "epochs",
        "momentum": "momentum",
        "nesterovs_momentum": "nesterov",
        "early_stopping": "early_stopping",
        "validation_fraction": "validation",
        "beta_1": "beta1",
        "beta_2": "beta2",
        "epsilon": "eps",
        "n_iter_no_change": "patience",
        "output_activation": "output_activation",
        "dropout": "dropout",
        "dtype": "dtype",
        "init": "init",
    }
    for param, setting in pairs.items():
        assert params[param] == getattr(DEFAULTS, setting), param


@pytest.mark.parametrize("text", ["none", "None", "identity", "linear", "Linear"])
def test_no_output_activation_is_read_alike_everywhere(text):
    assert parse_setting("output_activation", text) is None
    assert TrainConfig(output_activation=text).output_activation is None
    assert parse_candidates("output_activation", f"sigmoid,{text}") == ["sigmoid", None]
    net = TrainConfig(output_activation=text, hidden=(4,)).network(3, 2)
    assert type(net.layers[-1]).__name__ == "Linear"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"dropout": 1.0}, "dropout must be in [0, 1)"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": "-3"}, "batch_size must be a positive integer"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"activation": "swish"}, "unknown activation 'swish'"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"init": "zeros"}, "unknown init 'zeros'"),
        ({"hidden": "48,x"}, "cannot read hidden sizes"),
        ({"validation": 1.5}, "validation must be between 0 and 1"),
        ({"colour": "red"}, "unknown setting(s): colour"),
        ({"nesterov": "maybe"}, "nesterov must be true or false"),
    ],
)
def test_every_setting_is_checked_once_with_a_one_line_error(changes, message):
    with pytest.raises(lw.LayerwiseError) as error:
        DEFAULTS.replace(**changes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_config_round_trips_through_its_dict():
    config = TrainConfig(hidden="64,32", activation="tanh", batch_size="full", lr="0.05", early_stopping=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.hidden == (64, 32) and config.batch_size is None and config.lr == 0.05


def test_train_defaults_to_the_digits(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"]["name"] == "digits" and report["settings"] == {
        **DEFAULTS.to_dict(),
        "hidden": [8],
        "epochs": 1,
    }


def test_tune_takes_init_and_early_stopping_as_train_does(tmp_path):
    out = tmp_path / "run"
    argv = [
        "tune",
        "--grid",
        "lr=0.05,0.5",
        "--init",
        "he_normal",
        "--early-stopping",
        "--patience",
        "0",
        "--optimizer",
        "sgd",
        "--hidden",
        "8",
        "--epochs",
        "60",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["init"] == "he_normal" and report["settings"]["early_stopping"] is True
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert any(t["epochs"] < 60 for t in trials)  # patience 0 stops a trial before its last epoch


def test_a_cross_validated_search_refuses_early_stopping(tmp_path, capsys):
    argv = ["tune", "--grid", "l2=0.1", "--cv", "3", "--early-stopping", "--out", str(tmp_path / "run")]
    assert main(argv) == 1
    assert "early stopping needs a validation set" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_readme_table_lists_every_setting_with_its_default():
    text = README.read_text()
    rows = dict(re.findall(r"^\| `--([a-z0-9-]+)` \| `([^`]*)` \|", text, flags=re.M))
    for name in SETTINGS:
        flag = name.replace("_", "-")
        assert flag in rows, f"--{flag} is missing from the README's table of settings"
        default = getattr(DEFAULTS, name)
        assert parse_setting(name, rows[flag]) == default or (rows[flag] == "none" and default is None), name
    assert TUTORIAL.replace(epochs=5).epochs == 5


def test_a_checkpoint_of_layerwise_0_1_records_settings_that_still_read(tmp_path):
    from layerwise.experiments.training import recorded_config

    old = {"data": "digits", "hidden": [16], "activation": "relu", "output_activation": None, "dropout": 0.0,
           "init": "he_uniform", "dtype": "float32", "optimizer": "adam", "lr": 0.001, "momentum": None,
           "nesterov": None, "batch_size": 64, "epochs": 8, "l2": 0.0, "schedule": "constant",
           "early_stopping": False, "patience": None, "validation": 0.1, "scaling": "unit", "label_column": 0,
           "seed": 0}  # fmt: skip
    config = recorded_config({"settings": old}, tmp_path / "checkpoint.safetensors")
    assert config == TrainConfig(hidden=(16,), init="he_uniform", lr=0.001, batch_size=64, epochs=8)
    with pytest.raises(lw.LayerwiseError, match="records settings that cannot be used: epochs"):
        recorded_config({"settings": {**old, "epochs": "many"}}, tmp_path / "checkpoint.safetensors")


def test_settings_the_optimizer_refuses_are_refused_when_the_config_is_made():
    with pytest.raises(lw.LayerwiseError, match="Nesterov"):
        TrainConfig(optimizer="sgd", momentum=0.0, nesterov=True)
    assert parse_candidates("lr", "0.01,none") == [0.01, None]
