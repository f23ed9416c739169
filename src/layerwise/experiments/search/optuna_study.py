"""An Optuna study as a search: a sampler (TPE, random, or the points of a grid) that
picks each trial's settings from the space, and a pruner (median, Hyperband) fed each
epoch's validation accuracy. Optuna is imported here only (``pip install
'layerwise[optuna]'``).

The study lives in ``study.db`` (SQLite) in the run directory, so that
``optuna-dashboard sqlite:///RUN/study.db`` opens it and ``--resume`` continues it.
This process is its only writer (ask and tell): trials run in rounds of as many trials
as there are workers; each round's trials are asked together, each with a copy of the
trials finished before the round, on which the worker's pruner decides after each epoch
(a pruner compares a trial with finished ones). Workers need Optuna but no access to the
study's file, so a remote Dask cluster runs them too; and since a trial's settings (the
sampler is seeded from the search's seed and the trial's number) and its pruning depend
only on the trials before its round, a study comes out the same on any backend with the
same number of workers, and a resumed study goes on as it would have. A trial left
running by a stopped search is run again, with the same number and settings.
"""

import datetime
import os
import socket
import time
from pathlib import Path

import numpy as np

from ...errors import LayerwiseError
from ...io.atomic import writing
from ...nn import Callback
from ...nn.config import parse_setting
from .space import plain
from .tracking import tracked
from .trial import image_shape, run_trial, train, trial_seed
from .trials import TRIALS_FILENAME, read_trials

STUDY_FILENAME = "study.db"
STUDY_NAME = "layerwise"
MEDIAN_STARTUP = 5  # finished trials before the median pruner prunes (Optuna's default)


def import_optuna():
    """The optuna module, quiet (warnings and errors only), or one line naming the extra."""
    try:
        import optuna
    except ImportError:
        raise LayerwiseError("Optuna is not installed: pip install 'layerwise[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(space):
    """Optuna's distribution of each searched setting: ``uniform(a,b)`` a
    FloatDistribution, ``loguniform(a,b)`` one with ``log=True``, ``randint(a,b)`` an
    IntDistribution (a and b included, as ours); a list of values, random or a grid's, a
    CategoricalDistribution of them (``hidden`` sizes and specs of ``layers`` as their
    text: "48,32", "none")."""
    import_optuna()
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, values in {**space.grid, **space.random}.items():
        if isinstance(values, tuple):
            kind, a, b = values
            if kind == "randint":
                out[name] = IntDistribution(int(a), int(b))
            else:
                out[name] = FloatDistribution(a, b, log=kind == "loguniform")
        else:
            out[name] = CategoricalDistribution(list(dict.fromkeys(choice(name, v) for v in values)))
    return out


def choice(name, value):
    """A setting's value as an Optuna choice: hidden sizes and specs of layers as text."""
    if name == "hidden":
        return value if value == "auto" else ",".join(map(str, value)) or "none"
    if name == "layers":
        return "none" if value is None else value
    return value


def settings_of(params):
    """A trial's settings from its Optuna parameters (``choice`` read back)."""
    return {name: parse_setting(name, v) if name in ("hidden", "layers") else v for name, v in params.items()}


def _sampler(optuna, kind, seed, number, trials):
    """The sampler of trial ``number``, seeded from the search's seed and the number, so
    that a trial's settings do not depend on what ran in this process before."""
    derived = int(np.random.SeedSequence([int(seed), 104729, int(number)]).generate_state(1)[0])
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=derived, n_startup_trials=startup_trials(trials))
    return optuna.samplers.RandomSampler(seed=derived)  # grid: the grid's point is enqueued


