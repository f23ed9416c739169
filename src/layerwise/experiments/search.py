"""Hyperparameter search: the tutorial's choice of lambda, generalised.

A search space maps training settings to the values to try: a grid (every combination)
or seeded random draws. Every trial trains one network from its own seed on the training
split and scores it on the validation split (or by k-fold cross-validation); the best
settings are retrained and scored on the test set.

Trials run on a backend from backends.py (local processes, or a Dask cluster) and each
finished trial is appended to ``trials.jsonl`` in the run directory as one complete,
synced line, so a search that is stopped can be resumed where it stopped.
"""

import hashlib
import itertools
import json
import math
import os
import socket
import time
import tomllib
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from ..cli.options import hidden_sizes, number_list
from ..errors import LayerwiseError
from ..nn.metrics import accuracy
from ..nn.network import Network
from ..nn.optimizers import SGD, Adam, make_schedule
from ..nn.training import fit

# --- settings of one training ---------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything one training needs; the defaults are those of `layerwise train`."""

    hidden: tuple = (256, 128)
    activation: str = "relu"
    output_activation: str | None = None
    optimizer: str = "adam"
    lr: float | None = None  # None: 1e-3 for adam, 0.01 for sgd
    momentum: float = 0.9
    nesterov: bool = False
    batch_size: int | None = 128  # None: the full batch
    epochs: int = 20
    l2: float = 0.0
    dropout: float = 0.0
    init: str | None = None  # None: he_uniform for ReLU-like activations, else glorot_uniform
    schedule: str = "constant"
    dtype: str = "float32"

    def network(self, n_features, n_classes, seed):
        relu_like = str(self.activation).lower().replace("-", "_") in ("relu", "leaky_relu")
        init = self.init or ("he_uniform" if relu_like else "glorot_uniform")
        return Network.from_spec(
            [n_features, *self.hidden, n_classes],
            activation=self.activation,
            output_activation=self.output_activation,
            dropout=self.dropout,
            init=init,
            dtype=self.dtype,
            seed=seed,
        )

    def make_optimizer(self):
        schedule = make_schedule(self.schedule, self.epochs)
        if self.optimizer == "sgd":
            return SGD(lr=self.lr or 0.01, momentum=self.momentum, nesterov=self.nesterov, schedule=schedule)
        if self.optimizer == "adam":
            return Adam(lr=self.lr or 1e-3, schedule=schedule)
        raise LayerwiseError(f"unknown optimizer {self.optimizer!r}; choose sgd or adam")

    def validate(self):
        """Builds a tiny network and optimizer to check every value before any work."""
        self.check_types()
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise LayerwiseError(f"epochs must be a positive integer, not {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise LayerwiseError(f"batch_size must be positive, not {self.batch_size}")
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise LayerwiseError(f"l2 must be a non-negative number, not {self.l2}")
        self.network(2, 2, seed=0)
        self.make_optimizer()
        return self

    def check_types(self):
        """Every setting has the type it needs (validate() also checks the values)."""
        numbers = {"lr": self.lr, "momentum": self.momentum, "l2": self.l2, "dropout": self.dropout}
        for name, value in numbers.items():
            if not (value is None and name == "lr") and not _is_number(value):
                raise LayerwiseError(f"{name} must be a number, not {value!r}")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
        ):
            raise LayerwiseError(f"batch_size must be an integer or full, not {self.batch_size!r}")
        words = ("activation", "optimizer", "schedule", "dtype", "init", "output_activation")
        for name in words:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise LayerwiseError(f"{name} must be a name, not {value!r}")
        if not isinstance(self.hidden, tuple) or not all(type(n) is int and n > 0 for n in self.hidden):
            raise LayerwiseError(f"hidden must be positive layer sizes, not {self.hidden!r}")
        if not isinstance(self.nesterov, bool):
            raise LayerwiseError(f"nesterov must be true or false, not {self.nesterov!r}")

    def to_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


MAX_TRIALS = 100_000

SEARCHABLE = (
    "l2",
    "hidden",
    "lr",
    "momentum",
    "activation",
    "output_activation",
    "batch_size",
    "dropout",
    "epochs",
    "optimizer",
)


def parse_value(name, text):
    """The values of one setting from command-line text, e.g. l2 "logspace(-2,2,10)",
    hidden "48x32,64x32,128", batch_size "32,128,full", activation "relu,tanh"."""
    if name not in SEARCHABLE:
        raise LayerwiseError(f"cannot search {name!r}; searchable settings: {', '.join(SEARCHABLE)}")
    if name in ("l2", "lr", "momentum", "dropout"):
        return number_list(text, name)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise LayerwiseError(f"no values given for {name}")
    if name == "hidden":
        return [hidden_sizes(p) for p in parts]
    if name in ("epochs", "batch_size"):
        return [_count(p, name) for p in parts]
    if name == "output_activation":
        return [None if p.lower() in ("none", "identity") else p for p in parts]
    return parts


