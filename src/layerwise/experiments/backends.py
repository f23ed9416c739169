"""Backends that run independent tasks (trainings): local processes or a Dask cluster.

Both have the same two calls, ``map(fn, tasks, on_done, shared, errors)`` and
``submit(fn, task, shared)``, and call ``fn(task, shared)`` with one BLAS thread, in the
parent process too when one job runs there, so a task's result never depends on the
backend or on how many tasks run beside it. ``shared`` is data every task reads (a
dataset): forked workers inherit it, Dask workers receive it once.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from threadpoolctl import threadpool_limits

from ..errors import LayerwiseError

_SHARED = {}  # what forked workers inherit: id -> shared data
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def default_jobs():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_jobs(jobs):
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise LayerwiseError(f"--jobs must be a positive integer, not {jobs!r}")
    return jobs


def _call(fn, task, shared):
    with threadpool_limits(1):
        return fn(task, shared)


def _call_inherited(fn, task, key):
    return _call(fn, task, _SHARED[key])


class _Later:
    """A task run in this process when its result is asked for, shaped like a Future."""

    def __init__(self, fn, task, shared):
        self.fn, self.task, self.shared = fn, task, shared

    def result(self):
        return _call(self.fn, self.task, self.shared)


class TaskPool:
    """``jobs`` local worker processes (none when jobs == 1), for a ``with`` block.

    The workers are forked when the first task is submitted, after its shared data is in
    place, so they inherit the data instead of receiving a copy with every task. A worker
    that dies (killed, out of memory) breaks the pool: the pool is started again and the
    unfinished tasks run again, up to ``retries`` times each.
    """

    def __init__(self, jobs=1, retries=2):
        self.jobs, self.retries = check_jobs(jobs), retries
        self.pool, self.inherited, self.keys = None, set(), set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop()
        for key in self.keys:
            _SHARED.pop(key, None)
        self.keys.clear()

    def _stop(self):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def _submit(self, fn, task, shared):
        key = id(shared)
        _SHARED[key] = shared
        self.keys.add(key)
        if self.pool is not None and key not in self.inherited:
            self._stop()  # forked before this data existed: fork again
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context(START_METHOD))
            self.inherited = set(_SHARED) if START_METHOD == "fork" else set()
        if key in self.inherited:
            return self.pool.submit(_call_inherited, fn, task, key)
        return self.pool.submit(_call, fn, task, shared)

    def map(self, fn, tasks, on_done=None, shared=None, errors="raise"):
        """[fn(task, shared) for task in tasks]; ``on_done(index, result)`` as each one
        finishes. With ``errors="return"`` a task's exception is its result."""
        tasks = list(tasks)
        results = [None] * len(tasks)
        if self.jobs == 1:
            for i, task in enumerate(tasks):
                results[i] = _outcome(_call, errors, fn, task, shared)
                if on_done:
                    on_done(i, results[i])
            return results
        todo, attempts = list(range(len(tasks))), 0
        while todo:
            futures = {self._submit(fn, tasks[i], shared): i for i in todo}
            broken = []
            for future in as_completed(futures):
                i = futures[future]
                outcome = _outcome(future.result, "return")
                if isinstance(outcome, BrokenProcessPool):
                    broken.append((i, outcome))
                    continue
                if isinstance(outcome, Exception) and errors == "raise":
                    raise outcome
                results[i] = outcome
                if on_done:
                    on_done(i, results[i])
            attempts += 1
            todo = [i for i, _ in broken]
            if todo:
                self._stop()
            if todo and attempts > self.retries:
                for i, e in broken:
                    if errors == "raise":
                        raise LayerwiseError(
                            f"a worker process died {attempts} times running task {i}"
                        ) from e
                    results[i] = RuntimeError(f"its worker process died ({attempts} attempts)")
                    if on_done:
                        on_done(i, results[i])
                todo = []
        return results

    def submit(self, fn, task, shared=None):
        """Starts fn(task, shared) in a worker; with one job it runs when ``result()`` is asked for."""
        if self.jobs == 1:
            return _Later(fn, task, shared)
        return self._submit(fn, task, shared)


def _outcome(call, errors, *args):
    """call(*args); with ``errors="return"`` an exception is returned instead of raised."""
    if errors == "raise":
        return call(*args)
    try:
        return call(*args)
    except Exception as e:
        return e


# Settings for Dask workers that run trainings: a training holds the GIL most of the time,
# and every wake-up of a worker's event loop takes it away. The profiler samples the
# running task's stack every 10 ms; the event loop checks its own health every 20 ms and
# reads the system's and its own memory use several times a second. Fewer wake-ups:
# trials about 5% faster (--dask-local uses these; see docs/search.md for a cluster).
WORKER_SETTINGS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class DaskPool:
    """Tasks on a Dask cluster: an existing one (``address``, e.g. tcp://host:8786) or a
    local cluster of ``local_workers`` processes with one thread each.

    When a worker dies, Dask runs its task again on another worker; a task whose workers
    keep dying is reported with the reason.
    """

    def __init__(self, address=None, local_workers=None):
        if (address is None) == (local_workers is None):
            raise LayerwiseError("give either a Dask scheduler address or a number of local workers")
        if local_workers is not None:
            check_jobs(local_workers)
        self.address, self.local_workers = address, local_workers
        self.client = self.cluster = None
        self.scattered = {}

    def __enter__(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise LayerwiseError("Dask is not installed: pip install 'layerwise[dask]'") from None
        if self.local_workers:
            import dask

            dask.config.set(WORKER_SETTINGS)
            self.cluster = LocalCluster(
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.address, timeout=10)
            except (OSError, TimeoutError, ValueError) as e:
                raise LayerwiseError(f"cannot reach the Dask scheduler at {self.address}: {e}") from None
        return self

    def __exit__(self, *exc):
        self.scattered.clear()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    @property
    def jobs(self):
        return max(1, len(self.client.scheduler_info()["workers"]))

    def map(self, fn, tasks, on_done=None, shared=None, errors="raise"):
        from distributed import as_completed as dask_completed

        tasks = list(tasks)
        data = self._scatter(shared)
        futures = {self.client.submit(_call, fn, task, data, pure=False): i for i, task in enumerate(tasks)}
        results = [None] * len(tasks)
        for future in dask_completed(futures):
            i = futures[future]
            results[i] = _outcome(future.result, errors)
            if on_done:
                on_done(i, results[i])
        return results

    def submit(self, fn, task, shared=None):
        return self.client.submit(_call, fn, task, self._scatter(shared), pure=False)

    def _scatter(self, shared):
        """The shared data, sent to every worker once; the pool holds on to it until it closes."""
        if shared is None:
            return None
        if id(shared) not in self.scattered:
            self.scattered[id(shared)] = (shared, self.client.scatter(shared, broadcast=True))
        return self.scattered[id(shared)][1]


def backend(jobs=None, dask=None, dask_local=None):
    """The backend the command-line options ask for: (backend, description)."""
    if sum(x is not None for x in (jobs, dask, dask_local)) > 1:
        raise LayerwiseError("give only one of --jobs, --dask and --dask-local")
    if dask:
        return DaskPool(address=dask), f"Dask cluster {dask}"
    if dask_local is not None:
        check_jobs(dask_local)
        return DaskPool(local_workers=dask_local), f"local Dask cluster of {dask_local} workers"
    pool = TaskPool(check_jobs(jobs))
    return pool, f"{pool.jobs} local process{'es' if pool.jobs > 1 else ''}"
