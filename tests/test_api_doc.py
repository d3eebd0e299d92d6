"""The API reference page (docs/api.md) is generated from the docstrings by scripts/api_doc.py.

scripts/test (and so CI) regenerates the page before the tests; these check that the generator covers every
public module and name, and that evalkit ships its type information.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("api_doc", ROOT / "scripts" / "api_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_covers_every_public_module_and_name():
    gen = _generator()
    page = gen.render()
    modules = gen.public_modules()
    for name in ("evalkit.results", "evalkit.designs.matching", "evalkit.designs.prepost", "evalkit.designs.did",
                 "evalkit.designs.area", "evalkit.analysis.runner", "evalkit.report.sections", "evalkit.labels"):
        assert name in modules
    assert not [m for m in modules if any(part.startswith("_") for part in m.split("."))]  # private ones left out
    for name in modules:
        assert f"## `{name}`" in page
        for item in importlib.import_module(name).__all__:
            assert f"`{item}" in page.split(f"## `{name}`")[1].split("\n## ")[0], (name, item)


def test_signature_and_first_docstring_paragraph():
    page = _generator().render()
    assert "- function `require_columns(" not in page  # private module evalkit.designs._checks is not listed
    assert ("- class `DesignResult()`: Mixin for the result of a design: one headline and one frame shape for "
            "every design.") in page
    assert "- function `age_band(age: 'pd.Series', edges: 'list[int]') -> 'pd.Series'`: Age bands from the " in page
    assert " at 0x" not in page  # no memory addresses: the page is the same on every run
    assert str(ROOT) not in page  # nor this checkout's location


def test_committed_page_exists_and_is_generated():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert text.startswith("# evalkit API reference") and "scripts/api_doc.py" in text


def test_package_ships_py_typed():
    assert (ROOT / "evalkit" / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["evalkit"]
