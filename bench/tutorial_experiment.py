"""The tutorial's experiment: layerwise reproduce against the tutorial's algorithm.

Runs the tutorial's algorithm as the project's oracle implements it (tests/tutorial_oracle.py:
column-major NumPy, as the tutorial writes it; its run_experiment() times its own
computation, the lambda sweep and the final retraining, in a fresh Python process) and the
whole `layerwise reproduce` command (start-up, training, figures and report included)
alternately on this machine, several rounds, and prints the median time of each and the ratio.

    .venv/bin/python bench/tutorial_experiment.py [--rounds 3] [--epochs 1000]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ROOT / "tests"

TUTORIAL = """
import json, sys
sys.path.insert(0, {path!r})
import tutorial_oracle
print(json.dumps(tutorial_oracle.run_experiment(epochs={epochs}, seed={seed})))
"""


def run_tutorial(epochs, seed):
    code = TUTORIAL.format(path=str(ORACLE), epochs=epochs, seed=seed)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_layerwise(epochs, seed, jobs):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [
            str(Path(sys.executable).with_name("layerwise")),
            "reproduce",
            "--quiet",
            "--epochs",
            str(epochs),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        report = json.loads((out / "report.json").read_text())
    report["wall_seconds"] = seconds
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=None, help="layerwise --jobs (default: all cores)")
    args = parser.parse_args()
    ours, theirs = [], []
    for r in range(args.rounds):
        t = run_tutorial(args.epochs, seed=r)
        o = run_layerwise(args.epochs, seed=r, jobs=args.jobs)
        theirs.append(t["seconds"])
        ours.append(o["wall_seconds"])
        print(
            f"round {r + 1}: tutorial {t['seconds']:.2f} s (test accuracy {t['test_accuracy']:.4f}, "
            f"lambda {t['best_lambda']:.3g})   layerwise reproduce {o['wall_seconds']:.2f} s "
            f"(test accuracy {o['test_accuracy']:.4f}, lambda {o['best_lambda']:.3g}, "
            f"training {o['training_seconds']:.2f} s)",
            flush=True,
        )
    t_med, o_med = statistics.median(theirs), statistics.median(ours)
    print(
        f"median: tutorial computation {t_med:.2f} s, layerwise whole command {o_med:.2f} s, "
        f"speed-up {t_med / o_med:.2f}x"
    )


if __name__ == "__main__":
    main()
