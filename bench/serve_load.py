"""A bounded load test of `layerwise serve` on loopback: 8 concurrent clients each send 250
predictions (POST /api/predict, one row of the digits each) of the tutorial's network, and
the script prints the errors and the latency percentiles.

The server runs in a process of its own (`layerwise.serve.app.serve` on 127.0.0.1, a free
port), serving a run directory of the tutorial's network trained briefly by this script;
the clients are threads of this process, each with one kept-alive HTTP connection. The
requests are bounded in number (clients x requests, after a warm-up of 20) and in time
(--seconds): the script stops by itself. Also printed, measured in the same run: the time
the model itself takes for one row in process (`Model.predict_proba`), against which the
server's median is a ratio. Target: no error, p99 <= 25 ms.

    .venv/bin/python bench/serve_load.py [--clients 8] [--requests 250] [--seconds 120]
"""

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import layerwise as lw
from layerwise.data import load_digits
from layerwise.experiments.training import TrainingRun
from layerwise.experiments.tutorial import TUTORIAL
from layerwise.reports.train import write_run

WARM_UP = 20


def make_run(folder, epochs):
    """A `layerwise train` run of the tutorial's network in ``folder``."""
    folder.mkdir(parents=True)
    run = TrainingRun.start(TUTORIAL.replace(epochs=epochs), folder)
    run.fit()
    write_run(run, time.perf_counter())
    run.finished()


def start_server(runs):
    """The server in a process of its own on a free port: (process, port)."""
    code = (
        "import sys; from layerwise.serve.app import serve; "
        "serve([sys.argv[1]], host='127.0.0.1', port=0, runs_folder=sys.argv[1], "
        "announce=lambda line: print(line, flush=True))"
    )
    server = subprocess.Popen([sys.executable, "-c", code, str(runs)], stdout=subprocess.PIPE, text=True)
    first = server.stdout.readline()  # layerwise serve: http://127.0.0.1:PORT/  (Ctrl-C to stop)
    if "http://" not in first:
        server.kill()
        raise SystemExit(f"the server did not start: {first!r}")
    port = int(first.split("http://127.0.0.1:")[1].split("/")[0])
    threading.Thread(target=server.stdout.read, daemon=True).start()  # its later lines
    return server, port


def client(port, bodies, latencies, errors, deadline):
    """Sends ``bodies`` one after the other on one connection; records each latency (s)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    for body in bodies:
        if time.monotonic() > deadline:
            errors.append("out of time")
            break
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/predict", body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            if answer.status != 200 or len(json.loads(data)["predictions"]) != 1:
                errors.append(f"{answer.status}: {data[:100]!r}")
        except (OSError, http.client.HTTPException, ValueError) as e:
            errors.append(f"{type(e).__name__}: {e}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    connection.close()


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=250, help="predictions per client")
    parser.add_argument("--seconds", type=float, default=120.0, help="the test stops after this long at most")
    parser.add_argument("--epochs", type=int, default=200, help="epochs of the tutorial's network")
    args = parser.parse_args()

    digits = load_digits()
    rows = digits.X_test
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        make_run(runs / "tutorial", args.epochs)
        model = lw.load(runs / "tutorial")
        # the peer: the model itself, one row, in process
        direct = []
        for i in range(2000):
            started = time.perf_counter()
            model.predict_proba(rows[i % len(rows)][None, :])
            direct.append(time.perf_counter() - started)
        server, port = start_server(runs)
        try:
            name = "runs/tutorial"
            body = lambda i: json.dumps({"model": name, "inputs": [rows[i % len(rows)].tolist()]})  # noqa: E731
            client(port, [body(i) for i in range(WARM_UP)], [], [], time.monotonic() + 60)
            latencies, errors = [], []
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=client,
                    args=(
                        port,
                        [body(c * args.requests + i) for i in range(args.requests)],
                        latencies,
                        errors,
                        deadline,
                    ),
                )  # fmt: skip
                for c in range(args.clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)

    ms = [v * 1000 for v in latencies]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    direct_ms = statistics.median(direct) * 1000
    print(f"{args.clients} clients x {args.requests} predictions of the tutorial's network (64-48-32-10), "
          f"one row each, on 127.0.0.1")  # fmt: skip
    print(f"requests answered  {len(latencies)} of {args.clients * args.requests} in {wall:.1f} s "
          f"({len(latencies) / wall:.0f} per second)")  # fmt: skip
    print(f"errors             {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print(
        f"latency            p50 {p50:.2f} ms   p99 {p99:.2f} ms   max {max(ms, default=float('nan')):.2f} ms"
    )
    ratio = p50 / direct_ms
    print(f"the model alone    {direct_ms:.3f} ms per row in process (the server's p50: {ratio:.0f}x that)")
    met = not errors and p99 <= 25
    print(f"target (no error, p99 <= 25 ms): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
