"""The tutorial's experiment on scikit-learn's digits, run with layerwise.

Splits the digits as the tutorial does (721 train / 482 validation / 594 test), trains the
64-48-32-10 sigmoid network once per lambda (full-batch momentum SGD, 1000 epochs), picks
the lambda with the best validation accuracy (ties: the smaller); that training's network
is the final model, whose test accuracy is reported (its per-epoch curves are recorded by
running the same training again, its two halves at once). Writes the final model
(model.safetensors, for `layerwise evaluate`, `predict` and `export`), report.json,
report.md and figures to the run directory. --quiet leaves out the progress bar and the
table, not the result: the chosen lambda with the test accuracy, and the run directory.

examples:
  layerwise reproduce
  layerwise reproduce --epochs 200 --lambdas "logspace(-3,1,5)" --jobs 2 --out runs/quick
  layerwise reproduce --dask-local 2
  layerwise reproduce --hidden 64,32 --activation tanh --output-activation none
"""

import sys
import time

from ..experiments import backends
from ..nn.config import number_list
from ..reports import run_dir
from .options import add_backend_arguments, add_config_arguments, config_from_args


def add_arguments(p):
    from ..experiments.tutorial import OPTIONS, TUTORIAL

    add_config_arguments(p, TUTORIAL, names=OPTIONS)
    p.add_argument(
        "--lambdas",
        default="logspace(-2,2,10)",
        help='L2 strengths to try: "0.01,0.1,1" or logspace(a,b,n) (default logspace(-2,2,10))',
    )
    add_backend_arguments(p)
    p.add_argument("--out", default=None, help="run directory to create (default runs/<timestamp>-reproduce)")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar and no table (the result lines stay)"
    )


def _draw_sweep_figure(folder, partial):
    # matplotlib is imported here, while the final model trains in a worker, and not
    # before the sweep, where its import would delay every training.
    from ..reports.tutorial import draw_sweep_figure

    draw_sweep_figure(folder, partial)


def run(args):
    started = time.perf_counter()
    from ..experiments.tutorial import TUTORIAL, check_lambdas

    config = config_from_args(args, TUTORIAL)
    lambdas = check_lambdas(number_list(args.lambdas, "lambda"))
    pool, backend_name = backends.backend(args.jobs, args.dask, args.dask_local)
    out = args.out or run_dir.default_run_dir("reproduce")
    with pool, run_dir.run_directory(out) as tmp:
        from tqdm import tqdm

        from ..experiments import tutorial

        bar = tqdm(
            total=len(lambdas) + 1,
            desc="trainings",
            unit="net",
            disable=args.quiet or not sys.stderr.isatty(),
            leave=False,
        )
        result = tutorial.run(
            config,
            lambdas,
            pool=pool,
            on_done=lambda i, r: bar.update(),
            during_final=lambda partial: _draw_sweep_figure(tmp, partial),
        )
        bar.close()
        from ..reports.tutorial import result_line, write_report

        summary = write_report(tmp, result, jobs=pool.jobs, backend=backend_name, started=started)
    print(result_line(result) if args.quiet else summary)
    print(f"run directory: {out}")
    return 0
