"""Seconds per epoch of a convolutional network on Fashion-MNIST: layerwise against
PyTorch (CPU, eager), measured in the same run, plus inference time and the peak resident
memory of a layerwise training run.

    make bench-cnn      # or: .venv/bin/python bench/fashion_cnn.py --rounds 3 --epochs 1
    .venv/bin/python bench/fashion_cnn.py --subset 6400 --rounds 2   # a quick look
    .venv/bin/python bench/fashion_cnn.py --kernels numpy            # NumPy's loops only

The network: conv 1->32 3x3 padding 1, ReLU, max-pool 2, conv 32->64 3x3 padding 1, ReLU,
max-pool 2, flatten, Linear 3136->128, ReLU, dropout 0.3, Linear 128->10; Adam (lr 1e-3),
batch 128, float32. Both libraries run with the same number of threads (NumPy's BLAS and
PyTorch's); each round trains each library from fresh weights, the two taking turns in
going first. Absolute times on a shared machine are noise; the ratios are the result.

Other programs on a shared machine slow it down for minutes at a time, which a whole epoch
of one library then the other (30 s each) catches on one side only. So each round also
trains both libraries through one more epoch in turns of ``--turn`` batches (20: about a
second each), from fresh weights: both see the same moments, and this interleaved ratio is
the steadier one.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import layerwise as lw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_epoch import fashion, peak_rss_mb, seconds  # noqa: E402, F401  (peak_rss_mb: for the subprocess)

BATCH = 128
LR = 1e-3
DROPOUT = 0.3


def layerwise_network(seed):
    return lw.Network(
        [
            lw.Reshape((1, 28, 28)),
            lw.Conv2D(1, 32, kernel_size=3, padding=1, seed=seed),
            lw.ReLU(),
            lw.MaxPool2D(2),
            lw.Conv2D(32, 64, kernel_size=3, padding=1, seed=seed + 1),
            lw.ReLU(),
            lw.MaxPool2D(2),
            lw.Flatten(),
            lw.Linear(64 * 7 * 7, 128, init="he_uniform", seed=seed + 2),
            lw.ReLU(),
            lw.Dropout(DROPOUT, seed=seed + 3),
            lw.Linear(128, 10, seed=seed + 4),
        ]
    )


def torch_network():
    import torch

    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(DROPOUT),
        nn.Linear(128, 10),
    )


def train_layerwise(X, y, epochs, seed):
    net = layerwise_network(seed)
    started = time.perf_counter()
    lw.fit(net, X, y, optimizer=lw.Adam(lr=LR), epochs=epochs, batch_size=BATCH, seed=seed)
    return (time.perf_counter() - started) / epochs, net


def torch_trainer(seed):
    """A fresh PyTorch network and a function that trains it on arrays, batch by batch in
    the given order (the same steps for the whole-epoch and the interleaved timings)."""
    import torch

    torch.manual_seed(seed)
    model = torch_network()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def train(X, y):
        Xt, yt = torch.from_numpy(X.reshape(-1, 1, 28, 28)), torch.from_numpy(y.astype(np.int64))
        for i in range(0, len(Xt), BATCH):
            optimizer.zero_grad()
            loss_fn(model(Xt[i : i + BATCH]), yt[i : i + BATCH]).backward()
            optimizer.step()

    return model, train


def train_torch(X, y, epochs, seed):
    model, train = torch_trainer(seed)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(X))
        train(X[order], y[order])
    model.eval()
    return (time.perf_counter() - started) / epochs, model


def interleaved_epoch(X, y, seed, turn):
    """Seconds per epoch of each library, training both from fresh weights through the
    same shuffled epoch in alternating turns of ``turn`` batches (who goes first alternates
    too); each library's time is the sum of its turns."""
    net, optimizer = layerwise_network(seed), lw.Adam(lr=LR)
    _, theirs = torch_trainer(seed)

    def ours(Xs, ys):
        lw.fit(net, Xs, ys, optimizer=optimizer, epochs=1, batch_size=BATCH, shuffle=False)

    order = np.random.default_rng(seed).permutation(len(X))
    spent = {"layerwise": 0.0, "pytorch": 0.0}
    for k, start in enumerate(range(0, len(X), turn * BATCH)):
        index = order[start : start + turn * BATCH]
        Xs, ys = X[index], y[index]
        turns = [("layerwise", ours), ("pytorch", theirs)]
        for name, train in turns[:: 1 if k % 2 == 0 else -1]:
            spent[name] += seconds(lambda train=train, Xs=Xs, ys=ys: train(Xs, ys))
    return spent


def inference(net, model, X_test, blocks=3, repeats=3):
    """Median seconds to predict class probabilities for X_test, layerwise and PyTorch, each
    in one call. They take turns in blocks of calls: a library's idle BLAS or OpenMP threads
    keep spinning for a while after a call and would slow down the other if calls alternated."""
    import torch

    Xt = torch.from_numpy(X_test.reshape(-1, 1, 28, 28))

    def torch_proba():
        with torch.no_grad():
            return torch.softmax(model(Xt), dim=1)

    ours, theirs = [], []
    for _ in range(blocks):
        ours += [seconds(lambda: net.predict_proba(X_test)) for _ in range(repeats)]
        theirs += [seconds(torch_proba) for _ in range(repeats)]
    return statistics.median(ours), statistics.median(theirs)


