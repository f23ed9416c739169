"""Hyperparameter search on all cores and on Dask: the same 12-trial digits grid with
--jobs 1, --jobs 2 and a 2-worker local Dask cluster, timed in the same run.

Prints the median wall time of each backend over the rounds, the speed-up of 2 jobs over
1 (target on 2 cores: 1.7x or more) and Dask's time against local processes (target:
within 15%), and checks that every backend found the same numbers.

    .venv/bin/python bench/search_scaling.py [--rounds 3] [--epochs 400]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = ["--grid", "l2=0.01,0.1,1,10", "--grid", "hidden=48x32,64x32,128", "--optimizer", "sgd", "--lr", "0.2",
        "--batch-size", "full", "--activation", "sigmoid", "--output-activation", "sigmoid", "--scaling",
        "none", "--quiet"]  # fmt: skip
BACKENDS = {"jobs 1": ["--jobs", "1"], "jobs 2": ["--jobs", "2"], "dask-local 2": ["--dask-local", "2"]}


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
    parser.add_argument("--epochs", type=int, default=400)
    args = parser.parse_args()
    times = {name: [] for name in BACKENDS}
    results = {}
    for r in range(args.rounds):
        for name, backend in BACKENDS.items():
            seconds, numbers = run(backend, args.epochs)
            times[name].append(seconds)
            results.setdefault(name, numbers)
            print(f"round {r + 1}: {name:>12}  {seconds:6.2f} s", flush=True)
    median = {name: statistics.median(t) for name, t in times.items()}
    print("median: " + ", ".join(f"{name} {t:.2f} s" for name, t in median.items()))
    print(f"speed-up with 2 jobs: {median['jobs 1'] / median['jobs 2']:.2f}x (target >= 1.7)")
    print(f"dask-local 2 / jobs 2: {median['dask-local 2'] / median['jobs 2']:.2f} (target <= 1.15)")
    same = all(numbers == results["jobs 1"] for numbers in results.values())
    print(f"identical results on every backend: {same}")


if __name__ == "__main__":
    main()
