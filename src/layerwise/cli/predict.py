"""Predict classes for your own data with a saved model.

Inputs are image files (PNG, JPEG, ...: converted to grayscale and resized to the model's
image size, one prediction each), CSV files (one prediction per row of numbers; a first
line that is not numeric is a header) and NPZ/NPY arrays (rows, or images of the model's
size). Values are in the units of the training data: the model applies its own scaling.
A run that did not finish (stopped by Ctrl-C or killed) has no model file yet: its
checkpoint's weights are used, as a line on stderr says.

examples:
  layerwise predict runs/20260101-120000-train digit.png
  layerwise predict model.safetensors drawing.jpg --invert --top 5
  layerwise predict model.safetensors rows.csv arrays.npz --json
"""

import json
import sys


def add_arguments(p):
    p.add_argument(
        "model", help="a model file, or a run directory (its checkpoint if the run did not finish)"
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="PNG/JPEG images, CSV files, NPZ/NPY arrays")
    p.add_argument("--invert", action="store_true", help="images are dark ink on a light background")
    p.add_argument("--top", type=int, default=3, help="probabilities to show per input (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of text")


def run(args):
    import numpy as np

    from ..data.inputs import read_inputs
    from ..errors import LayerwiseError
    from ..io.model_file import load_model_or_checkpoint

    if args.top < 1:
        raise LayerwiseError(f"--top must be at least 1, not {args.top}")
    source = load_model_or_checkpoint(args.model)
    if source.note:
        print(f"layerwise predict: {source.note}", file=sys.stderr)
    model = source.model
    batches = [read_inputs(path, model, invert=args.invert) for path in args.inputs]  # all checked first
    for names, X in batches:
        proba = model.predict_proba(X)
        for name, p in zip(names, proba):
            order = np.argsort(-p, kind="stable")[: args.top]
            top = [(model.classes[i].item(), float(p[i])) for i in order]
            print(_json_line(name, top) if args.json else _text_line(name, top))
    sys.stdout.flush()


def _text_line(name, top):
    best = top[0][0]
    shown = ", ".join(f"{label} {p:.3f}" for label, p in top)
    return f"{name}: {best}  ({shown})"


def _json_line(name, top):
    return json.dumps(
        {"input": name, "class": top[0][0], "top": [{"class": c, "probability": p} for c, p in top]}
    )
