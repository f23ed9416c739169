"""Figures are drawn without touching matplotlib's backend, so that a notebook that uses the
project's figure code keeps its inline plots."""

import subprocess
import sys


def test_importing_and_drawing_figures_leaves_the_backend_as_it_was(tmp_path):
    code = f"""
import matplotlib
matplotlib.use("svg")
from layerwise.reports import figures
figures.training_curves({str(tmp_path / "curves.png")!r}, [3, 2, 1], [3, 2.5, 2], ylabel="loss")
print(matplotlib.get_backend())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "svg"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
