"""docs/ecosystem.md's Python examples run as written, in order, in an empty folder."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "ecosystem.md"


def test_ecosystem_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
