"""What a library people adopt carries: the test extra lists what the tests import, one
version, a license that matches the package's metadata, a changelog."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

import layerwise

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements, extras):
    """Distribution names a list of requirements installs directly, following the project's
    own extras ("layerwise[cli]") and counting an extra's name as a distribution
    ("dask[distributed]" gives dask and distributed)."""
    names = set()
    for requirement in requirements:
        name, _, rest = re.match(r"([A-Za-z0-9_.-]+)(\[([^\]]*)\])?", requirement).group(1, 2, 3)
        if normalise(name) == "layerwise":
            for extra in rest.split(","):
                names |= declared(extras[extra.strip()], extras)
            continue
        names.add(normalise(name))
        names |= {normalise(extra) for extra in (rest or "").split(",") if extra}
    return names


def test_the_test_extra_lists_every_distribution_the_tests_import():
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    available = declared(project["dependencies"] + extras["test"], extras)
    local = {path.stem for folder in ("tests", "docs", "examples") for path in (ROOT / folder).rglob("*.py")}
    local |= {"fuzz", "layerwise"}
    imported = set()
    for path in (ROOT / "tests").glob("*.py"):  # tests/fuzz is run by `make fuzz`, with its own extra
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - local
    providers = packages_distributions()
    missing = {
        module: providers.get(module)
        for module in third_party
        if not {normalise(d) for d in providers.get(module, [module])} & available
    }
    assert missing == {}, f"imported by the tests but not in the test extra: {missing}"


def test_the_version_is_defined_once():
    assert PYPROJECT["project"]["dynamic"] == ["version"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "layerwise._version.__version__"}
    assert layerwise.__version__ == version("layerwise")
    sources = [p for p in (ROOT / "src").rglob("*.py") if re.search(r"^__version__ =", p.read_text(), re.M)]
    assert [p.name for p in sources] == ["_version.py"]


def test_the_license_file_matches_the_metadata():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_changelog_names_the_current_version_or_unreleased_changes():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog or f"## [{layerwise.__version__}]" in changelog
