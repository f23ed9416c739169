"""The run directory of `layerwise tune`: the best model, report.json, report.md,
results.csv, figures."""

import csv
import io
import time

import numpy as np

from ..io.atomic import write_atomic
from ..io.model_file import MODEL_FILENAME, save
from . import figures
from .run_dir import environment, write_json

# What report.json keeps of each trial of the ranking (bracket, rung, epochs: where they apply).
RANKED = ("trial", "bracket", "rung", "settings", "epochs", "val_accuracy", "val_loss", "seconds", "worker")


def label(value):
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "none" if value is None else str(value)


def _columns(result):
    """The columns a strategy adds to the table: halving's bracket (Hyperband) and rung,
    and the epochs trained, where trials stop early."""
    strategy = result.get("strategy")
    name = strategy.name if strategy is not None else "grid"
    return {"hyperband": ["bracket", "rung", "epochs"], "halving": ["rung", "epochs"],
            "optuna": ["epochs"]}.get(name, [])  # fmt: skip


def _seconds(result, record):
    """A trial's seconds: a candidate of successive halving, those of all its rungs."""
    if "rungs" not in result:
        return record["seconds"]
    return sum(r.get("seconds", 0.0) for r in result["rungs"] if r["trial"] == record["trial"])


def table(result, limit=None):
    """The finished trials, best first, as text (for successive halving, each candidate
    at the last rung it reached, furthest first)."""
    names = list(result["space"].grid) + list(result["space"].random)
    extra = _columns(result)
    rows = result["ranking"][:limit] if limit else result["ranking"]
    header = ["rank", "trial", *extra[:-1], *names, *extra[-1:], "val accuracy", "val loss", "seconds"]
    lines = [header]
    for rank, r in enumerate(rows, start=1):
        lines.append(
            [
                str(rank),
                str(r["trial"]),
                *(str(r.get(c, "")) for c in extra[:-1]),
                *(label(r["settings"].get(n)) for n in names),
                *(str(r.get(c, "")) for c in extra[-1:]),
                f"{r['val_accuracy']:.4f}",
                f"{r['val_loss']:.4f}",
                f"{_seconds(result, r):.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in lines)


def summary(report):
    """One line on how the search spent its epochs, from a report.json's fields."""
    strategy = report.get("strategy", {"name": "grid"})
    name = strategy["name"]
    trained = f"{report['total_epochs']} epochs trained"
    if name in ("halving", "hyperband"):
        brackets = f" in {report['brackets']} brackets" if name == "hyperband" else ""
        return (
            f"{name}: {report['trials']} candidates{brackets}, {report['rungs']} rungs run, {trained} "
            f"({report['full_epochs']} to train every candidate to {strategy['max_epochs']} epochs)"
        )
    if name == "optuna":
        return (
            f"Optuna study ({strategy['sampler']} sampler, {strategy['pruner']} pruner): {report['trials']} "
            f"trials, {len(report['pruned'])} pruned, {trained}"
        )
    return f"{name}: {report['trials']} trials, {trained}"


def score_label(result):
    """What a trial's score is: its validation accuracy, or its mean over the --cv folds."""
    return "cross-validation mean accuracy" if result["cv"] else "validation accuracy"


def fold_spread(record):
    """The standard deviation of a trial's accuracy over its cross-validation folds, or
    None without folds."""
    folds = record.get("fold_accuracy")
    return float(np.std(folds)) if folds else None


def draw_figures(folder, result):
    """Score against a single searched setting, or a heatmap for two; with more, the best
    score per value of each numeric setting (every trial drawn faintly behind it). After
    cross-validation the scores are fold means, with the folds' spread as error bars."""
    names = list(result["space"].grid) + list(result["space"].random)
    ok = result["ranking"]
    cv = result["cv"]
    drawn = []
    if len(names) == 2 and not result["space"].random:
        a, b = names
        rows = [label(v) for v in result["space"].grid[a]]
        cols = [label(v) for v in result["space"].grid[b]]
        grid = np.full((len(rows), len(cols)), np.nan)
        for r in reversed(ok):  # a point tried more than once (Hyperband's brackets): its best
            grid[rows.index(label(r["settings"][a])), cols.index(label(r["settings"][b]))] = r["val_accuracy"]
        best = result["best"]["settings"] if ok else None
        drawn.append(
            figures.heatmap(
                folder / f"heatmap_{a}_{b}.png",
                grid,
                rows,
                cols,
                xlabel=b,
                ylabel=a,
                title=f"{cv}-fold cross-validation mean accuracy" if cv else "validation accuracy",
                best=(rows.index(label(best[a])), cols.index(label(best[b]))) if best else None,
                score_label=score_label(result),
            )
        )
        return drawn
    for name in names:
        values = [r["settings"][name] for r in ok]
        if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            continue
        best = {}  # the best trial of each value
        for v, r in zip(values, ok):
            if v not in best or r["val_accuracy"] > best[v]["val_accuracy"]:
                best[v] = r
        xs = sorted(best)
        log = xs[0] > 0 and xs[-1] / xs[0] > 20
        several = len(best) < len(values)  # several trials per value: the other settings varied
        spreads = [fold_spread(best[x]) for x in xs]
        errors = spreads if cv and None not in spreads else None
        points_label = None  # with one searched setting, nothing else varied: one trial per value
        if len(names) > 1:
            points_label = "best trial per value" if several else "one trial each, other settings varied"
        drawn.append(
            figures.score_vs_setting(
                folder / f"score_vs_{name}.png",
                xs,
                [best[x]["val_accuracy"] for x in xs],
                xlabel=name,
                ylabel=score_label(result),
                log=log,
                best=result["best"]["settings"][name],
                errors=errors,
                error_label=f"± 1 s.d. over the {cv} folds" if errors else None,
                # points joined only when nothing else varied between them
                join=len(names) == 1,
                points_label=points_label,
                trials=(values, [r["val_accuracy"] for r in ok]) if several else None,
                edge_hint="widen the search range",
            )
        )
    return drawn


def write_report(folder, result, drawn, *, backend, data, preprocessing, started):
    """Writes the best settings' network (``result["net"]``, scored on the test set) as
    model.safetensors, with the classes of the Dataset ``data``, the ``preprocessing`` the
    search's data had, and metadata naming the dataset and the best settings; then
    report.json, results.csv and report.md. ``drawn`` lists the figures' paths."""
    best = result["best"]
    strategy = result.get("strategy")
    metadata = {
        "dataset": data.name,
        "data": str(result["settings"].data),
        "settings": result["best_settings"].to_dict(),
    }
    save(result["net"], folder / MODEL_FILENAME, classes=data.classes, preprocessing=preprocessing,
         metadata=metadata)  # fmt: skip
    report = {
        "data": data.name,
        "space": result["space"].to_dict(),
        "settings": result["settings"].to_dict(),
        "seed": result["seed"],
        "selection": f"{result['cv']}-fold cross-validation" if result["cv"] else "validation split",
        "backend": backend,
        "strategy": strategy.to_dict() if strategy is not None else {"name": "grid"},
        "trials": len(result["trials"]),
        "finished": len(result["ranking"]),
        "pruned": [r["trial"] for r in result.get("pruned", [])],
        "total_epochs": result.get("total_epochs"),
        "failed": [
            {"trial": r["trial"], "settings": r["settings"], "error": r.get("error")}
            for r in result["failed"]
        ],
        "best": {
            "trial": best["trial"],
            "settings": best["settings"],
            "val_accuracy": best["val_accuracy"],
            "val_loss": best["val_loss"],
        },
        "best_settings": result["best_settings"].to_dict(),
        "network_summary": result["net"].summary(print_fn=None),
        "test_accuracy": result["test_accuracy"],
        "ranking": [{k: r[k] for k in RANKED if k in r} for r in result["ranking"]],
        "model": MODEL_FILENAME,
        "figures": [p.name for p in drawn],
        "environment": environment(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if "rungs" in result:
        report["rungs"] = len(result["rungs"])
        report["brackets"] = len(strategy.schedule())
        report["full_epochs"] = len(result["trials"]) * strategy.max_epochs
    report["seconds"] = time.perf_counter() - started
    write_json(folder / "report.json", report)
    write_atomic(folder / "results.csv", _csv(result))
    write_atomic(folder / "report.md", _markdown(report, result, drawn))
    return report


def _csv(result):
    names = list(result["space"].grid) + list(result["space"].random)
    extra = _columns(result)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "trial", *extra, *names, "val_accuracy", "val_loss", "seconds", "worker"])
    for rank, r in enumerate(result["ranking"], start=1):
        writer.writerow(
            [
                rank,
                r["trial"],
                *(r.get(c, "") for c in extra),
                *(label(r["settings"].get(n)) for n in names),
                r["val_accuracy"],
                r["val_loss"],
                round(_seconds(result, r), 3),
                r["worker"],
            ]
        )
    return out.getvalue()


def _markdown(report, result, drawn):
    best = report["best"]
    lines = [
        f"# Hyperparameter search on {report['data']}",
        "",
        f"{report['trials']} trials ({report['finished']} finished, {len(report['failed'])} failed), "
        f"selected by {report['selection']}, on {report['backend']}; seed {report['seed']}.",
        "",
        summary(report) + ".",
        "",
        f"**Best: {', '.join(f'{k} = {label(v)}' for k, v in best['settings'].items())} "
        f"(validation accuracy {best['val_accuracy']:.4f}); "
        f"{'retrained on every non-test example: ' if result['cv'] else ''}"
        f"test accuracy {report['test_accuracy']:.4f}.**",
        "",
        f"This network is saved as `{report['model']}`, with its classes, its preprocessing and the "
        "best settings; `layerwise evaluate`, `layerwise predict` and `layerwise export` take this "
        "run directory.",
        "",
        "## Trials, best first",
        "",
        "```",
        table(result),
        "```",
        "",
        "## The best network",
        "",
        *([f"Layers: `{result['best_settings'].layers}`", ""] if result["best_settings"].layers else []),
        "```",
        report["network_summary"],
        "```",
        "",
    ]
    if result.get("pruned"):
        lines += ["## Pruned trials", ""]
        lines += [f"- trial {r['trial']} ({r['settings']}): pruned after {r['epochs']} epochs, validation "
                  f"accuracy {r['val_accuracy']:.4f}" for r in result["pruned"]]  # fmt: skip
        lines.append("")
    if report["failed"]:
        lines += ["## Failed trials", ""]
        lines += [f"- trial {f['trial']} ({f['settings']}): {f['error']}" for f in report["failed"]]
        lines.append("")
    for path in drawn:
        lines += [f"![{path.stem}]({path.name})", ""]
    return "\n".join(lines)
