"""Write the two report notebooks from :mod:`evalkit.report.notebooks` (the single definition).

Run: ``python notebooks/make_notebooks.py`` (from the repository root). A test
fails if these files drift from that module.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from evalkit.report.notebooks import BUILDERS

HERE = Path(__file__).resolve().parent


def main() -> None:
    for name, build in BUILDERS.items():
        nbformat.write(build(), HERE / name)
    print(f"wrote notebooks to {HERE}")


if __name__ == "__main__":
    main()
