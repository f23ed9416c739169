"""Successive halving and Hyperband: candidates trained rung by rung, the best 1/eta of
each rung continued from their state (strategy.py has the schedules).

Every candidate has a checkpoint file, ``candidates/<id>.safetensors`` in the run
directory (the format of io/checkpoint.py: weights, optimizer state, generators, early
stopping), which any worker can continue; a candidate that is not kept has its file
removed, and the folder goes at the end of the search. Each finished rung is one line of
``trials.jsonl`` (candidate, rung, epochs trained so far, score), so that a stopped search
resumes where it was: the rungs already recorded are not trained again, and the
selections, which depend only on those records, come out the same.
"""

from dataclasses import dataclass
from pathlib import Path

from ...io.atomic import writing
from .space import plain
from .trial import Rung, cost, run_rung, trial_seed
from .trials import rank

CANDIDATES_FOLDER = "candidates"


@dataclass
class Bracket:
    """A bracket: its candidates (ids), the epochs of each rung, and how many candidates
    each rung trains. ``index`` is None for successive halving (one bracket)."""

    index: int | None
    ids: list
    epochs: list
    counts: list


def plan(space, strategy, seed):
    """The brackets and every candidate's settings (id -> dict): successive halving
    takes the space's trials (the grid, or the random draws); Hyperband draws each
    bracket's candidates from the space."""
    from .strategy import survivors

    brackets, settings = [], {}
    for b, (n, epochs) in enumerate(strategy.schedule()):
        drawn = space.sample(n, seed, b) if strategy.name == "hyperband" else space.trials_settings(seed)
        ids = list(range(len(settings), len(settings) + len(drawn)))
        settings.update(zip(ids, drawn))
        index = b if strategy.name == "hyperband" else None
        brackets.append(Bracket(index, ids, epochs, survivors(len(ids), strategy.eta, len(epochs))))
    return brackets, settings


def run(data, space, config, strategy, seed, backend, folder, done, finished, callbacks=None):
    """Runs the rungs not in ``done`` ((candidate, rung) -> record of a finished rung, from
    trials.jsonl), rung after rung across the brackets; ``finished(record)`` records each
    rung as it ends. Checkpoints live in ``folder``/candidates. Returns every candidate's
    last record (in candidate order) and every rung's record."""
    brackets, settings = plan(space, strategy, seed)
    checkpoints = Path(folder).resolve() / CANDIDATES_FOLDER
    with writing(checkpoints):
        checkpoints.mkdir(parents=True, exist_ok=True)
    rungs = dict(done)  # (candidate, rung) -> the rung's record, ok or failed
    alive = {id(b): list(b.ids) for b in brackets}
    for k in range(max(len(b.epochs) for b in brackets)):
        tasks = []
        for b in brackets:
            if k >= len(b.epochs):
                continue
            if k:
                kept = rank([rungs[c, k - 1] for c in alive[id(b)] if (c, k - 1) in rungs])[: b.counts[k]]
                dropped = set(alive[id(b)]) - {r["trial"] for r in kept}
                alive[id(b)] = sorted(r["trial"] for r in kept)
                for c in dropped:
                    _remove(checkpoints / f"{c}.safetensors")
            for c in alive[id(b)]:
                if (c, k) not in rungs or rungs[c, k].get("status") != "ok":
                    run_id = rungs[c, k - 1].get("mlflow_run") if k else None
                    tasks.append(Rung(c, k, b.index, config.replace(**settings[c]), settings[c],
                                      trial_seed(seed, settings[c]), b.epochs[k],
                                      str(checkpoints / f"{c}.safetensors"), k == len(b.epochs) - 1,
                                      callbacks, run_id))  # fmt: skip
        # Longest first, so that no long training is left running alone at the end.
        tasks.sort(key=lambda t: -cost(t.config, data, t.epochs - (_previous(brackets, t) or 0)))

        def on_done(i, record, tasks=tasks):
            if isinstance(record, BaseException):
                t = tasks[i]
                record = {"trial": t.candidate, "rung": t.rung, "settings": plain(t.settings), "seed": t.seed,
                          "budget": t.epochs, "status": "failed",
                          "error": f"{type(record).__name__}: {record}"}  # fmt: skip
                if t.bracket is not None:
                    record["bracket"] = t.bracket
            finished(record)
            rungs[record["trial"], record["rung"]] = record

        backend.map(run_rung, tasks, on_done=on_done, shared=data, errors="return")
    last = {}
    for (c, _), record in sorted(rungs.items()):
        last[c] = record
    return [last[c] for c in sorted(last)], [rungs[key] for key in sorted(rungs)]


def remove_checkpoints(folder):
    """Removes the candidates' checkpoints once the search is over."""
    checkpoints = Path(folder) / CANDIDATES_FOLDER
    for path in checkpoints.glob("*"):
        _remove(path)
    try:
        checkpoints.rmdir()
    except OSError:
        pass


def _previous(brackets, task):
    for b in brackets:
        if task.candidate in b.ids:
            return b.epochs[task.rung - 1] if task.rung else 0
    return 0


def _remove(path):
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
