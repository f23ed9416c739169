"""The core's type hints: mypy passes on layerwise.nn with the settings in pyproject.toml,
and the installed package says it is typed (PEP 561), so that users' type checkers read them."""

import importlib.resources
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_passes_on_the_core():
    # The settings ([tool.mypy] in pyproject.toml) name the files; the cache makes reruns fast.
    run = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Success"), run.stdout


def test_the_package_is_marked_typed():
    assert (importlib.resources.files("layerwise") / "py.typed").is_file()
