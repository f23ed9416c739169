"""The package's layers and the direction of their imports:

    cli  ->  serve  ->  experiments, reports, sklearn  ->  io, data  ->  nn  ->  errors, _version

A module imports only from its own part and the parts below it (imports inside functions
count too; those for type annotations only, under ``if TYPE_CHECKING:``, do not); the
core, layerwise.nn, loads no third-party module but NumPy."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "layerwise"
LEAVES = {"errors", "_version"}
BELOW = {  # part -> the parts it may import besides itself
    "nn": LEAVES,
    "io": {"nn"} | LEAVES,
    "data": {"nn"} | LEAVES,
    "experiments": {"io", "data", "nn"} | LEAVES,
    "reports": {"io", "data", "nn"} | LEAVES,
    "sklearn": {"io", "data", "nn"} | LEAVES,
    "serve": {"experiments", "reports", "io", "data", "nn"} | LEAVES,
    "cli": {"serve", "experiments", "reports", "sklearn", "io", "data", "nn"} | LEAVES,
    "errors": set(),
    "_version": set(),
    "__main__": {"cli"},  # python -m layerwise
}


def part_of(module):
    """layerwise.nn.layers -> "nn"; layerwise (the package's facade) -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imported_modules(source, module, is_package):
    """Every layerwise module that ``source`` (the text of ``module``) imports, but for
    imports under ``if TYPE_CHECKING:``, which only the type checker runs."""
    package = module if is_package else module.rsplit(".", 1)[0]
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names]  # `from . import cli`
    return [name for name in found if name == "layerwise" or name.startswith("layerwise.")]


def wrong_arrows(sources):
    """(importer, imported) pairs that go up or sideways; ``sources`` maps a module name to
    (text, is_package)."""
    wrong = []
    for module, (source, is_package) in sources.items():
        here = part_of(module)
        if here is None:
            continue  # layerwise/__init__.py gathers the public names from every part
        for target in imported_modules(source, module, is_package):
            there = part_of(target)
            if there is not None and there != here and there not in BELOW[here]:
                wrong.append((module, target))
    return wrong


def package_sources():
    sources = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["layerwise", *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        sources[module] = (path.read_text(), is_package)
    return sources


def test_every_import_goes_down_the_layers():
    sources = package_sources()
    assert {part_of(m) for m in sources} - {None} == set(BELOW), "a part of the package is not in BELOW"
    assert wrong_arrows(sources) == []


def test_a_wrong_arrow_is_caught():
    # the check itself, on modules that import upwards or sideways, absolutely or relatively
    sources = {
        "layerwise.nn.layers": ("from ..cli import main", False),
        "layerwise.io.checkpoint": ("def f():\n    from layerwise.data import load", False),
        "layerwise.data": ("from ..reports import figures", True),
        "layerwise.experiments.search.trial": ("from ... import reports", False),
        "layerwise.nn.network": ("from .layers import Linear\nfrom ..errors import LayerwiseError", False),
        "layerwise.cli.train": ("from ..experiments.training import TrainingRun", False),
    }
    assert wrong_arrows(sources) == [
        ("layerwise.nn.layers", "layerwise.cli"),
        ("layerwise.nn.layers", "layerwise.cli.main"),
        ("layerwise.io.checkpoint", "layerwise.data"),
        ("layerwise.io.checkpoint", "layerwise.data.load"),
        ("layerwise.data", "layerwise.reports"),
        ("layerwise.data", "layerwise.reports.figures"),
        ("layerwise.experiments.search.trial", "layerwise.reports"),
    ]


def test_every_part_says_what_it_holds_and_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and "import" in docstring.lower(), f"{init} does not say what it may import"


def test_the_core_loads_numpy_and_nothing_else():
    # the top-level modules that importing layerwise.nn adds to those NumPy brings
    code = (
        "import json, sys; import numpy, numpy.random; before = set(sys.modules); import layerwise.nn; "
        "added = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(json.dumps(sorted(added - set(sys.stdlib_module_names))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(json.loads(done.stdout)) <= {"layerwise", "numpy"}


def test_the_readmes_tree_names_every_module():
    readme = (PACKAGE.parents[1] / "README.md").read_text()
    section = readme[readme.index("## Architecture") : readme.index("### One batch")]
    named = set(re.findall(r"([a-z_]+\.py|[a-z_]+/)", section))
    for path in PACKAGE.rglob("*.py"):
        name = path.name if path.name != "__init__.py" or path.parent == PACKAGE else path.parent.name + "/"
        assert name in named, f"the README's architecture tree does not name {path.relative_to(PACKAGE)}"
