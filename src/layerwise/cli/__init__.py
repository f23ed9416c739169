"""The `layerwise` command: the top of the design, it may import every other part and
nothing imports it. Each subcommand lives in layerwise/cli/<name>.py and provides
``add_arguments(parser)`` and ``run(args)``; heavy imports happen inside ``run``."""

import argparse
import difflib
import importlib
import os
import sys

from .._version import __version__
from ..errors import LayerwiseError

# name -> one-line help; the module layerwise.cli.<name> implements it
COMMANDS = {
    "reproduce": "the tutorial's experiment on the digits: lambda sweep, final model, report",
    "train": "train a network on a dataset (digits, MNIST, Fashion-MNIST, CSV, NPZ); write a run directory",
    "evaluate": "accuracy, per-class precision/recall and confusion matrix of a model on a dataset",
    "predict": "predicted classes and probabilities for images, CSV rows or NPZ arrays",
    "export": "write a model file as ONNX, preprocessing included",
    "gradcheck": "compare backpropagation's gradients with finite differences for a network",
    "tune": "hyperparameter search (grid, random, halving, Hyperband, Optuna), local or Dask, resumable",
    "serve": "a local web app: draw a digit and watch every layer respond, train live, compare runs",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, no usage dump: "layerwise train: error: argument --epochs: ..."
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog="layerwise",
        description="Neural networks from scratch in NumPy.",
        epilog="`layerwise reproduce` runs the tutorial's experiment; `layerwise COMMAND --help` "
        "describes a command and its options.",
    )
    parser.add_argument("--version", action="version", version=f"layerwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, summary in COMMANDS.items():
        module = importlib.import_module(f"layerwise.cli.{name}")
        cmd = sub.add_parser(
            name,
            help=summary,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def command_error(first):
    """The one-line error for a command line whose first word ``first`` is no command (a
    mistyped one, or an option given before any command), or None when it is fine."""
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return None
    commands = ", ".join(COMMANDS)
    if first.startswith("-"):
        return f"give a command before {first!r}: layerwise COMMAND [options], COMMAND one of {commands}"
    close = difflib.get_close_matches(first, COMMANDS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the commands are {commands}"
    return f"unknown command {first!r}; {hint}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv:  # `layerwise` alone: what it can do, and nothing run
        parser.print_help()
        return 0
    problem = command_error(argv[0])
    if problem:
        parser.error(problem)  # one line, exit status 2
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except LayerwiseError as e:
        print(f"layerwise {args.command}: error: {e}", file=sys.stderr)
        return 1
    except MemoryError as e:  # settings that ask for more memory than there is: one line too
        print(f"layerwise {args.command}: error: not enough memory: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the last resort: a file that a command failed to read or write
        cause = e.strerror or str(e) or type(e).__name__
        where = f"{os.fsdecode(e.filename)}: " if isinstance(e.filename, (str, bytes, os.PathLike)) else ""
        print(f"layerwise {args.command}: error: {where}{cause}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"layerwise {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
