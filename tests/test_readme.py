"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_search_guide_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "search.md").read_text(), flags=re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/search.md", "exec"), {})


@pytest.mark.slow
def test_tutorial_example_reaches_the_tutorials_accuracy():
    import subprocess
    import sys

    example = ROOT / "examples" / "tutorial_network.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, check=True)
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", done.stdout).group(1))
    assert accuracy >= 0.95
