"""Hyperparameter search: the tutorial's choice of lambda, generalised.

A search space (space.py) maps training settings to the values to try: a grid (every
combination) or seeded random draws. A strategy (strategy.py) says how the epochs are
spent: every candidate trained to the end (grid, random); successive halving and
Hyperband (halving.py: rungs of candidates, the best continued from their checkpoints);
or an Optuna study (optuna_study.py: a sampler that learns from the trials, a pruner that
stops bad ones). Every trial (trial.py) trains one network from its own seed on the
training split and scores it on the validation split (or by k-fold cross-validation);
the best settings are retrained and scored on the test set.

Trials run on a backend from experiments/backends.py (local processes, or a Dask cluster)
and each finished trial (or rung) is appended to ``trials.jsonl`` in the run directory
(trials.py), so a search that is stopped can be resumed where it stopped. A new search
creates that file, so that of two searches started in the same folder the second is
refused; a search stopped by a file it cannot write (a full disk) keeps it intact and says
how to resume.
"""

import tempfile
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import LayerwiseError
from ...io.atomic import write_failure, writing
from ...nn.config import DEFAULTS
from ...nn.layer_spec import multiply_adds
from ...nn.metrics import accuracy
from ..backends import TaskPool
from . import halving
from .space import Space, plain
from .strategy import Strategy
from .tracking import Tracking, parent_run
from .trial import cost, image_shape, refit_task, run_trial, stratified_folds, trial_seed
from .trials import (
    TRIALS_FILENAME,
    append_trial,
    finished_rungs,
    finished_trials,
    new_trials,
    rank,
    read_trials,
    resume_note,
    total_epochs,
)

__all__ = ["Space", "Strategy", "check", "rank", "read_trials", "search", "stratified_folds", "trial_seed"]


@dataclass
class _Progress:
    """Records each finished trial (or rung): appends it to the trials file, calls
    ``on_trial``, and keeps the network of the best one at the full budget while held."""

    trials_path: Path | None
    on_trial: object
    best: dict = field(default_factory=dict)

    def finished(self, record):
        weights = record.pop("weights", None)
        if weights is not None and (not self.best or rank([record, self.best["record"]])[0] is record):
            self.best.update(record=record, weights=weights)
        if self.trials_path is not None:
            append_trial(self.trials_path, record)
        if self.on_trial:
            self.on_trial(record)


