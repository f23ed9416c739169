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


def run_tasks(fn, tasks, jobs=1, on_done=None):
    """Returns [fn(task) for task in tasks], computed by ``jobs`` processes.

    ``fn`` must be a module-level function. ``on_done(index, result)`` is called in the
    parent as each task finishes (for progress bars).
    """
    tasks = list(tasks)
    jobs = min(check_jobs(jobs), max(1, len(tasks)))
    results = [None] * len(tasks)
    if jobs == 1:
        for i, task in enumerate(tasks):
            results[i] = _single_threaded(fn, task)
            if on_done:
                on_done(i, results[i])
        return results
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(_single_threaded, fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done:
                on_done(i, results[i])
    return results