def _count(text, name):
    if name == "batch_size" and str(text).lower() in ("none", "full"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise LayerwiseError(f"{name} values must be positive integers, not {text!r}") from None
    if value < 1:
        raise LayerwiseError(f"{name} values must be positive integers, not {value}")
    return value


# --- search spaces -------------------------------------------------------------------------


def _distribution(name, text):
    """ "uniform(a,b)", "loguniform(a,b)" or "randint(a,b)" (a and b included) for random search."""
    text = text.strip()
    for kind in ("loguniform", "uniform", "randint"):
        if text.startswith(kind + "(") and text.endswith(")"):
            try:
                a, b = (float(v) for v in text[len(kind) + 1 : -1].split(","))
            except ValueError:
                break
            if not (math.isfinite(a) and math.isfinite(b) and a < b) or (kind == "loguniform" and a <= 0):
                raise LayerwiseError(f"{name}={text}: need finite a < b (and a > 0 for loguniform)")
            if kind == "randint" and not (a == int(a) and b == int(b) and max(abs(a), abs(b)) < 2**53):
                raise LayerwiseError(f"{name}={text}: randint needs integer bounds")
            return (kind, a, b)
    return None


@dataclass
class Space:
    """``grid``: setting -> list of values (every combination is a trial). ``random``:
    setting -> list of values (a uniform choice) or a distribution ("uniform", a, b);
    ``trials`` draws from it, seeded."""

    grid: dict
    random: dict
    trials: int = 0

    @classmethod
    def parse(cls, grid_items=(), random_items=(), trials=None):
        grid, random = {}, {}
        for target, items in ((grid, grid_items), (random, random_items)):
            for item in items:
                name, sep, text = item.partition("=")
                name = name.strip().replace("-", "_")
                if not sep or not text.strip():
                    raise LayerwiseError(
                        f"cannot read {item!r}: write setting=values, e.g. l2=logspace(-2,2,10)"
                    )
                if name in grid or name in random:
                    raise LayerwiseError(f"{name} is given twice in the search space")
                dist = _distribution(name, text) if target is random else None
                target[name] = dist if dist else parse_value(name, text)
        if random and not trials:
            raise LayerwiseError("random search needs a number of trials (--trials N)")
        combos = math.prod(len(values) for values in grid.values()) * (int(trials) if random else 1)
        if combos > MAX_TRIALS:
            raise LayerwiseError(f"the search space has {combos} trials; at most {MAX_TRIALS} are run")
        space = cls(grid, random, int(trials or 0))
        if not space.grid and not space.random:
            raise LayerwiseError('the search space is empty: give --grid "setting=values" or a TOML file')
        return space

    @classmethod
    def from_toml(cls, path):
        """A TOML file with [grid] and/or [random] tables (and trials = N in [random]) and
        an optional [settings] table of fixed settings. Returns (space, settings dict)."""
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except FileNotFoundError:
            raise LayerwiseError(f"search space file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise LayerwiseError(f"cannot read search space file {path}: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise LayerwiseError(f"search space file {path} is not valid TOML: {e}") from None
        unknown = set(doc) - {"grid", "random", "settings"}
        if unknown or not all(isinstance(doc.get(k, {}), dict) for k in ("grid", "random", "settings")):
            raise LayerwiseError(f"{path}: expected only the tables [grid], [random] and [settings]")
        random = dict(doc.get("random", {}))
        trials = random.pop("trials", None)
        if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
            raise LayerwiseError(f"{path}: trials must be a positive integer")
        items = lambda table: [f"{k}={_toml_text(v)}" for k, v in table.items()]  # noqa: E731
        space = cls.parse(items(doc.get("grid", {})), items(random), trials)
        return space, dict(doc.get("settings", {}))

    def trials_settings(self, seed):
        """The settings (a dict per trial) in a fixed order: the grid's product, in the
        order the settings were given, crossed with the random draws."""
        names = list(self.grid)
        combos = [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]
        if not self.random:
            return combos
        rng = np.random.default_rng([int(seed), 7919])
        draws = []
        for _ in range(self.trials):
            draw = {}
            for name, spec in self.random.items():
                if isinstance(spec, tuple):
                    kind, a, b = spec
                    if kind == "uniform":
                        draw[name] = float(rng.uniform(a, b))
                    elif kind == "loguniform":
                        draw[name] = float(np.exp(rng.uniform(np.log(a), np.log(b))))
                    else:
                        draw[name] = int(rng.integers(int(a), int(b) + 1))
                else:
                    draw[name] = spec[int(rng.integers(len(spec)))]
            draws.append(draw)
        return [{**c, **d} for c in combos for d in draws]

    def to_dict(self):
        return {"grid": _plain(self.grid), "random": _plain(self.random), "trials": self.trials}


def _toml_text(value):
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _plain(d):
    return json.loads(json.dumps(d, default=list))


# --- one trial -------------------------------------------------------------------------------


def trial_seed(seed, settings):
    """A trial's seed from the search seed and its settings (not its position), so a trial
    gets the same seed whatever the order, backend or resumption."""
    key = json.dumps(_plain(settings), sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(key + str(seed).encode()).digest()[:4], "little")


def stratified_folds(y, k, seed):
    """k lists of validation indices, each class dealt evenly across the folds."""
    rng = np.random.default_rng(seed)
    folds = [[] for _ in range(k)]
    offset = 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        for j, i in enumerate(members):
            folds[(offset + j) % k].append(i)
        offset += len(members)
    return [np.sort(np.array(f, dtype=np.intp)) for f in folds]


def train(settings, X, y, n_classes, seed):
    """One network trained with ``settings`` from ``seed``."""
    net = settings.network(X.shape[1], n_classes, seed)
    optimizer = settings.make_optimizer()
    fit(
        net,
        X,
        y,
        optimizer=optimizer,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        l2=settings.l2,
        seed=seed,
    )
    return net


def train_and_score(settings, X, y, Xv, yv, n_classes, seed):
    """Trains one network; returns (net, validation loss without the L2 term, accuracy)."""
    net = train(settings, X, y, n_classes, seed)
    loss, accuracy = net.evaluate(Xv, yv)
    return net, loss, accuracy


def run_trial(task, data):
    """One trial (a module-level function, for worker processes). ``task`` is
    (index, base settings, searched settings, seed, cv); ``data`` the prepared Dataset."""
    index, base, searched, seed, cv = task
    settings = replace(base, **searched)
    started = time.perf_counter()
    record = {"trial": index, "settings": _plain(searched), "seed": seed}
    if cv:
        X = np.concatenate([data.X_train, data.X_valid])
        y = np.concatenate([data.y_train, data.y_valid])
        scores = []
        for fold in stratified_folds(y, cv, seed):
            keep = np.ones(len(y), bool)
            keep[fold] = False
            _, loss, accuracy = train_and_score(
                settings, X[keep], y[keep], X[fold], y[fold], data.n_classes, seed
            )
            scores.append((loss, accuracy))
        record["fold_accuracy"] = [a for _, a in scores]
        record["val_loss"] = float(np.mean([s for s, _ in scores]))
        record["val_accuracy"] = float(np.mean(record["fold_accuracy"]))
    else:
        net, record["val_loss"], record["val_accuracy"] = train_and_score(
            settings, data.X_train, data.y_train, data.X_valid, data.y_valid, data.n_classes, seed
        )
        record["weights"] = net.get_weights()  # the parent keeps the best trial's network
    record["seconds"] = time.perf_counter() - started
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    record["status"] = "ok"
    return record


# --- the trials file -------------------------------------------------------------------------


def read_trials(path):
    """The complete lines of a trials.jsonl; a last line cut short by a crash is dropped
    (and cut from the file, so appending continues cleanly). A damaged line is an error."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LayerwiseError(f"cannot read {path}: {e.strerror or e}") from None
    records, good = [], 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        records.append(_trial_record(line, path, len(records) + 1))
        good += len(line)
    if good < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good)
    return records


def _trial_record(line, path, number):
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        record = None
    if not (
        isinstance(record, dict)
        and type(record.get("trial")) is int
        and record["trial"] >= 0
        and isinstance(record.get("status"), str)
    ):
        raise LayerwiseError(f"{path} has a damaged line {number}: cannot resume from it")
    return record


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def append_trial(path, record):
    """Appends one record as one line, flushed and synced before returning."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    with open(path, "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


# --- the search ------------------------------------------------------------------------------


def rank(records):
    """Finished trials, best first: validation accuracy, then lower loss, then trial order."""
    ok = [r for r in records if r.get("status") == "ok"]
    return sorted(ok, key=lambda r: (-r["val_accuracy"], r["val_loss"], r["trial"]))


def search(data, space, settings=None, *, seed=0, cv=None, pool=None, out=None, resume=False, on_trial=None,
           during_refit=None):  # fmt: skip
    """Runs every trial of ``space`` not already in ``out``/trials.jsonl, then retrains the
    best settings on all training data and scores the test set.

    ``data``: a Dataset with train, validation and test parts (prepared: scaled as wanted).
    ``pool``: an open backend from backends.py (a TaskPool or DaskPool inside its ``with``
    block); None runs the trials in this process. ``on_trial(record)`` is called as each
    trial finishes; ``during_refit(result)`` runs here while a worker retrains the best
    settings, with the result so far (the command draws its figures then).
    Returns a dict with ``trials`` (every record, in trial order), ``ranking``, ``best``,
    ``failed``, ``test_accuracy`` and the retrained ``net``.
    """
    from .backends import TaskPool

    settings = (settings or Settings()).validate()
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise LayerwiseError(f"--cv needs at least 2 folds, not {cv}")
    combos = space.trials_settings(seed)
    for combo in combos:
        replace(settings, **combo).validate()
    tasks = [(i, settings, combo, trial_seed(seed, combo), cv) for i, combo in enumerate(combos)]
    trials_path = Path(out) / "trials.jsonl" if out is not None else None
    if trials_path is not None:
        trials_path.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if trials_path is not None and resume:
        for record in read_trials(trials_path):
            if record["status"] == "ok" and all(
                _is_number(record.get(k)) for k in ("val_loss", "val_accuracy")
            ):
                done[record["trial"]] = record
    # Longest first, so that no long trial is left running alone at the end.
    todo = sorted(
        (t for t in tasks if t[0] not in done), key=lambda t: -_cost(replace(settings, **t[2]), data)
    )

    best_weights = {}  # the network of the best trial so far, held-out selection only

    def finished(i, record):
        if isinstance(record, BaseException):
            task = todo[i]
            record = {
                "trial": task[0],
                "settings": _plain(task[2]),
                "seed": task[3],
                "status": "failed",
                "error": f"{type(record).__name__}: {record}",
            }
        weights = record.pop("weights", None)
        if weights is not None and (not best_weights or rank([record, best_weights["record"]])[0] is record):
            best_weights.update(record=record, weights=weights)
        if trials_path is not None:
            append_trial(trials_path, record)
        done[record["trial"]] = record
        if on_trial:
            on_trial(record)

    with TaskPool(1) if pool is None else nullcontext(pool) as backend:
        backend.map(run_trial, todo, on_done=finished, shared=data, errors="return")
        result = _select_and_refit(data, tasks, done, settings, space, seed, cv, backend, during_refit,
                                   best_weights)  # fmt: skip
    return result


def _select_and_refit(data, tasks, done, settings, space, seed, cv, backend, during_refit, best_weights):
    records = [done[t[0]] for t in tasks]
    ranking = rank(records)
    failed = [r for r in records if r.get("status") != "ok"]
    result = {
        "trials": records,
        "ranking": ranking,
        "failed": failed,
        "settings": settings,
        "space": space,
        "seed": seed,
        "cv": cv,
    }
    if not ranking:
        raise LayerwiseError(
            f"every one of the {len(records)} trials failed; the first: {failed[0]['error']}"
        )
    best = ranking[0]
    final = replace(settings, **tasks[best["trial"]][2])
    result.update(best=best, best_settings=final)
    if best_weights.get("record") is best:  # its network is here: no need to train it again
        net = final.network(data.X_train.shape[1], data.n_classes, best["seed"])
        net.set_weights(best_weights["weights"])
        if during_refit:
            during_refit(result)
    else:
        refit = backend.submit(refit_task, (final, best["seed"], cv), shared=data)
        if during_refit:
            during_refit(result)
        net = refit.result()
    result.update(
        net=net,
        test_accuracy=accuracy(data.y_test, net.predict(data.X_test)),
    )
    return result


def _cost(settings, data):
    """A trial's rough cost: multiply-adds per example times examples seen."""
    sizes = [data.X_train.shape[1], *settings.hidden, data.n_classes]
    return sum(a * b for a, b in zip(sizes, sizes[1:])) * settings.epochs * len(data.X_train)


def refit_task(task, data):
    """The best settings trained again: after cross-validation, like scikit-learn's refit,
    on every non-test example; after a validation split, on the training split with the
    trial's seed, which gives the trial's own network (used when a resumed search no
    longer holds it)."""
    settings, seed, cv = task
    if not cv:
        return train(settings, data.X_train, data.y_train, data.n_classes, seed)
    X, y = np.concatenate([data.X_train, data.X_valid]), np.concatenate([data.y_train, data.y_valid])
    return train(settings, X, y, data.n_classes, seed)


def settings_from(options, names=None):
    """Settings from a mapping of fixed settings (TOML [settings] or command-line values)."""
    known = {f.name for f in fields(Settings)}
    unknown = set(options) - known
    if unknown:
        raise LayerwiseError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = dict(options)
    if "hidden" in values and not isinstance(values["hidden"], tuple):
        values["hidden"] = hidden_sizes(str(values["hidden"]).replace(" ", ""))
    return Settings(**values)