def search(data, space, config=None, *, seed=0, cv=None, pool=None, out=None, resume=False, on_trial=None,
           during_refit=None, strategy=None, eta=None, min_epochs=None, max_epochs=None, sampler=None,
           pruner=None, tracking=None):  # fmt: skip
    """Runs the trials of ``space`` not already in ``out``/trials.jsonl, as ``strategy``
    says, then scores the best settings on the test set (their network, or one retrained).

    ``data``: a Dataset with train, validation and test parts (prepared: scaled as wanted).
    ``config``: the TrainConfig of the settings that are not searched (default: the defaults).
    ``strategy``: "grid" or "random" (every candidate to the end; the default is the one
    the space is), "halving" or "hyperband", with ``eta``, ``min_epochs`` and
    ``max_epochs``; ``sampler`` ("tpe", "random", "grid") or ``pruner`` ("none",
    "median", "hyperband") make it an Optuna study (a Strategy is taken as it is).
    ``pool``: an open backend from backends.py (a TaskPool or DaskPool inside its ``with``
    block); None runs the trials in this process. ``on_trial(record)`` is called as each
    trial (or rung) finishes; ``during_refit(result)`` runs here while a worker retrains
    the best settings, with the result so far (the command draws its figures then).
    ``tracking``: a Tracking (tracking.py) that gives each trial its TensorBoard folder
    and MLflow child run; None: the one ``config``'s ``tensorboard`` and ``mlflow`` ask
    for (none without them). A search that starts the parent run ends it, unless the
    Tracking says ``keep_open``.
    Returns a dict with ``trials`` (every record, in trial order: a candidate's last rung
    for halving), ``rungs`` (halving: every rung's record), ``ranking``, ``best``,
    ``failed``, ``pruned``, ``total_epochs``, ``strategy``, ``test_accuracy`` and the
    retrained ``net``.
    """
    config = config or DEFAULTS
    if not isinstance(strategy, Strategy):
        strategy = Strategy.of(strategy, eta=eta, min_epochs=min_epochs, max_epochs=max_epochs,
                               sampler=sampler, pruner=pruner)  # fmt: skip
    strategy = strategy.check(space, config, cv)
    if strategy.max_epochs is not None:
        config = config.replace(epochs=strategy.max_epochs)  # every trial's full budget
    check(space, config, cv, seed, data, strategy)
    trials_path = Path(out) / TRIALS_FILENAME if out is not None else None
    if trials_path is not None:
        _start_trials(trials_path, resume)
    progress = _Progress(trials_path, on_trial)
    result = {"settings": config, "space": space, "seed": seed, "cv": cv, "strategy": strategy}
    scratch = tempfile.TemporaryDirectory() if out is None and strategy.halving else nullcontext()
    tracking = Tracking.of(config) if tracking is None else tracking
    owned = tracking is not None and not tracking.started and not tracking.keep_open
    try:
        with scratch as folder, TaskPool(1) if pool is None else nullcontext(pool) as backend:
            folder = folder or out
            if tracking is not None:
                recorded = read_trials(trials_path) if trials_path is not None and resume else []
                tracking.start(config, strategy, space, parent_run(recorded))
            callbacks = tracking.trials if tracking is not None else None
            if strategy.halving:
                done = finished_rungs(trials_path) if trials_path is not None and resume else {}
                records, rungs = halving.run(data, space, config, strategy, seed, backend, folder, done,
                                             progress.finished, callbacks)  # fmt: skip
                result["rungs"] = rungs
            elif strategy.optuna:
                from . import optuna_study

                records = optuna_study.run(data, space, config, strategy, seed, cv, backend, out, resume,
                                           progress.finished, tracking)  # fmt: skip
            else:
                records = _exhaustive(data, space, config, seed, cv, backend, trials_path, resume, progress,
                                      callbacks)  # fmt: skip
            failed = [r for r in records if r.get("status") not in ("ok", "pruned")]
            result.update(trials=records, ranking=rank(records), failed=failed,
                          pruned=[r for r in records if r.get("status") == "pruned"],
                          total_epochs=total_epochs(result.get("rungs", records)))  # fmt: skip
            _select_and_refit(result, data, backend, during_refit, progress.best)
            if strategy.halving:
                halving.remove_checkpoints(folder)
            if tracking is not None:
                tracking.log_result(result)
            if owned:
                tracking.end()
    except BaseException as error:
        if owned:
            with suppress(LayerwiseError):  # the error that stopped the search is the one to see
                tracking.end("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        # A file that cannot be written (a trial's line, a figure drawn during the refit):
        # one line naming it; trials.jsonl keeps the trials finished so far, intact.
        failure = None if out is None else write_failure(error, out)
        if failure is None:
            raise
        raise failure.noted(resume_note(out)) from None
    return result


def _exhaustive(data, space, config, seed, cv, backend, trials_path, resume, progress, callbacks):
    """Every trial of the space trained to the end (grid, random draws); those in the
    trials file already are not run again. ``callbacks``: the trials' trackers, or None."""
    combos = space.trials_settings(seed)
    tasks = [(i, config, combo, trial_seed(seed, combo), cv, callbacks) for i, combo in enumerate(combos)]
    done = finished_trials(trials_path) if trials_path is not None and resume else {}
    # Longest first, so that no long trial is left running alone at the end.
    todo = sorted((t for t in tasks if t[0] not in done), key=lambda t: -cost(config.replace(**t[2]), data))

    def finished(i, record):
        if isinstance(record, BaseException):
            index, _, searched, trial_seed_, *_ = todo[i]
            record = {"trial": index, "settings": plain(searched), "seed": trial_seed_, "status": "failed",
                      "error": f"{type(record).__name__}: {record}"}  # fmt: skip
        progress.finished(record)
        done[record["trial"]] = record

    backend.map(run_trial, todo, on_done=finished, shared=data, errors="return")
    return [done[t[0]] for t in tasks]


def _start_trials(path, resume):
    """The trials file of a search: a new search creates it, and is refused when another
    search in the same folder has (it started first); a resumed one goes on with it."""
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    if not resume and not new_trials(path):
        raise LayerwiseError(
            f"output directory {path.parent} already exists and is not empty (use --resume to continue)"
        )


def check(space, config, cv=None, seed=0, data=None, strategy=None):
    """Checks a search before any work: the folds, the strategy, and every candidate's
    settings (an Optuna study's: every value of each setting); with ``data``, that every
    spec of layers fits them (images where it has image layers, no window larger than its
    input). Returns the candidates' settings (an Optuna study's: those of its grid, or [])."""
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise LayerwiseError(f"--cv needs at least 2 folds, not {cv}")
    strategy = (strategy or Strategy.of()).check(space, config, cv)
    if strategy.max_epochs is not None:
        config = config.replace(epochs=strategy.max_epochs)
    if strategy.halving:
        combos = list(halving.plan(space, strategy, seed)[1].values())
    elif strategy.optuna:
        combos = [{name: value} for name, values in {**space.grid, **space.random}.items()
                  for value in _values(values)]  # fmt: skip
    else:
        combos = space.trials_settings(seed)
    configs = [config.replace(**combo) for combo in combos]
    if cv and any(c.early_stopping for c in configs + [config]):
        raise LayerwiseError(
            "early stopping needs a validation set, which the refit on every example after --cv has not"
        )
    if data is not None:
        for layers in dict.fromkeys(c.layers for c in configs + [config] if c.layers):
            multiply_adds(layers, data.X_train.shape[1], data.n_classes, image_shape(data))
    return combos


def _values(spec):
    """A setting's values to check: a list's, or a distribution's two ends."""
    if not isinstance(spec, tuple):
        return spec
    kind, a, b = spec
    return [int(a), int(b)] if kind == "randint" else [a, b]


def _select_and_refit(result, data, backend, during_refit, best_weights):
    if not result["ranking"]:
        if not result["failed"]:
            raise LayerwiseError(f"every one of the {len(result['trials'])} trials was pruned")
        first = result["failed"][0]["error"]
        raise LayerwiseError(f"every one of the {len(result['trials'])} trials failed; the first: {first}")
    best = result["ranking"][0]
    final = result["settings"].replace(**best["settings"])
    result.update(best=best, best_settings=final)
    if best_weights.get("record") is best:  # its network is here: no need to train it again
        net = final.network(
            data.X_train.shape[1], data.n_classes, best["seed"], image_shape=image_shape(data)
        )
        net.set_weights(best_weights["weights"])
        if during_refit:
            during_refit(result)
    else:
        refit = backend.submit(refit_task, (final, best["seed"], result["cv"]), shared=data)
        if during_refit:
            during_refit(result)
        net = refit.result()
    result.update(net=net, test_accuracy=accuracy(data.y_test, net.predict(data.X_test)))
