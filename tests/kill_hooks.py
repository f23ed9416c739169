"""Crashes at known points, for the tests: the `layerwise` command run with a hook that
kills a process when a counter (optimizer steps, trials written, trials started) reaches
a value, never at a moment read off the clock.

    python tests/kill_hooks.py after-steps N ARGS...     SIGKILL this process after N optimizer steps
    python tests/kill_hooks.py after-trials N ARGS...    SIGKILL this process group once N trials
                                                         are in trials.jsonl (start it in a new session)
    python tests/kill_hooks.py first-trial MARKER ARGS... the first worker process to start a trial
                                                         is killed (once: MARKER records it)

ARGS are those of `layerwise`. Used as ``dask worker --preload tests/kill_hooks.py``, it
makes that worker die when it starts its first trial.
"""

import os
import signal
import sys

from layerwise.experiments import search
from layerwise.experiments.search import trial
from layerwise.nn import optimizers


def _kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def after_steps(n):
    steps, step = [0], optimizers.Optimizer.step

    def counting_step(self, parameters):
        step(self, parameters)
        steps[0] += 1
        if steps[0] == n:
            _kill_self()

    optimizers.Optimizer.step = counting_step


def after_trials(n):
    written, append = [0], search.append_trial

    def counting_append(path, record):
        append(path, record)
        written[0] += 1
        if written[0] == n:
            os.killpg(os.getpgid(0), signal.SIGKILL)

    search.append_trial = counting_append


def first_trial(marker=None):
    """Replaces run_trial (as worker processes look it up by name) with one that kills the
    process running it, the first time only when ``marker`` is a file path."""
    original = trial.run_trial

    def run_trial(task, data):
        if marker is None or _first(marker):
            _kill_self()
        return original(task, data)

    run_trial.__module__, run_trial.__qualname__ = original.__module__, original.__qualname__
    trial.run_trial = search.run_trial = run_trial


def _first(marker):
    """True for the one process that creates ``marker``."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def dask_setup(worker):
    """``dask worker --preload``: this worker dies when it starts its first trial."""
    first_trial()


if __name__ == "__main__":
    from layerwise.cli import main

    hook, value, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    {"after-steps": lambda: after_steps(int(value)), "after-trials": lambda: after_trials(int(value)),
     "first-trial": lambda: first_trial(value)}[hook]()  # fmt: skip
    sys.exit(main(args))
