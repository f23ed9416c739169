"""The documentation site builds in strict mode (a broken link, a missing reference or a
public name without a docstring fails it), with an API reference of every public name,
the guide and the notebooks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import layerwise

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_api_reference_covers_every_public_name(site):
    page = (site / "api" / "index.html").read_text()
    for name in [n for n in layerwise.__all__ if not n.startswith("_")] + [
        "LayerwiseClassifier",
        "LayerwiseRegressor",
    ]:
        assert f'id="layerwise.{name}"' in page or f'id="layerwise.sklearn.{name}"' in page, name


@pytest.mark.slow
def test_the_guide_and_the_notebooks_are_pages(site):
    assert "The tutorial" in (site / "index.html").read_text()
    for page in ("data-and-training", "search", "ecosystem", "robustness", "serve", "tracking", "changelog"):
        assert (site / page / "index.html").exists(), page
    for notebook in ("tutorial", "fashion_mnist"):
        assert "<img" in (site / "notebooks" / notebook / "index.html").read_text(), notebook


def test_a_public_name_without_a_docstring_is_found(monkeypatch):
    sys.path.insert(0, str(ROOT / "docs"))
    import hooks

    assert hooks.undocumented() == []

    class Undocumented:
        def method(self):
            pass

    monkeypatch.setattr(layerwise, "Undocumented", Undocumented, raising=False)
    monkeypatch.setattr(layerwise, "__all__", [*layerwise.__all__, "Undocumented"])
    assert hooks.undocumented() == ["layerwise.Undocumented", "layerwise.Undocumented.method"]
