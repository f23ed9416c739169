"""Hooks of the documentation site (mkdocs.yml names this file).

- The home page is the README and the changelog page is CHANGELOG.md, both from the
  repository's root, with their links rewritten for the site.
- The API reference (api.md) is generated: one entry per name of ``layerwise.__all__`` and
  of ``layerwise.sklearn``, grouped by the module that defines it, so that a new public
  name appears by itself. A public name, or a public method of a public class, without a
  docstring stops the build.
"""

import importlib
import inspect
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
SKLEARN = ("layerwise.sklearn", ["LayerwiseClassifier", "LayerwiseRegressor"])


def public_names():
    """(module, names) pairs: ``import layerwise as lw`` and ``layerwise.sklearn``."""
    import layerwise

    return [("layerwise", [n for n in layerwise.__all__ if not n.startswith("_")]), SKLEARN]


def undocumented():
    """The public names, and public methods and properties of public classes, that have
    no docstring (a method may take its base class's)."""
    missing = []
    for module_name, names in public_names():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if not (obj.__doc__ or "").strip():
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member) and not isinstance(member, property):
                        continue
                    if not (inspect.getdoc(getattr(obj, attr)) or "").strip():
                        missing.append(f"{module_name}.{name}.{attr}")
    return missing


def api_page():
    missing = undocumented()
    if missing:
        raise PluginError(f"public names without a docstring: {', '.join(missing)}")
    groups = {}
    for module_name, names in public_names():
        module = importlib.import_module(module_name)
        for name in names:
            home = getattr(getattr(module, name), "__module__", module_name)
            groups.setdefault(home, []).append(f"{module_name}.{name}")
    lines = [
        "# API reference",
        "",
        "Every name of `import layerwise as lw`, grouped by the module that defines it, then the",
        "scikit-learn estimator of `layerwise.sklearn`. Generated from the docstrings.",
        "",
    ]
    for home, paths in groups.items():
        summary = (inspect.getdoc(importlib.import_module(home)) or "").split("\n")[0]
        lines += [f"## `{home}`", "", summary, ""]
        lines += [f"::: {path}\n" for path in paths]
    return "\n".join(lines)


def _readme():
    text = (ROOT / "README.md").read_text()
    return re.sub(r"\]\(docs/", "](", text)


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=_readme()))
    files.append(File.generated(config, "changelog.md", content=(ROOT / "CHANGELOG.md").read_text()))
    files.append(File.generated(config, "api.md", content=api_page()))
    return files


def on_page_markdown(markdown, page, config, files):
    """The guide's links to the README point at the home page."""
    return markdown.replace("](../README.md", "](index.md")
