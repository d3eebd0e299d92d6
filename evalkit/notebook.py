"""``evalkit notebook``: the evaluator's report notebook for one protocol, parameters filled in, one command away.

:func:`prepare_notebook` writes a copy of the report notebook (``notebooks/intervention_report.ipynb``, or the
same notebook built by :mod:`evalkit.report.notebooks` in a regular install) beside the protocol, with
papermill's injected-parameters cell holding the protocol, the data source, an output folder and the seed, so
it runs top to bottom in JupyterLab as it is. :func:`open_command` is the command that opens it;
:func:`launch` runs that command, or, on a machine with no display, returns it for the user to run where
they have a browser. Rendering the edited notebook with ``evalkit report --notebook`` keeps working: papermill
replaces the injected cell with the report's own parameters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from evalkit.errors import MissingDataError, SpecError


def notebook_path(protocol: Path) -> Path:
    """Where the copy goes: ``protocols/INT01.yaml`` -> ``protocols/INT01_report.ipynb``."""
    return protocol.with_name(f"{protocol.stem}_report.ipynb")


def prepare_notebook(protocol: str | Path, data_src: str | Path, *, out: str | Path | None = None,
                     output_dir: str | Path | None = None, force: bool = False) -> Path:
    """Write the report notebook for ``protocol`` with its parameters filled in; return its path.

    Raises
    ------
    SpecError
        The protocol is not valid (its first problem, with line and fix), or the notebook exists (use ``force``).
    MissingDataError
        The data source does not exist.
    """
    import nbformat
    from papermill.parameterize import parameterize_notebook

    from evalkit.protocol import validate_protocol_file
    from evalkit.run import REPORT_NOTEBOOK, _load_notebook

    protocol, data_src = Path(protocol), Path(data_src)
    if not protocol.is_file():
        raise SpecError(f"{protocol}: no such protocol file. Fix: give the path of a protocol YAML file.")
    problems = validate_protocol_file(protocol)
    if problems:
        raise SpecError(str(problems[0]))
    if not data_src.exists():
        raise MissingDataError(f"{data_src}: no such data store or folder. Fix: give the DuckDB store that "
                               "`evalkit ingest` wrote, or a folder of data files.")
    target = Path(out) if out else notebook_path(protocol)
    if target.exists() and not force:
        raise SpecError(f"{target}: a notebook is already there (it may hold your edits). Fix: open it, or add "
                        "--force to write a fresh copy over it.")
    nb: Any
    nb, _ = _load_notebook(REPORT_NOTEBOOK)
    folder = Path(output_dir) if output_dir else target.with_name(f"{protocol.stem}_notebook_output")
    params = {"protocol_path": str(protocol.resolve()), "data_src": str(data_src.resolve()),
              "output_dir": str(folder.resolve()), "seed": None}
    for cell in nb.cells:  # what papermill's own loader adds before parameterising (as evalkit.run does)
        cell.metadata.setdefault("tags", [])
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, params)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, target)
    return target


def open_command(path: Path) -> list[str]:
    """The command that opens ``path`` in JupyterLab (the virtual environment's ``jupyter-lab`` first)."""
    here = Path(sys.executable).with_name("jupyter-lab")
    exe = str(here) if here.is_file() else shutil.which("jupyter-lab") or "jupyter-lab"
    return [exe, str(path)]


def has_jupyterlab() -> bool:
    """Whether JupyterLab is installed (the ``notebook`` extra; ``scripts/setup.sh notebook``)."""
    return Path(sys.executable).with_name("jupyter-lab").is_file() or shutil.which("jupyter-lab") is not None


def headless() -> bool:
    """No display to open a browser on (a Linux server or container without X or Wayland)."""
    if sys.platform in ("darwin", "win32"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def launch(path: Path, *, open_browser: bool | None = None) -> str:
    """Open ``path`` in JupyterLab, or say how to; return the line to print."""
    cmd = open_command(path)
    shown = " ".join(cmd)
    if not has_jupyterlab():
        return (f"Wrote {path}. JupyterLab is not installed: run `bash scripts/setup.sh notebook` (or install "
                f"evalkit's 'notebook' extra), then `{shown}`.")
    if open_browser is False or (open_browser is None and headless()):
        return (f"Wrote {path}. No display here: run `{shown} --no-browser` and open the address it prints "
                "from a machine with a browser, or run it where you have one.")
    subprocess.Popen(cmd, cwd=str(path.parent))  # noqa: S603 - our own command, the user's file
    return f"Wrote {path} and opened it in JupyterLab."


__all__ = ["prepare_notebook", "notebook_path", "open_command", "launch", "headless", "has_jupyterlab"]
