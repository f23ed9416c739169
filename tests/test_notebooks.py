"""The example notebooks run top to bottom on a fresh kernel (their own cells assert the
results that matter), the Fashion-MNIST one on a subset; the stored copies hold the
outputs of a full run (make notebooks), which the documentation site shows."""

import sys
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))
import run_notebooks  # noqa: E402


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_the_notebook_runs_top_to_bottom(name):
    nb = run_notebooks.execute(name, run_notebooks.SMALL.get(name))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_the_stored_notebook_holds_the_outputs_of_a_run(name):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), f"run make notebooks for {name}"
    assert any(o.output_type == "display_data" and "image/png" in o.data for c in code for o in c.outputs)


def test_parameters_replace_the_tagged_cells_assignments():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("N_TRAIN = None  # all\nEPOCHS = 10\n")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(N_TRAIN)")]
    run_notebooks.with_parameters(nb, {"N_TRAIN": 3000})
    assert nb.cells[0].source == "N_TRAIN = 3000\nEPOCHS = 10\n"
    with pytest.raises(ValueError, match="does not assign SEED"):
        run_notebooks.with_parameters(nb, {"SEED": 1})
