"""One training configuration: every default, parser and check lives in TrainConfig, and
every command, fit, Network.from_spec and the estimator take them from there."""

import argparse
import inspect
import json
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
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


def readme_row(field):
    """The README's row of a setting: option, default, `reproduce`'s default (- where it
    does not take it) and the help, as the command line shows them."""

    def shown(name, value):
        if isinstance(value, tuple):
            return ",".join(map(str, value)) or "none"
        if value is None:
            return "full" if name == "batch_size" else "none"
        return str(value).lower() if isinstance(value, bool) else str(value)

    name = field.name
    tutorial = f"`{shown(name, getattr(TUTORIAL, name))}`" if name in OPTIONS else "-"
    flag = name.replace("_", "-")
    return (
        f"| `--{flag}` | `{shown(name, getattr(DEFAULTS, name))}` | {tutorial} | {field.metadata['help']} |"
    )


def test_the_readme_table_is_the_one_the_settings_give():
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `--")]
    expected = [readme_row(f) for f in fields(TrainConfig)]
    assert rows == expected, "the README's table of settings should read:\n" + "\n".join(expected)


# --- layers: a spec instead of hidden, activation and dropout ------------------------------

CNN = "conv4k3p1,relu,maxpool2,flatten,16,relu"


def test_layers_is_kept_as_its_canonical_spec_and_round_trips():
    config = TrainConfig(layers=" Conv4K3P1 , ReLU, MaxPool2s2, Flatten, 16, ReLU ")
    assert config.layers == CNN and TrainConfig().layers is None
    assert parse_setting("layers", "none") is None and TrainConfig(layers="None").layers is None
    d = config.to_dict()
    assert d["layers"] == CNN and TrainConfig.from_dict(json.loads(json.dumps(d))) == config
    assert TrainConfig.from_dict({"layers": CNN}).layers == CNN
    assert TrainConfig.from_dict({"layers": CNN.split(",")}).layers == CNN  # TOML: a list of layers
    # a record made before the setting existed reads as the network of hidden
    old = {k: v for k, v in TrainConfig(hidden=(8,)).to_dict().items() if k != "layers"}
    assert TrainConfig.from_dict(old).layers is None


def test_layers_build_the_network_and_describe_it():
    config = TrainConfig(layers=CNN, epochs=2)
    net = config.network(64, 10, image_shape=(8, 8))
    assert [type(layer).__name__ for layer in net.layers] == [
        "Reshape", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Linear", "ReLU", "Linear",
    ]  # fmt: skip
    assert net.sizes == config.sizes(64, 10) == [64, 16, 10]
    assert config.weight_init == "he_uniform" and net.layers[1].init == "he_uniform"
    assert config.describe(64, 10, 721) == (f"network 64 -> {CNN} -> 10, adam lr 0.001, batch 46, 2 epochs")
    assert TrainConfig(layers="conv4k3,tanh,16,tanh").weight_init == "glorot_uniform"
    assert TrainConfig(layers="conv4k3,tanh", init="he_normal").weight_init == "he_normal"
    # seeded from the config, or from the seed given
    again = config.network(64, 10, image_shape=(8, 8))
    other = config.network(64, 10, seed=1, image_shape=(8, 8))
    assert np.array_equal(net.get_weights()[0], again.get_weights()[0])
    assert not np.array_equal(net.get_weights()[0], other.get_weights()[0])
    with pytest.raises(lw.SettingError, match="no image shape"):
        config.network(64, 10)


def test_layers_with_a_changed_hidden_activation_or_dropout_is_an_error_with_its_reason():
    cases = {
        "hidden": ((48, 32), "cannot be given with hidden 48,32 (its numbers are the hidden layers): "
                             "leave hidden at auto"),
        "activation": ("tanh", "cannot be given with activation tanh (it names each activation"),
        "dropout": (0.2, "cannot be given with dropout 0.2 (it places each dropout"),
    }  # fmt: skip
    for name, (value, message) in cases.items():
        with pytest.raises(lw.SettingError) as error:
            TrainConfig(layers=CNN, **{name: value})
        assert error.value.setting == "layers" and message in str(error.value)
        assert "\n" not in str(error.value)
    # their defaults are no conflict: a spec keeps them
    assert TrainConfig(layers=CNN, hidden="auto", activation="relu", dropout=0.0).layers == CNN


def test_layers_candidates_are_separated_by_semicolons():
    assert parse_candidates("layers", f"{CNN}; 32,relu ;none") == [CNN, "32,relu", None]
    with pytest.raises(lw.SettingError, match="has an unknown layer 'rleu'"):
        parse_candidates("layers", "32,rleu;none")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--hidden", "8"],
            "--layers gives the whole network, so --hidden cannot come with it: write the "
            "hidden layers' units in it, e.g. --layers 128,relu,64,relu",
        ),
        (["--activation", "relu"], "so --activation cannot come with it: name each activation in it"),
        (["--dropout", "0.3"], "so --dropout cannot come with it: place each dropout in it"),
    ],  # fmt: skip
)
def test_layers_with_hidden_activation_or_dropout_on_the_command_line_is_refused(
    tmp_path, capsys, argv, message
):
    for command in ("train", "tune"):
        grid = ["--grid", "l2=0,1"] if command == "tune" else []
        out = tmp_path / command
        assert main([command, *grid, "--layers", CNN, *argv, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"layerwise {command}: error: --layers gives the whole network, so --")
        assert message in err and err.count("\n") == 1
        assert not out.exists()


def test_reproduce_and_gradcheck_take_layers_in_place_of_the_tutorials_network():
    from layerwise.cli.options import config_from_args

    parser = subparser("reproduce")
    config = config_from_args(parser.parse_args(["--layers", CNN]), TUTORIAL)
    assert (config.layers, config.hidden, config.activation, config.dropout) == (CNN, "auto", "relu", 0.0)
    assert (
        config.output_activation == "sigmoid" and config.optimizer == "sgd"
    )  # the rest stays the tutorial's
    assert "layers" in options("gradcheck")
