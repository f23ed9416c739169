"""Search hyperparameters: train one network per setting, pick the best on validation data.

The search space comes from --grid (every combination), --random with --trials (seeded
draws), or a TOML file (--space). Settings that are not searched are the options of
`layerwise train`, with the same names and defaults (--data digits by default). Each
trial trains from its own seed; the best setting (validation accuracy, or the mean over
--cv folds) is scored on the test set: with a validation split, the trial's own network;
after --cv, a network retrained on every non-test example.

Trials run on all cores by default (--jobs), or on a Dask cluster (--dask ADDRESS, or
--dask-local N for a local one). Each finished trial is appended to trials.jsonl in the
run directory; run the same command with --resume --out DIR to finish a stopped search.
At the end the run directory gets the best network as model.safetensors (for `layerwise
evaluate`, `predict` and `export`), report.json, report.md, results.csv and figures.
--quiet leaves out the progress bar and the table, not the result: the best settings with
their validation and test accuracy, and the run directory.

examples:
  layerwise tune --grid "l2=logspace(-2,2,10)" --optimizer sgd --lr 0.2 \\
      --batch-size full --epochs 300 --activation sigmoid
  layerwise tune --data digits --grid "l2=0.01,0.1,1" --grid "hidden=48,32;64,64;128" --cv 5
  layerwise tune --data digits --epochs 30 \\
      --grid "layers=conv8k3p1,relu,maxpool2,32,relu;conv8k3p1,bn,relu,maxpool2,32,relu;none"
  layerwise tune --data fashion-mnist --random "lr=loguniform(1e-4,1e-2)" \\
      --random "dropout=uniform(0,0.5)" --trials 8 --epochs 5 --dask tcp://scheduler:8786
  layerwise tune --space search.toml --out runs/search --resume
"""

import json
import sys
import time
from pathlib import Path

from ..errors import LayerwiseError
from ..experiments import backends
from ..nn.config import DEFAULTS
from ..reports import run_dir
from .options import add_backend_arguments, add_config_arguments, config_from_args


def add_arguments(p):
    space = p.add_argument_group("search space")
    space.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="SETTING=VALUES",
        help='values to try, e.g. "l2=logspace(-2,2,10)", "hidden=48,32;64,64" (one network per '
        'semicolon-separated list of sizes), "layers=conv8k3p1,relu,maxpool2,32,relu;64,relu" (one per '
        "semicolon-separated spec of --layers; none: the network of --hidden); repeatable",
    )
    space.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="SETTING=DIST",
        help='random search, e.g. "lr=loguniform(1e-4,1e-1)", "dropout=uniform(0,0.5)", '
        '"batch_size=32,64,128" (repeatable; needs --trials)',
    )
    space.add_argument("--trials", type=int, default=None, help="random draws (with --random)")
    space.add_argument(
        "--space", default=None, help="a TOML file with [grid], [random] and [settings] tables"
    )
    space.add_argument("--cv", type=int, default=None, help="select by k-fold cross-validation (k >= 2)")
    add_config_arguments(p, DEFAULTS)
    p.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    add_backend_arguments(p)
    p.add_argument("--out", default=None, help="run directory (default runs/<timestamp>-tune)")
    p.add_argument("--resume", action="store_true", help="continue the search already in --out")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar and no table (the result lines stay)"
    )


def spec_from_args(args):
    """Everything that defines the search, checked before any work: (space, config, spec).
    Settings given on the command line win over a TOML file's [settings]."""
    from ..experiments.search import Space, check

    if args.space:
        space, file_settings = Space.from_toml(args.space)
        if args.grid or args.random:
            raise LayerwiseError("give the search space either in --space or with --grid/--random, not both")
    else:
        space, file_settings = Space.parse(args.grid, args.random, args.trials), {}
    config = config_from_args(args, DEFAULTS, extra=file_settings)
    check(space, config, args.cv, config.seed)
    spec = {"cv": args.cv, "space": space.to_dict(), "settings": config.to_dict()}
    return space, config, json.loads(json.dumps(spec))


def open_run_directory(out, spec, resume):
    """Creates the run directory with search.json, or checks it on --resume."""
    out = Path(out)
    saved = out / "search.json"
    if resume:
        if not saved.exists():
            raise LayerwiseError(f"nothing to resume in {out}: it has no search.json")
        try:
            previous = json.loads(saved.read_text())
        except (OSError, ValueError) as e:
            raise LayerwiseError(f"cannot read {saved}: {e}") from None
        if previous != spec:
            changed = sorted(k for k in set(spec) | set(previous) if spec.get(k) != previous.get(k))
            raise LayerwiseError(
                f"the search in {out} was started with other settings ({', '.join(changed)})"
            )
        return out
    return run_dir.create_run_directory(out, saved.name, spec, hint=" (use --resume to continue)")


def _trial_done(bar):
    bar.update()
    # matplotlib's import (most of a second) happens here, after the first trial, while
    # the workers run the others; the figures are then quick to draw during the refit.
    from ..reports import search  # noqa: F401


def _draw_figures(folder, partial):
    # matplotlib is imported here, while a worker retrains the best settings.
    from ..reports.search import draw_figures

    return draw_figures(folder, partial)


def run(args):
    started = time.perf_counter()
    from ..experiments.search import check, search
    from ..experiments.training import prepare_data

    space, config, spec = spec_from_args(args)
    if args.resume and not args.out:
        raise LayerwiseError("--resume needs the run directory: --out DIR")
    backend, backend_name = backends.backend(args.jobs, args.dask, args.dask_local)
    data, prep = prepare_data(config, args.data_dir, hold_out_test=True)
    check(space, config, args.cv, config.seed, data)  # the layers fit the data: before the run directory
    n = len(space.trials_settings(config.seed))
    with backend:  # connects to the cluster before the run directory is made
        out = open_run_directory(args.out or run_dir.default_run_dir("tune"), spec, args.resume)
        from tqdm import tqdm

        bar = tqdm(
            total=n, desc="trials", unit="trial", disable=args.quiet or not sys.stderr.isatty(), leave=False
        )
        drawn = []
        result = search(
            data,
            space,
            config,
            seed=config.seed,
            cv=args.cv,
            pool=backend,
            out=out,
            resume=args.resume,
            on_trial=lambda record: _trial_done(bar),
            during_refit=lambda partial: drawn.extend(_draw_figures(out, partial)),
        )
        bar.close()
    from ..experiments.search.trials import TRIALS_FILENAME, resume_note
    from ..reports.search import table, write_report

    with run_dir.keeping(out, {"search.json", TRIALS_FILENAME}, resume_note(out)):
        report = write_report(out, result, drawn, backend=backend_name, data=data, preprocessing=prep,
                              started=started)  # fmt: skip
    if not args.quiet:
        print(table(result, limit=20))
    if report["failed"]:
        print(f"{len(report['failed'])} trial(s) failed; see report.md")
    best = ", ".join(f"{k} = {v}" for k, v in report["best"]["settings"].items())
    print(
        f"best: {best}  validation accuracy {report['best']['val_accuracy']:.4f}  "
        f"test accuracy {report['test_accuracy']:.4f}"
    )
    print(f"run directory: {out}")
    return 0