def torch_accuracy(model, X_test, y_test):
    import torch

    with torch.no_grad():
        scores = model(torch.from_numpy(X_test.reshape(-1, 1, 28, 28)))
    return float((scores.argmax(dim=1).numpy() == y_test).mean())


def peak_rss_of_training(epochs, subset, threads, data_dir):
    """Peak resident memory (MB) of a fresh process that loads the data and trains."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); import fashion_cnn as b;"
        "from threadpoolctl import threadpool_limits;"
        f"X, y, _, _ = b.fashion({data_dir!r}); X, y = X[:{subset}], y[:{subset}];"
        f"threadpool_limits({threads});"
        f"b.train_layerwise(X, y, {epochs}, 0);"
        "print(b.peak_rss_mb())"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "LAYERWISE_KERNELS": lw.get_kernels()},  # the same loops as the timings
    )
    return float(result.stdout.split()[-1])


def kernel():
    """What computes layerwise's convolutions: the pixel loops (``lw.get_kernels()``: NumPy's
    strided copies or numba's compiled loops) and the BLAS of the matrix products."""
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info()]
    blas = [b for b in blas if not b.startswith("openmp")] or ["unknown BLAS"]
    if lw.get_kernels() == "numba":
        import numba

        loops = f"numba {numba.__version__} compiled im2col, col2im and max-pooling"
    else:
        loops = f"NumPy {np.__version__} strided copies for im2col, col2im and pooling"
    return f"kernels {lw.get_kernels()!r}: {loops}; matrix products: {', '.join(blas)}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of training each library (default 3)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per training (default 1)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images (default: all)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="threads for both")
    parser.add_argument("--data-dir", default=None, help="where fashion-mnist lives (default: search path)")
    parser.add_argument("--turn", type=int, default=20, help="batches per turn when interleaved (default 20)")
    parser.add_argument(
        "--kernels",
        default="auto",
        choices=lw.nn.kernels.KERNELS,
        help="layerwise's pixel loops (default auto)",
    )
    args = parser.parse_args(argv)
    lw.set_kernels(args.kernels)

    import torch

    torch.set_num_threads(args.threads)
    X, y, X_test, y_test = fashion(args.data_dir)
    X, y = X[: args.subset], y[: args.subset]
    print(f"Fashion-MNIST, {len(X)} training images, {len(X_test)} test images, float32, batch {BATCH}, Adam")
    print("conv32 3x3 p1, ReLU, maxpool 2, conv64 3x3 p1, ReLU, maxpool 2, 128 ReLU, dropout 0.3, 10")
    print(f"{args.threads} threads, {args.epochs} epoch(s) per training, {args.rounds} rounds")
    print(f"pytorch {torch.__version__}, layerwise {lw.__version__}")
    print(f"layerwise {kernel()}")
    trainers = {"layerwise": train_layerwise, "pytorch": train_torch}
    per_epoch = {name: [] for name in trainers}
    interleaved = {name: [] for name in trainers}
    models = {}
    with threadpool_limits(args.threads):
        for r in range(args.rounds):
            names = list(trainers)[:: 1 if r % 2 == 0 else -1]  # each library goes first in turn
            for name in names:
                s, models[name] = trainers[name](X, y, args.epochs, seed=r)
                per_epoch[name].append(s)
            times = ", ".join(f"{n} {v[-1]:.2f} s/epoch" for n, v in per_epoch.items())
            for name, s in interleaved_epoch(X, y, r, args.turn).items():
                interleaved[name].append(s)
            turns = ", ".join(f"{n} {v[-1]:.2f} s" for n, v in interleaved.items())
            print(f"round {r + 1}: {times}; interleaved epoch: {turns}", flush=True)
        net, model = models["layerwise"], models["pytorch"]
        ours, theirs = inference(net, model, X_test)
        accuracy = (net.predict(X_test) == y_test).mean()
        accuracy_torch = torch_accuracy(model, X_test, y_test)
    median = {name: statistics.median(v) for name, v in per_epoch.items()}
    print("\nmedian seconds per epoch: " + ", ".join(f"{n} {v:.2f}" for n, v in median.items()))
    print(f"training, layerwise / pytorch: {median['layerwise'] / median['pytorch']:.2f}   (target <= 1.0)")
    ratios = [a / b for a, b in zip(interleaved["layerwise"], interleaved["pytorch"])]
    print(
        f"interleaved in turns of {args.turn} batches, layerwise / pytorch: median "
        f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{v:.2f}' for v in ratios)})   (target <= 1.0)"
    )
    # Other programs on a shared machine slow some rounds down; the fastest round of each
    # library shows what it does undisturbed.
    best = {name: min(v) for name, v in per_epoch.items()}
    print("fastest round, seconds per epoch: " + ", ".join(f"{n} {v:.2f}" for n, v in best.items()), end="")
    print(f"; ratio {best['layerwise'] / best['pytorch']:.2f}")
    print(f"inference on {len(X_test)} test images, median s: layerwise {ours:.3f}, ", end="")
    print(f"pytorch {theirs:.3f}, ratio {ours / theirs:.2f}   (target <= 1.0)")
    print(f"test accuracy after {args.epochs} epoch(s): layerwise {accuracy:.4f}, ", end="")
    print(f"pytorch {accuracy_torch:.4f}")
    rss = peak_rss_of_training(args.epochs, len(X), args.threads, args.data_dir)
    print(f"peak resident memory of a layerwise training run: {rss:.0f} MB   (target <= 2048)")


if __name__ == "__main__":
    main()
