"""Search hyperparameters: train one network per setting, pick the best on validation data.

The search space comes from --grid (every combination), --random with --trials (seeded
draws), or a TOML file (--space). Settings that are not searched are the options of
`layerwise train`, with the same names and defaults (--data digits by default). Each
trial trains from its own seed; the best setting (validation accuracy, or the mean over
--cv folds) is scored on the test set: with a validation split, the trial's own network;
after --cv, a network retrained on every non-test example.

--strategy says how the epochs are spent: grid or random (every candidate trained to the
end, the default), halving (every candidate trains a few epochs, the best 1/--eta go on
from where they were, until --max-epochs) or hyperband (several halving brackets).
--sampler tpe|random|grid and --pruner none|median|hyperband run an Optuna study instead
(pip install 'layerwise[optuna]'), kept in study.db in the run directory.

Trials run on all cores by default (--jobs), or on a Dask cluster (--dask ADDRESS, or
--dask-local N for a local one). Each finished trial (or rung) is appended to trials.jsonl
in the run directory; run the same command with --resume --out DIR to finish a stopped
search.
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
  layerwise tune --data digits --grid "lr=logspace(-3,-1,3)" --grid "l2=0,0.01,0.1" \
      --grid "hidden=32;64;128" --strategy halving --min-epochs 3 --epochs 27
  layerwise tune --data digits --random "lr=loguniform(1e-4,1e-1)" --strategy hyperband \
      --min-epochs 1 --max-epochs 27
  layerwise tune --data digits --random "lr=loguniform(1e-4,1e-1)" --random "l2=uniform(0,0.1)" \
      --trials 20 --sampler tpe --pruner median --out runs/study
  layerwise tune --space search.toml --out runs/search --resume
"""

import json
import sys
import time
from contextlib import contextmanager, suppress
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
    space.add_argument(
        "--trials", type=int, default=None, help="random draws (with --random); an Optuna study's trials"
    )
    space.add_argument(
        "--space", default=None, help="a TOML file with [grid], [random] and [settings] tables"
    )
    space.add_argument("--cv", type=int, default=None, help="select by k-fold cross-validation (k >= 2)")
    add_strategy_arguments(p)
    add_config_arguments(p, DEFAULTS)
    p.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    add_backend_arguments(p)
    p.add_argument("--out", default=None, help="run directory (default runs/<timestamp>-tune)")
    p.add_argument("--resume", action="store_true", help="continue the search already in --out")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar and no table (the result lines stay)"
    )


def add_strategy_arguments(p):
    """tune's own options: how the search spends its epochs (not training settings)."""
    group = p.add_argument_group("search strategy")
    group.add_argument(
        "--strategy",
        default=None,
        metavar="NAME",
        help="grid or random: every candidate trained to the end (the default: the space's kind); "
        "halving: successive halving, the best 1/eta of each rung continued from their state; "
        "hyperband: several halving brackets, from many candidates to a few at the full budget",
    )
    group.add_argument(
        "--eta",
        type=int,
        default=None,
        help="halving, hyperband: the best 1/eta go on, eta times longer (default 3)",
    )
    group.add_argument(
        "--min-epochs",
        type=int,
        default=None,
        metavar="N",
        help="halving, hyperband: the epochs of the first rung, at least (default 1); an Optuna pruner "
        "stops no trial before them",
    )
    group.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        metavar="N",
        help="halving, hyperband, Optuna: the epochs of a full trial (default: --epochs)",
    )
    group.add_argument(
        "--sampler",
        default=None,
        metavar="NAME",
        help="an Optuna study: tpe, random or grid (the points of --grid, in order); needs "
        "pip install 'layerwise[optuna]'",
    )
    group.add_argument(
        "--pruner",
        default=None,
        metavar="NAME",
        help="an Optuna study's pruner, fed each epoch's validation accuracy: none, median or hyperband "
        "(default none; alone, with the tpe sampler)",
    )


