"""Independent tasks (trainings) run one per core in separate processes.

Each task runs with one BLAS thread, in the parent process too when ``jobs == 1``, so a
task's result never depends on how many jobs run beside it.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from threadpoolctl import threadpool_limits

from .errors import LayerwiseError


def default_jobs():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_jobs(jobs):
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise LayerwiseError(f"--jobs must be a positive integer, not {jobs!r}")
    return jobs


def _single_threaded(fn, task):
    with threadpool_limits(1):
        return fn(task)


class _Done:
    """The result of a task run in this process, shaped like a Future."""

    def __init__(self, fn, task):
        self.fn, self.task = fn, task

    def result(self):
        return _single_threaded(self.fn, self.task)


class TaskPool:
    """``jobs`` worker processes (none when jobs == 1), for use in a ``with`` block."""

    def __init__(self, jobs=1):
        self.jobs = check_jobs(jobs)
        self.pool = None

    def __enter__(self):
        if self.jobs > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context(method))
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def map(self, fn, tasks, on_done=None):
        """[fn(task) for task in tasks]; ``on_done(index, result)`` as each one finishes."""
        tasks = list(tasks)
        results = [None] * len(tasks)
        if self.pool is None:
            for i, task in enumerate(tasks):
                results[i] = _single_threaded(fn, task)
                if on_done:
                    on_done(i, results[i])
            return results
        futures = {self.pool.submit(_single_threaded, fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done:
                on_done(i, results[i])
        return results

    def submit(self, fn, task):
        """Starts fn(task) in a worker; with one job it runs when ``result()`` is asked for."""
        if self.pool is None:
            return _Done(fn, task)
        return self.pool.submit(_single_threaded, fn, task)


def run_tasks(fn, tasks, jobs=1, on_done=None):
    """Returns [fn(task) for task in tasks], computed by ``jobs`` processes.

    ``fn`` must be a module-level function. ``on_done(index, result)`` is called in the
    parent as each task finishes (for progress bars).
    """
    tasks = list(tasks)
    with TaskPool(min(check_jobs(jobs), max(1, len(tasks)))) as pool:
        return pool.map(fn, tasks, on_done)