def startup_trials(trials):
    """TPE's random trials before it models the finished ones: Optuna's 10, or a third of
    a smaller study (at least 2), so that a short study is not only random."""
    return max(2, min(10, trials // 3))


def _storage(optuna, out):
    if out is None:
        return optuna.storages.InMemoryStorage()
    path = (Path(out) / STUDY_FILENAME).resolve()
    with writing(path):
        return optuna.storages.RDBStorage(f"sqlite:///{path}")


def run(data, space, config, strategy, seed, cv, backend, out, resume, finished, tracking=None):
    """Runs the study to ``strategy.trials`` finished trials (completed, pruned or
    failed), in rounds of as many trials as the backend has workers; ``finished(record)``
    records each trial as it ends. Returns every trial's record, in trial order."""
    optuna = import_optuna()
    from optuna.trial import TrialState

    storage = _storage(optuna, out)
    with writing(Path(out or ".") / STUDY_FILENAME):
        study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize",
                                    load_if_exists=resume)  # fmt: skip
    study_id = storage.get_study_id_from_name(STUDY_NAME)
    dists = distributions(space)
    grid = space.trials_settings(seed) if strategy.sampler == "grid" else None
    records = {}
    logged = {r["trial"] for r in read_trials(Path(out) / TRIALS_FILENAME)} if out is not None else set()
    for t in study.get_trials(deepcopy=False):
        if t.state.is_finished() and "record" in t.user_attrs:
            records[t.number] = dict(t.user_attrs["record"])
            if t.number not in logged:  # told, but stopped before its line was written
                finished(records[t.number])
    callbacks = tracking.trials if tracking is not None else None
    rounds = max(1, backend.jobs)
    while True:
        trials = study.get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if running:  # left by a stopped search: run again, with the trials before their round
            start = min(t.user_attrs.get("round", t.number) for t in running)
            batch = [(t.number, t.params) for t in running]
        else:
            left = strategy.trials - sum(t.state.is_finished() for t in trials)
            if left <= 0:
                break
            start, batch = len(trials), []
            for number in range(start, start + min(rounds, left)):
                study.sampler = _sampler(optuna, strategy.sampler, seed, number, strategy.trials)
                if grid is not None:
                    study.enqueue_trial({n: choice(n, v) for n, v in grid[number].items()})
                trial = study.ask(dists)
                trial.set_user_attr("round", start)
                batch.append((trial.number, trial.params))
        snapshot = None
        if strategy.pruner != "none":
            snapshot = [
                t for t in study.get_trials(deepcopy=True) if t.number < start and t.state.is_finished()
            ]
        tasks = []
        for number, params in batch:
            settings = settings_of(params)
            pruning = None if snapshot is None else (strategy.to_dict(), snapshot, params, dists)
            tasks.append((number, config, settings, trial_seed(seed, settings), cv, pruning, callbacks))

        def told(i, record, tasks=tasks):
            number, _, settings, trial_seed_, *_ = tasks[i]
            if isinstance(record, BaseException):
                record = {"trial": number, "settings": plain(settings), "seed": trial_seed_,
                          "status": "failed", "error": f"{type(record).__name__}: {record}"}  # fmt: skip
            _tell(study, storage, study_id, record, TrialState)
            records[number] = record
            finished(record)

        backend.map(run_optuna_trial, tasks, on_done=told, shared=data, errors="return")
    return [records[n] for n in sorted(records)]


def _tell(study, storage, study_id, record, TrialState):
    """Puts a trial's outcome in the study: its epochs' scores, what the pruner noted, the
    record (for a resumed search), then its state and value."""
    number = record["trial"]
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    extra = record.pop("optuna", {})
    for step, value in extra.get("intermediate", []):
        storage.set_trial_intermediate_value(trial_id, step, value)
    for key, value in extra.get("system_attrs", {}).items():
        storage.set_trial_system_attr(trial_id, key, value)
    storage.set_trial_user_attr(trial_id, "record", {k: v for k, v in record.items() if k != "weights"})
    if record["status"] == "ok":
        study.tell(number, record["val_accuracy"])
    else:
        study.tell(number, state=TrialState.PRUNED if record["status"] == "pruned" else TrialState.FAIL)


def run_optuna_trial(task, data):
    """One trial of the study (a module-level function, for workers): trained as any
    trial, with each epoch's validation accuracy kept for the study and, with a pruner,
    shown to it, which may stop the trial. ``task`` is (number, base TrainConfig,
    settings, seed, cv, pruning, callbacks); ``pruning`` is None or (the strategy's dict,
    the finished trials before this one's round, its parameters, the distributions)."""
    number, base, searched, seed, cv, pruning, callbacks = task
    if cv:
        return run_trial((number, base, searched, seed, cv, callbacks), data)
    started = time.perf_counter()
    config = base.replace(**searched)
    watch = _Pruning(number, pruning)
    extra = [watch, *(callbacks(number, searched) if callbacks else [])]
    validation = (data.X_valid, data.y_valid)
    X, y = data.X_train, data.y_train
    net, history = train(config, X, y, data.n_classes, seed, validation, image_shape(data), extra)
    record = {"trial": number, "settings": plain(searched), "seed": seed, "epochs": history.epochs}
    record["val_loss"], record["val_accuracy"] = net.evaluate(data.X_valid, data.y_valid)
    record["seconds"] = time.perf_counter() - started
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    record["status"] = "pruned" if watch.pruned else "ok"
    if not watch.pruned:
        record["weights"] = net.get_weights()
    record["optuna"] = {"intermediate": sorted(watch.values.items()), "system_attrs": watch.system_attrs}
    return tracked(record, extra)


def _pruner(optuna, strategy):
    if strategy["pruner"] == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=MEDIAN_STARTUP, n_warmup_steps=strategy["min_epochs"]
        )
    return optuna.pruners.HyperbandPruner(
        min_resource=strategy["min_epochs"], max_resource=strategy["max_epochs"],
        reduction_factor=strategy["eta"],
    )  # fmt: skip


