"""Hyperparameter search: the tutorial's choice of lambda, generalised.

A search space (space.py) maps training settings to the values to try: a grid (every
combination) or seeded random draws. Every trial (trial.py) trains one network from its
own seed on the training split and scores it on the validation split (or by k-fold
cross-validation); the best settings are retrained and scored on the test set.

Trials run on a backend from experiments/backends.py (local processes, or a Dask cluster)
and each finished trial is appended to ``trials.jsonl`` in the run directory (trials.py),
so a search that is stopped can be resumed where it stopped. A new search creates that
file, so that of two searches started in the same folder the second is refused; a search
stopped by a file it cannot write (a full disk) keeps it intact and says how to resume.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import LayerwiseError
from ...io.atomic import write_failure, writing
from ...nn.config import DEFAULTS
from ...nn.layer_spec import multiply_adds
from ...nn.metrics import accuracy
from ..backends import TaskPool
from .space import Space, plain
from .trial import image_shape, refit_task, run_trial, stratified_folds, trial_seed
from .trials import TRIALS_FILENAME, append_trial, finished_trials, new_trials, rank, read_trials, resume_note

__all__ = ["Space", "check", "rank", "read_trials", "search", "stratified_folds", "trial_seed"]


@dataclass
class _Progress:
    """The trials finished so far, and the best one's network while it is held."""

    trials_path: Path | None
    todo: list
    on_trial: object
    done: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)

    def finished(self, i, record):
        if isinstance(record, BaseException):
            index, _, searched, seed, _ = self.todo[i]
            record = {"trial": index, "settings": plain(searched), "seed": seed, "status": "failed",
                      "error": f"{type(record).__name__}: {record}"}  # fmt: skip
        weights = record.pop("weights", None)
        if weights is not None and (not self.best or rank([record, self.best["record"]])[0] is record):
            self.best.update(record=record, weights=weights)
        if self.trials_path is not None:
            append_trial(self.trials_path, record)
        self.done[record["trial"]] = record
        if self.on_trial:
            self.on_trial(record)


def search(data, space, config=None, *, seed=0, cv=None, pool=None, out=None, resume=False, on_trial=None,
           during_refit=None):  # fmt: skip
    """Runs every trial of ``space`` not already in ``out``/trials.jsonl, then retrains the
    best settings on all training data and scores the test set.

    ``data``: a Dataset with train, validation and test parts (prepared: scaled as wanted).
    ``config``: the TrainConfig of the settings that are not searched (default: the defaults).
    ``pool``: an open backend from backends.py (a TaskPool or DaskPool inside its ``with``
    block); None runs the trials in this process. ``on_trial(record)`` is called as each
    trial finishes; ``during_refit(result)`` runs here while a worker retrains the best
    settings, with the result so far (the command draws its figures then).
    Returns a dict with ``trials`` (every record, in trial order), ``ranking``, ``best``,
    ``failed``, ``test_accuracy`` and the retrained ``net``.
    """
    config = config or DEFAULTS
    combos = check(space, config, cv, seed, data)
    tasks = [(i, config, combo, trial_seed(seed, combo), cv) for i, combo in enumerate(combos)]
    trials_path = Path(out) / TRIALS_FILENAME if out is not None else None
    if trials_path is not None:
        _start_trials(trials_path, resume)
    done = finished_trials(trials_path) if trials_path is not None and resume else {}
    # Longest first, so that no long trial is left running alone at the end.
    todo = sorted((t for t in tasks if t[0] not in done), key=lambda t: -_cost(config.replace(**t[2]), data))
    progress = _Progress(trials_path, todo, on_trial, done)
    try:
        with TaskPool(1) if pool is None else nullcontext(pool) as backend:
            backend.map(run_trial, todo, on_done=progress.finished, shared=data, errors="return")
            records = [done[t[0]] for t in tasks]
            failed = [r for r in records if r.get("status") != "ok"]
            result = {"trials": records, "ranking": rank(records), "failed": failed, "settings": config,
                      "space": space, "seed": seed, "cv": cv}  # fmt: skip
            _select_and_refit(result, data, tasks, backend, during_refit, progress.best)
    except BaseException as error:
        # A file that cannot be written (a trial's line, a figure drawn during the refit):
        # one line naming it; trials.jsonl keeps the trials finished so far, intact.
        failure = None if out is None else write_failure(error, out)
        if failure is None:
            raise
        raise failure.noted(resume_note(out)) from None
    return result


def _start_trials(path, resume):
    """The trials file of a search: a new search creates it, and is refused when another
    search in the same folder has (it started first); a resumed one goes on with it."""
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    if not resume and not new_trials(path):
        raise LayerwiseError(
            f"output directory {path.parent} already exists and is not empty (use --resume to continue)"
        )


def check(space, config, cv=None, seed=0, data=None):
    """Checks a search before any work: the folds, and every trial's settings; with
    ``data``, that every spec of layers fits them (images where it has image layers, no
    window larger than its input). Returns the trials' settings."""
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise LayerwiseError(f"--cv needs at least 2 folds, not {cv}")
    combos = space.trials_settings(seed)
    configs = [config.replace(**combo) for combo in combos]
    if cv and any(c.early_stopping for c in configs):
        raise LayerwiseError(
            "early stopping needs a validation set, which the refit on every example after --cv has not"
        )
    if data is not None:
        for layers in dict.fromkeys(c.layers for c in configs if c.layers):
            multiply_adds(layers, data.X_train.shape[1], data.n_classes, image_shape(data))
    return combos


def _select_and_refit(result, data, tasks, backend, during_refit, best_weights):
    if not result["ranking"]:
        first = result["failed"][0]["error"]
        raise LayerwiseError(f"every one of the {len(result['trials'])} trials failed; the first: {first}")
    best = result["ranking"][0]
    final = result["settings"].replace(**tasks[best["trial"]][2])
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


def _cost(config, data):
    """A trial's rough cost: multiply-adds per example times examples seen."""
    n_features = data.X_train.shape[1]
    if config.layers:
        per_example = multiply_adds(config.layers, n_features, data.n_classes, image_shape(data))
    else:
        sizes = config.sizes(n_features, data.n_classes)
        per_example = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return per_example * config.epochs * len(data.X_train)
