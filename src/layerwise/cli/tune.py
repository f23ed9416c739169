"""Search hyperparameters: train one network per setting, pick the best on validation data.

The search space comes from --grid (every combination), --random with --trials (seeded
draws), or a TOML file (--space). Settings that are not searched are the options of
`layerwise train`, with the same names and defaults. Each trial trains from its own seed;
the best setting (validation accuracy, or the mean over --cv folds) is retrained on every
non-test example and scored on the test set.

Trials run on all cores by default (--jobs), or on a Dask cluster (--dask ADDRESS, or
--dask-local N for a local one). Each finished trial is appended to trials.jsonl in the
run directory; run the same command with --resume --out DIR to finish a stopped search.

examples:
  layerwise tune --data digits --grid "l2=logspace(-2,2,10)" --optimizer sgd --lr 0.2 \\
      --batch-size full --epochs 300 --activation sigmoid
  layerwise tune --data digits --grid "l2=0.01,0.1,1" --grid "hidden=48x32,64x64,128" --cv 5
  layerwise tune --data fashion-mnist --random "lr=loguniform(1e-4,1e-2)" \\
      --random "dropout=uniform(0,0.5)" --trials 8 --epochs 5 --dask tcp://scheduler:8786
  layerwise tune --space search.toml --out runs/search --resume
"""

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..errors import LayerwiseError
from ..experiments import backends as parallel
from ..reports import run_dir as reporting
from .options import add_backend_arguments, hidden_sizes, positive_int


def add_arguments(p):
    space = p.add_argument_group("search space")
    space.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="SETTING=VALUES",
        help='values to try, e.g. "l2=logspace(-2,2,10)", "hidden=48x32,64x64" (repeatable)',
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
    data = p.add_argument_group("data")
    data.add_argument("--data", default="digits", help="digits (default), mnist, fashion-mnist, or a path")
    data.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    data.add_argument("--label-column", default="0", help="CSV label column: index or header name")
    data.add_argument(
        "--validation",
        type=float,
        default=0.1,
        help="share held out for validation where the data has no validation set (default 0.1)",
    )
    data.add_argument("--scaling", default="unit", choices=["unit", "standard", "none"], help="default unit")
    fixed = p.add_argument_group("settings that are not searched (as in layerwise train)")
    fixed.add_argument("--hidden", default="256,128")
    fixed.add_argument("--activation", default="relu")
    fixed.add_argument("--output-activation", default="none")
    fixed.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    fixed.add_argument("--lr", type=float, default=None, help="default 1e-3 for adam, 0.01 for sgd")
    fixed.add_argument("--momentum", type=float, default=0.9)
    fixed.add_argument("--nesterov", action="store_true")
    fixed.add_argument("--batch-size", default="128", help="or 'full'")
    fixed.add_argument("--epochs", default="20")
    fixed.add_argument("--l2", type=float, default=0.0)
    fixed.add_argument("--dropout", type=float, default=0.0)
    fixed.add_argument("--schedule", default="constant", choices=["constant", "step", "cosine"])
    fixed.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    fixed.add_argument("--seed", type=int, default=0, help="seed of the splits and of every trial's seed")
    add_backend_arguments(p)
    p.add_argument("--out", default=None, help="run directory (default runs/<timestamp>-tune)")
    p.add_argument("--resume", action="store_true", help="continue the search already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")


def spec_from_args(args):
    """Everything that defines the search, checked before any work: (space, settings, spec)."""
    from ..experiments.search import Space, parse_value, settings_from

    if args.space:
        space, file_settings = Space.from_toml(args.space)
        if args.grid or args.random:
            raise LayerwiseError("give the search space either in --space or with --grid/--random, not both")
    else:
        space, file_settings = Space.parse(args.grid, args.random, args.trials), {}
    output = (
        None if args.output_activation.lower() in ("none", "identity", "linear") else args.output_activation
    )
    batch = (
        None if args.batch_size.lower() in ("full", "none") else positive_int(args.batch_size, "--batch-size")
    )
    options = dict(
        hidden=hidden_sizes(args.hidden),
        activation=args.activation,
        output_activation=output,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        nesterov=args.nesterov,
        batch_size=batch,
        epochs=positive_int(args.epochs, "--epochs"),
        l2=args.l2,
        dropout=args.dropout,
        schedule=args.schedule,
        dtype=args.dtype,
    )
    for name, value in file_settings.items():  # the file's [settings] are read like command-line values
        parsed = (
            parse_value(name, str(value))
            if name in ("hidden", "batch_size", "output_activation")
            else [value]
        )
        options[name] = parsed[0]
    settings = settings_from(options).validate()
    if not 0 < args.validation < 1:
        raise LayerwiseError(f"--validation must be between 0 and 1, not {args.validation}")
    if args.cv is not None and args.cv < 2:
        raise LayerwiseError(f"--cv needs at least 2 folds, not {args.cv}")
    spec = {
        "data": args.data,
        "label_column": args.label_column,
        "validation": args.validation,
        "scaling": args.scaling,
        "cv": args.cv,
        "seed": args.seed,
        "space": space.to_dict(),
        "settings": settings.to_dict(),
    }
    return space, settings, json.loads(json.dumps(spec))


def prepare(spec, data_dir):
    """The dataset with validation and test parts, scaled with statistics of the training part."""
    from ..data import load
    from ..data.preprocessing import fit_preprocessing, stratified_split

    label_column = spec["label_column"]
    label_column = int(label_column) if label_column.lstrip("-").isdigit() else label_column
    data = load(spec["data"], data_dir, label_column=label_column)
    if data.X_test is None:  # a file without a test part: hold out a stratified 20%
        train, test = stratified_split(data.y_train, 0.2, spec["seed"])
        X, y = data.X_train, data.y_train
        data = replace(data, X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test])
    data = data.with_validation(spec["validation"], seed=spec["seed"])
    prep = fit_preprocessing(
        data.X_train, spec["scaling"], pixel_max=data.pixel_max, image_shape=data.image_shape
    )
    for part in ("train", "valid", "test"):
        prep.transform(getattr(data, f"X_{part}"))
    return data


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
    reporting.check_location(out, hint=" (use --resume to continue)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        reporting.write_json(saved, spec)
    except OSError as e:
        raise LayerwiseError(f"cannot write to {out}: {e.strerror or e}") from None
    return out


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
    from ..experiments.search import search

    space, settings, spec = spec_from_args(args)
    if args.resume and not args.out:
        raise LayerwiseError("--resume needs the run directory: --out DIR")
    backend, backend_name = parallel.backend(args.jobs, args.dask, args.dask_local)
    data = prepare(spec, args.data_dir)
    n = len(space.trials_settings(args.seed))
    with backend:  # connects to the cluster before the run directory is made
        out = open_run_directory(args.out or reporting.default_run_dir("tune"), spec, args.resume)
        from tqdm import tqdm

        bar = tqdm(
            total=n, desc="trials", unit="trial", disable=args.quiet or not sys.stderr.isatty(), leave=False
        )
        drawn = []
        result = search(
            data,
            space,
            settings,
            seed=args.seed,
            cv=args.cv,
            pool=backend,
            out=out,
            resume=args.resume,
            on_trial=lambda record: _trial_done(bar),
            during_refit=lambda partial: drawn.extend(_draw_figures(out, partial)),
        )
        bar.close()
    from ..reports.search import table, write_report

    report = write_report(out, result, drawn, backend=backend_name, data_name=data.name, started=started)
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
