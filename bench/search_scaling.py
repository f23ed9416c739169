"""Hyperparameter search on all cores and on Dask: the same 12-trial digits grid with
--jobs 1, --jobs 2, a running 2-worker Dask cluster (a scheduler and two single-threaded
workers on loopback, started once by this script) and --dask-local 2 (which starts and
stops its own cluster inside the command), timed in the same run.

Prints the median wall time of each backend over the rounds, the speed-up of 2 jobs over
1 (target on 2 cores: 1.7x or more) and Dask's time against local processes (target:
within 15%), and checks that every backend found the same numbers.

    .venv/bin/python bench/search_scaling.py [--rounds 3] [--epochs 1000]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = ["--grid", "l2=0.01,0.1,1,10", "--grid", "hidden=48x32,64x32,128", "--optimizer", "sgd", "--lr", "0.2",
        "--batch-size", "full", "--activation", "sigmoid", "--output-activation", "sigmoid", "--scaling",
        "none", "--quiet"]  # fmt: skip


WORKER_ENV = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "5s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s",
}


def start_cluster():
    """A scheduler and two workers on loopback: (address, processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    # the worker settings docs/search.md recommends for trainings (parallel.WORKER_SETTINGS)
    env = dict(os.environ, **WORKER_ENV)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], **quiet)]  # fmt: skip
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                    "--no-dashboard"], **quiet) for _ in range(2)]  # fmt: skip
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def run(backend, epochs):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [
            sys.executable,
            "-m",
            "layerwise",
            "tune",
            *GRID,
            "--epochs",
            str(epochs),
            *backend,
            "--out",
            str(out),
        ]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        lines = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    numbers = sorted((r["trial"], r["val_accuracy"], r["val_loss"]) for r in lines)
    return seconds, numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1000)
    args = parser.parse_args()
    address, cluster = start_cluster()
    backends = {"jobs 1": ["--jobs", "1"], "jobs 2": ["--jobs", "2"], "dask cluster": ["--dask", address],
                "dask-local 2": ["--dask-local", "2"]}  # fmt: skip
    times = {name: [] for name in backends}
    results = {}
    try:
        rounds(args, backends, times, results)
    finally:
        for process in cluster:
            process.kill()
    median = {name: statistics.median(t) for name, t in times.items()}
    print("median: " + ", ".join(f"{name} {t:.2f} s" for name, t in median.items()))
    print(f"speed-up with 2 jobs: {median['jobs 1'] / median['jobs 2']:.2f}x (target >= 1.7)")
    local = median["jobs 2"]
    print(f"running 2-worker Dask cluster / 2 jobs: {median['dask cluster'] / local:.2f} (target <= 1.15)")
    print(f"--dask-local 2 (its cluster's start-up included) / 2 jobs: {median['dask-local 2'] / local:.2f}")
    same = all(numbers == results["jobs 1"] for numbers in results.values())
    print(f"identical results on every backend: {same}")


def rounds(args, backends, times, results):
    for r in range(args.rounds):
        for name, backend in backends.items():
            seconds, numbers = run(backend, args.epochs)
            times[name].append(seconds)
            results.setdefault(name, numbers)
            print(f"round {r + 1}: {name:>12}  {seconds:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