def spec_from_args(args):
    """Everything that defines the search, checked before any work: (space, config,
    strategy, spec). Settings given on the command line win over a TOML file's [settings]."""
    from ..experiments.search import Space, Strategy, check

    strategy = Strategy.of(args.strategy, eta=args.eta, min_epochs=args.min_epochs,
                           max_epochs=args.max_epochs, sampler=args.sampler, pruner=args.pruner)  # fmt: skip
    need_trials = strategy.name != "hyperband"
    if args.space:
        space, file_settings = Space.from_toml(args.space, need_trials)
        if args.grid or args.random:
            raise LayerwiseError("give the search space either in --space or with --grid/--random, not both")
    else:
        space, file_settings = Space.parse(args.grid, args.random, args.trials, need_trials), {}
    config = config_from_args(args, DEFAULTS, extra=file_settings)
    strategy = strategy.check(space, config, args.cv)
    if strategy.optuna:
        from ..experiments.search.optuna_study import import_optuna

        import_optuna()  # installed: before the run directory
    check(space, config, args.cv, config.seed, strategy=strategy)
    spec = {"cv": args.cv, "space": space.to_dict(), "settings": config.to_dict()}
    if strategy.name not in ("grid", "random"):
        spec["strategy"] = strategy.to_dict()
    return space, config, strategy, json.loads(json.dumps(spec))


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


@contextmanager
def _ending(tracking, last=False):
    """Ends the search's parent MLflow run when the block fails (FAILED, or KILLED by
    Ctrl-C), or when the ``last`` block ends (FINISHED, logging the model file)."""
    try:
        yield
    except BaseException as error:
        if tracking is not None:
            with suppress(LayerwiseError):
                tracking.end("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        raise
    if last and tracking is not None:
        tracking.end()


def run(args):
    started = time.perf_counter()
    from ..experiments.search import check, search
    from ..experiments.search.tracking import Tracking
    from ..experiments.training import prepare_data
    from ..io.model_file import MODEL_FILENAME

    space, config, strategy, spec = spec_from_args(args)
    if args.resume and not args.out:
        raise LayerwiseError("--resume needs the run directory: --out DIR")
    backend, backend_name = backends.backend(args.jobs, args.dask, args.dask_local)
    data, prep = prepare_data(config, args.data_dir, hold_out_test=True)
    # the layers fit the data: before the run directory
    check(space, config, args.cv, config.seed, data, strategy=strategy)
    n = strategy.tasks(len(space.trials_settings(config.seed)))
    # --tensorboard, --mlflow: their libraries are there (before the run directory); the
    # parent MLflow run ends once the best model is written, which it logs
    tracking = Tracking.of(config, keep_open=True)
    with backend:  # connects to the cluster before the run directory is made
        out = open_run_directory(args.out or run_dir.default_run_dir("tune"), spec, args.resume)
        if tracking is not None:
            tracking.run_name, tracking.log_model = out.name, out / MODEL_FILENAME
        from tqdm import tqdm

        unit = "rung" if strategy.halving else "trial"
        bar = tqdm(
            total=n, desc=f"{unit}s", unit=unit, disable=args.quiet or not sys.stderr.isatty(), leave=False
        )
        drawn = []
        with _ending(tracking):
            result = search(
                data,
                space,
                config,
                seed=config.seed,
                cv=args.cv,
                pool=backend,
                out=out,
                resume=args.resume,
                strategy=strategy,
                on_trial=lambda record: _trial_done(bar),
                during_refit=lambda partial: drawn.extend(_draw_figures(out, partial)),
                tracking=tracking,
            )
        bar.close()
    from ..experiments.search.halving import CANDIDATES_FOLDER
    from ..experiments.search.optuna_study import STUDY_FILENAME
    from ..experiments.search.trials import TRIALS_FILENAME, resume_note
    from ..reports.search import summary, table, write_report

    kept = {"search.json", TRIALS_FILENAME, STUDY_FILENAME, CANDIDATES_FOLDER}
    with _ending(tracking, last=True), run_dir.keeping(out, kept, resume_note(out)):
        report = write_report(out, result, drawn, backend=backend_name, data=data, preprocessing=prep,
                              started=started)  # fmt: skip
    if not args.quiet:
        print(table(result, limit=20))
    print(summary(report))
    if report["failed"]:
        print(f"{len(report['failed'])} trial(s) failed; see report.md")
    best = ", ".join(f"{k} = {v}" for k, v in report["best"]["settings"].items())
    print(
        f"best: {best}  validation accuracy {report['best']['val_accuracy']:.4f}  "
        f"test accuracy {report['test_accuracy']:.4f}"
    )
    print(f"run directory: {out}")
    return 0
