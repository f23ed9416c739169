"""Runs the example notebooks top to bottom, each on a fresh kernel, in a temporary folder.

    python examples/run_notebooks.py             # every notebook, on the full data
    python examples/run_notebooks.py --store     # the same, writing the outputs back (make notebooks)
    python examples/run_notebooks.py --small     # with each notebook's small parameters (the tests')

A notebook's parameters are the assignments in its cell tagged "parameters"; SMALL gives
the values the tests use, so that both notebooks run in about two minutes together.
"""

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ["tutorial.ipynb", "fashion_mnist.ipynb"]
SMALL = {"fashion_mnist.ipynb": {"N_TRAIN": 3000, "EPOCHS": 3, "SEARCH_EPOCHS": 2, "CNN_EPOCHS": 1}}


def with_parameters(nb, values):
    """``nb`` with the assignments of its "parameters" cell replaced by ``values``."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if values and len(cells) != 1:
        raise ValueError("a notebook with parameters needs exactly one cell tagged 'parameters'")
    for name, value in values.items():
        pattern = re.compile(rf"^{name}\s*=.*$", re.M)
        if not pattern.search(cells[0].source):
            raise ValueError(f"the parameters cell does not assign {name}")
        cells[0].source = pattern.sub(f"{name} = {value!r}", cells[0].source)
    return nb


def execute(name, parameters=None, timeout=1200):
    """The notebook ``name`` of examples/, executed (with ``parameters``) in a temporary
    working folder; raises nbclient's CellExecutionError when a cell fails."""
    nb = with_parameters(nbformat.read(HERE / name, as_version=4), parameters or {})
    with tempfile.TemporaryDirectory() as folder:
        # no execution timestamps in the stored notebooks, so that their diffs stay readable
        resources = {"metadata": {"path": folder}}
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", record_timing=False, resources=resources
        ).execute()
    return nb


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", action="store_true", help="write the outputs back into examples/")
    parser.add_argument("--small", action="store_true", help="the tests' small parameters")
    args = parser.parse_args()
    for name in NOTEBOOKS:
        started = time.perf_counter()
        nb = execute(name, SMALL.get(name) if args.small else None)
        print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
        if args.store:
            nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    sys.exit(main())
