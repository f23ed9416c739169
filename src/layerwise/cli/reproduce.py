"""The tutorial's experiment on scikit-learn's digits, run with layerwise.

Splits the digits as the tutorial does (721 train / 482 validation / 594 test), trains the
64-48-32-10 sigmoid network once per lambda (full-batch momentum SGD, 1000 epochs), picks
the lambda with the best validation accuracy, retrains with it and reports the test
accuracy. Writes report.json, report.md and figures to the run directory.

examples:
  layerwise reproduce
  layerwise reproduce --epochs 200 --lambdas "logspace(-3,1,5)" --jobs 2 --out runs/quick
  layerwise reproduce --dask-local 2
  layerwise reproduce --hidden 64,32 --activation tanh --output-activation none
"""

import sys
import time

from ..experiments import backends as parallel
from ..reports import run_dir as reporting
from .options import add_backend_arguments, hidden_sizes, number_list


def add_arguments(p):
    p.add_argument("--epochs", default="1000", help="epochs per training (default 1000)")
    p.add_argument("--lr", type=float, default=0.2, help="learning rate (default 0.2)")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum (default 0.9)")
    p.add_argument(
        "--lambdas",
        default="logspace(-2,2,10)",
        help='L2 strengths to try: "0.01,0.1,1" or logspace(a,b,n) (default logspace(-2,2,10))',
    )
    p.add_argument("--hidden", default="48,32", help="hidden layer sizes (default 48,32)")
    p.add_argument(
        "--activation", default="sigmoid", help="hidden activation: sigmoid, tanh, relu, leaky_relu"
    )
    p.add_argument(
        "--output-activation",
        default="sigmoid",
        help="activation after the last linear map, before softmax; 'none' for raw logits "
        "(default sigmoid, as in the tutorial)",
    )
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="default float32")
    p.add_argument("--seed", type=int, default=0, help="seed of every initialisation (default 0)")
    add_backend_arguments(p)
    p.add_argument("--out", default=None, help="run directory to create (default runs/<timestamp>-reproduce)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")


def config_from_args(args):
    from ..experiments.tutorial import Config
    from .options import positive_int

    output = (
        None if args.output_activation.lower() in ("none", "identity", "linear") else args.output_activation
    )
    return Config(
        hidden=hidden_sizes(args.hidden),
        activation=args.activation,
        output_activation=output,
        lr=args.lr,
        momentum=args.momentum,
        epochs=positive_int(args.epochs, "--epochs"),
        lambdas=tuple(number_list(args.lambdas, "lambda")),
        dtype=args.dtype,
        seed=args.seed,
    ).validate()


def _draw_sweep_figure(folder, partial):
    # matplotlib is imported here, while the final model trains in a worker, and not
    # before the sweep, where its import would delay every training.
    from ..reports.tutorial import draw_sweep_figure

    draw_sweep_figure(folder, partial)


def run(args):
    started = time.perf_counter()
    config = config_from_args(args)
    pool, backend_name = parallel.backend(args.jobs, args.dask, args.dask_local)
    out = args.out or reporting.default_run_dir("reproduce")
    with pool, reporting.run_directory(out) as tmp:
        from tqdm import tqdm

        from ..experiments import tutorial

        bar = tqdm(
            total=len(config.lambdas) + 1,
            desc="trainings",
            unit="net",
            disable=args.quiet or not sys.stderr.isatty(),
            leave=False,
        )
        result = tutorial.run(
            config,
            pool=pool,
            on_done=lambda i, r: bar.update(),
            during_final=lambda partial: _draw_sweep_figure(tmp, partial),
        )
        bar.close()
        from ..reports.tutorial import write_report

        summary = write_report(tmp, result, jobs=pool.jobs, backend=backend_name, started=started)
    if not args.quiet:
        print(summary)
    print(f"run directory: {out}")
    return 0
