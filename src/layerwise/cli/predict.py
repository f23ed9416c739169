"""Predict classes for your own data with a saved model.

Inputs are image files (PNG, JPEG, ...: one prediction each) and folders of them (every
image inside, sorted by name), CSV files (one prediction per row of numbers; a first line
that is not numeric is a header) and NPZ/NPY arrays (rows, or images of the model's size).
Images are prepared as the model's training images were: transparency composited onto the
background, grayscale, inverted (with a line on stderr) when their background is the
opposite of the training images' (--invert / --no-invert decide instead), framed as they
were (MNIST-style digits centred by mass) and resized to their size. Values are in the
units of the training data: the model applies its own scaling.
A run that did not finish (stopped by Ctrl-C or killed) has no model file yet: its
checkpoint's weights are used, as a line on stderr says.

examples:
  layerwise predict runs/20260101-120000-train digit.png
  layerwise predict model.safetensors drawing.jpg --no-invert --top 5
  layerwise predict model.safetensors photos/
  layerwise predict model.safetensors rows.csv arrays.npz --json
"""

import argparse
import json
import sys


def add_arguments(p):
    p.add_argument(
        "model", help="a model file, or a run directory (its checkpoint if the run did not finish)"
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="PNG/JPEG images, folders of them, CSV files, NPZ/NPY arrays",
    )
    p.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="invert every image (--no-invert: none); default: those whose background is the "
        "opposite of the model's training images'",
    )
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

    def note(line):
        print(f"layerwise predict: {line}", file=sys.stderr)

    # all read and checked before anything is printed on stdout
    batches = [read_inputs(path, model, invert=args.invert, note=note) for path in args.inputs]
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
