"""Seconds per epoch on Fashion-MNIST: layerwise against PyTorch (CPU, eager) and
scikit-learn's MLPClassifier, measured in the same run, plus inference time and the peak
resident memory of a layerwise training run.

    make bench          # or: .venv/bin/python bench/fashion_epoch.py --rounds 5 --epochs 2

The network is 784-256-128-10 with ReLU, trained with Adam (lr 1e-3), batch 128, float32.
Every library runs with the same number of threads; each round trains each library from
fresh weights for the same number of epochs. Absolute times on a shared machine are noise;
the ratios are the result.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import layerwise as lw
from layerwise.data import load

HIDDEN = (256, 128)
BATCH = 128
LR = 1e-3


def fashion(data_dir=None):
    data = load("fashion-mnist", data_dir)
    X_train = data.X_train
    X_train *= np.float32(1 / 255)
    X_test = data.X_test
    X_test *= np.float32(1 / 255)
    return X_train, data.y_train, X_test, data.y_test


def layerwise_network(seed):
    return lw.Network.from_spec([784, *HIDDEN, 10], activation="relu", init="he_uniform", seed=seed)


def train_layerwise(X, y, epochs, seed):
    net = layerwise_network(seed)
    started = time.perf_counter()
    lw.fit(net, X, y, optimizer=lw.Adam(lr=LR), epochs=epochs, batch_size=BATCH, seed=seed)
    return (time.perf_counter() - started) / epochs, net


def train_torch(X, y, epochs, seed):
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, HIDDEN[0]),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[0], HIDDEN[1]),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[1], 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            idx = order[i : i + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - started) / epochs, model


def train_sklearn(X, y, epochs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=0.0, batch_size=BATCH,
        learning_rate_init=LR, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=seed,
    )  # fmt: skip
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return (time.perf_counter() - started) / epochs, model


def seconds(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def inference(net, model, X_test, blocks=3, repeats=10):
    """Median seconds to predict class probabilities for X_test, layerwise and PyTorch.
    They take turns in blocks of calls: a library's idle BLAS or OpenMP threads keep
    spinning for a while after a call and would slow down the other if calls alternated."""
    import torch

    Xt = torch.from_numpy(X_test)

    def torch_proba():
        with torch.no_grad():
            return torch.softmax(model(Xt), dim=1)

    ours, theirs = [], []
    for _ in range(blocks):
        ours += [seconds(lambda: net.predict_proba(X_test)) for _ in range(repeats)]
        theirs += [seconds(torch_proba) for _ in range(repeats)]
    return statistics.median(ours), statistics.median(theirs)


def peak_rss_mb():
    """This process's peak resident memory in MB. /proc's VmHWM counts only this program,
    while ru_maxrss would also count the memory of the parent it was forked from."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_of_training(epochs, threads, data_dir):
    """Peak resident memory (MB) of a fresh process that loads the data and trains."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); import fashion_epoch as b;"
        "from threadpoolctl import threadpool_limits;"
        f"X, y, _, _ = b.fashion({data_dir!r});"
        f"threadpool_limits({threads});"
        f"b.train_layerwise(X, y, {epochs}, 0);"
        "print(b.peak_rss_mb())"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=root, capture_output=True, text=True
    )
    return float(result.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of training each library (default 5)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training (default 2)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="threads for all")
    parser.add_argument("--data-dir", default=None, help="where fashion-mnist lives (default: search path)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    X, y, X_test, y_test = fashion(args.data_dir)
    sizes = "-".join(map(str, (784, *HIDDEN, 10)))
    print(f"Fashion-MNIST, {len(X)} training images, {sizes} ReLU, Adam, batch {BATCH}, float32")
    print(f"{args.threads} threads, {args.epochs} epoch(s) per training, {args.rounds} rounds")
    trainers = {"layerwise": train_layerwise, "pytorch": train_torch, "sklearn": train_sklearn}
    per_epoch = {name: [] for name in trainers}
    models = {}
    with threadpool_limits(args.threads):
        for r in range(args.rounds):
            names = list(trainers)
            for name in names[r % 3 :] + names[: r % 3]:  # each library takes each place in turn
                s, models[name] = trainers[name](X, y, args.epochs, seed=r)
                per_epoch[name].append(s)
            times = ", ".join(f"{n} {v[-1]:.2f} s/epoch" for n, v in per_epoch.items())
            print(f"round {r + 1}: {times}", flush=True)
        net, model = models["layerwise"], models["pytorch"]
        ours, theirs = inference(net, model, X_test)
    median = {name: statistics.median(v) for name, v in per_epoch.items()}
    accuracy = (net.predict(X_test) == y_test).mean()
    print("\nmedian seconds per epoch: " + ", ".join(f"{n} {v:.3f}" for n, v in median.items()))
    print(f"layerwise / pytorch: {median['layerwise'] / median['pytorch']:.2f}   (target <= 1.0)")
    print(f"layerwise / sklearn: {median['layerwise'] / median['sklearn']:.2f}   (target <= 0.6)")
    # Other programs on a shared machine slow some rounds down several times over; the
    # fastest round of each library shows what it does undisturbed.
    best = {name: min(v) for name, v in per_epoch.items()}
    print("fastest round, seconds per epoch: " + ", ".join(f"{n} {v:.3f}" for n, v in best.items()), end="")
    print(f"; ratios {best['layerwise'] / best['pytorch']:.2f} and {best['layerwise'] / best['sklearn']:.2f}")
    print(f"inference on {len(X_test)} test images, median ms: layerwise {ours * 1e3:.1f}, ", end="")
    print(f"pytorch {theirs * 1e3:.1f}, ratio {ours / theirs:.2f}   (target <= 1.0)")
    print(f"layerwise test accuracy after {args.epochs} epoch(s): {accuracy:.4f}")
    rss = peak_rss_of_training(args.epochs, args.threads, args.data_dir)
    print(f"peak resident memory of a layerwise training run: {rss:.0f} MB   (target <= 1024)")


if __name__ == "__main__":
    main()
