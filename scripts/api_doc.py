#!/usr/bin/env python
"""Write docs/api.md: the API reference, generated from the docstrings.

Every public module of evalkit (no name part starting with ``_``) that declares
``__all__`` gets a section: its docstring's first paragraph, then each name in
``__all__`` with its signature and the first paragraph of its docstring.
``scripts/test`` (and so CI) runs this before the tests, so the page follows the
code; run it yourself after changing a public function::

    .venv/bin/python scripts/api_doc.py            # writes docs/api.md
    .venv/bin/python scripts/api_doc.py --stdout   # prints it instead
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"


def public_modules() -> list[str]:
    """Names of evalkit's public modules that declare ``__all__``, sorted."""
    import evalkit

    names = ["evalkit"]
    for info in pkgutil.walk_packages(evalkit.__path__, prefix="evalkit."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name == "evalkit.__main__":
            continue
        names.append(info.name)
    out = []
    for name in sorted(names):
        module = importlib.import_module(name)
        if isinstance(getattr(module, "__all__", None), (list, tuple)):
            out.append(name)
    return out


def first_paragraph(doc: str | None) -> str:
    """The docstring's first paragraph on one line ('' without a docstring)."""
    if not doc:
        return ""
    para = inspect.cleandoc(doc).split("\n\n")[0]
    return " ".join(line.strip() for line in para.splitlines())


def _signature(obj: object) -> str:
    try:
        sig = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    sig = sig.replace(str(ROOT), "<repository>")  # defaults that are paths in the checkout
    return re.sub(r" at 0x[0-9a-f]+", "", sig)  # default objects' addresses change every run


def describe(module_name: str) -> list[str]:
    """The Markdown lines for one module."""
    module = importlib.import_module(module_name)
    lines = [f"## `{module_name}`", ""]
    intro = first_paragraph(module.__doc__)
    if intro:
        lines += [intro, ""]
    for name in sorted(module.__all__):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            kind, sig = "class", _signature(obj) if not issubclass(obj, BaseException) else ""
        elif callable(obj):
            kind, sig = "function", _signature(obj)
        else:
            lines.append(f"- `{name}` (value)")
            continue
        doc = first_paragraph(inspect.getdoc(obj)) if kind == "function" or obj.__doc__ else ""
        if doc.startswith(f"{name}("):  # a dataclass's generated docstring repeats the signature
            doc = ""
        where = getattr(obj, "__module__", module_name)
        origin = f" (from `{where}`)" if where != module_name and where.startswith("evalkit") else ""
        lines.append(f"- {kind} `{name}{sig}`{origin}" + (f": {doc}" if doc else ""))
    lines.append("")
    return lines


def render() -> str:
    """The whole page."""
    lines = ["# evalkit API reference", "",
             "Generated from the docstrings by `scripts/api_doc.py` (run by `scripts/test`); do not edit by hand. "
             "Each public module with an `__all__`, then its names: signature and the first paragraph of the "
             "docstring. See the docstrings themselves for parameters and details.", ""]
    for name in public_modules():
        lines += describe(name)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--stdout" in argv:
        sys.stdout.write(text)
    else:
        OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