class _Pruning(Callback):
    """Keeps each epoch's validation accuracy (step = epochs trained) and, with a pruner,
    asks it after each epoch whether to stop, on an in-memory study holding the trials
    finished before this trial's round and this trial."""

    def __init__(self, number, pruning):
        self.number, self.pruning = number, pruning
        self.values, self.pruned, self.system_attrs = {}, False, {}
        self.study = None

    def on_train_begin(self, net, history):
        if self.pruning is None:
            return
        optuna = import_optuna()
        from optuna.trial import FrozenTrial, TrialState

        strategy, snapshot, params, dists = self.pruning
        self.storage = optuna.storages.InMemoryStorage()
        self.study = optuna.create_study(storage=self.storage, study_name=STUDY_NAME, direction="maximize",
                                         pruner=_pruner(optuna, strategy))  # fmt: skip
        now = datetime.datetime.now()
        before = {t.number: t for t in snapshot}

        def running(number, params=None):
            return FrozenTrial(number=number, state=TrialState.RUNNING, value=None, datetime_start=now,
                               datetime_complete=None, params=params or {},
                               distributions={n: dists[n] for n in params or {}}, user_attrs={},
                               system_attrs={}, intermediate_values={}, trial_id=0)  # fmt: skip

        # numbered as in the study: the trials of this round before this one are running
        self.study.add_trials([before.get(n) or running(n) for n in range(self.number)])
        self.study.add_trial(running(self.number, params))
        study_id = self.storage.get_study_id_from_name(STUDY_NAME)
        self.trial_id = self.storage.get_trial_id_from_study_id_trial_number(study_id, self.number)

    def on_epoch_end(self, epoch, logs):
        step = epoch + 1
        self.values[step] = logs["val_accuracy"]
        if self.study is None:
            return False
        self.storage.set_trial_intermediate_value(self.trial_id, step, logs["val_accuracy"])
        trial = self.storage.get_trial(self.trial_id)
        self.pruned = bool(self.study.pruner.prune(self.study, trial))
        self.system_attrs = dict(self.storage.get_trial(self.trial_id).system_attrs)
        return self.pruned
