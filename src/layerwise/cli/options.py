"""Option groups the commands share: the training configuration's settings (declared once,
from ``TrainConfig``'s fields) and where trainings run."""

import argparse
from dataclasses import fields

from ..errors import LayerwiseError, SettingError
from ..nn.config import REPLACED_BY_LAYERS, TrainConfig, parse_setting

GROUP_TITLES = {"data": "data", "network": "network", "training": "training", "tracking": "tracking"}
# What to write in --layers instead of each option it replaces.
LAYERS_INSTEAD = {
    "hidden": "write the hidden layers' units in it, e.g. --layers 128,relu,64,relu",
    "activation": "name each activation in it, e.g. --layers conv32k3p1,tanh,flatten,128,tanh",
    "dropout": "place each dropout in it, e.g. --layers 128,relu,dropout0.3",
}


def add_config_arguments(parser, defaults, names=None):
    """One option per setting of ``TrainConfig`` (or of ``names``), help showing the
    default of ``defaults``. Options not given stay None, so that ``config_from_args``
    knows what the user changed."""
    groups = {}
    for f in fields(TrainConfig):
        if names is not None and f.name not in names:
            continue
        meta = f.metadata
        if meta["group"] not in groups:
            groups[meta["group"]] = parser.add_argument_group(GROUP_TITLES[meta["group"]])
        default = getattr(defaults, f.name)
        shown = _shown(f.name, default)
        kwargs = {"default": None, "help": f"{meta['help']} (default {shown})", "dest": f.name}
        if meta["kind"] == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["metavar"] = {"folder": "DIR", "uri": "URI"}.get(meta["kind"], f.name.upper())
        if meta.get("const") is not None:  # the option alone gives this value (--mlflow)
            kwargs.update(nargs="?", const=meta["const"])
        groups[meta["group"]].add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _shown(name, default):
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    if default is None:
        return "full" if name == "batch_size" else "none"
    return {True: "on", False: "off"}.get(default, default) if isinstance(default, bool) else default


def given_settings(args):
    """The settings given on the command line: name -> value."""
    names = {f.name for f in fields(TrainConfig)}
    given = {}
    for name, value in vars(args).items():
        if name in names and value is not None:
            given[name] = value if isinstance(value, bool) else parse_setting(name, value)
    return given


def config_from_args(args, defaults, extra=None):
    """``defaults`` with the settings given on the command line (and ``extra`` ones
    under them, e.g. a TOML file's [settings]), checked; a wrong value is reported with
    the name of its option.

    A spec of --layers replaces the network of --hidden, --activation and --dropout: given
    with one of them, it is an error; given alone, those three leave the values of
    ``defaults`` for their own defaults (auto, relu, 0), which a spec needs (so that
    `reproduce --layers` replaces the tutorial's network)."""
    try:
        given = given_settings(args)
        extra = dict(extra or {})
        if given.get("layers") is not None:
            for name in REPLACED_BY_LAYERS:
                if name in given:
                    option = "--" + name.replace("_", "-")
                    raise LayerwiseError(
                        f"--layers gives the whole network, so {option} cannot come with it: "
                        f"{LAYERS_INSTEAD[name]}"
                    )
        if (given.get("layers") or extra.get("layers")) is not None:
            defaults = defaults.replace(**REPLACED_BY_LAYERS)
        return defaults.replace(**{**extra, **given})
    except SettingError as e:
        raise option_error(e) from None


def option_error(error):
    """A SettingError of a training setting as the command line names it ("--layers has
    ..."); any other error as it is."""
    if not isinstance(error, SettingError) or error.setting not in {f.name for f in fields(TrainConfig)}:
        return error
    return LayerwiseError(f"--{error.setting.replace('_', '-')} {error.problem}")


def add_backend_arguments(parser):
    """--jobs, --dask and --dask-local, as `tune` and `reproduce` take them."""
    where = parser.add_argument_group("where trainings run")
    where.add_argument("--jobs", type=int, default=None, help="local processes (default: all cores)")
    where.add_argument(
        "--dask", default=None, metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--dask-local", type=int, default=None, metavar="N", help="a local Dask cluster of N workers"
    )
