"""One guarded way to write a file: complete or absent, and a full disk in plain words.

Every file evalkit writes for a user (the template, pseudonymised copies, matched sets, balance tables,
linkage output, reports, exports, status pages) goes through :func:`write_atomic` or :func:`guarded`:

- the content goes to a private temporary file in the target's own folder (so the final rename never
  crosses file systems), is flushed to disk (``fsync``), and only then renamed over the target; a failure
  at any point removes the temporary file and leaves any previous version untouched;
- an ``OSError`` becomes a :class:`WriteError` (exit 2) naming the file and what is wrong: "the disk is
  full while writing ...", "the folder ... is read-only", "you may not write to ...".

Spreadsheet cells are made safe to open (:func:`neutralise_cell`, OWASP's CSV-injection guidance): a text
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run by Excel as a
formula, so it is written with a leading single quote (``'=cmd``). Numbers are never changed
(``-3`` in a numeric column stays ``-3``), and a text cell that is an ordinary number (``-3``, ``+44``)
is left as it is too: Excel reads it as the number, not a formula.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from evalkit.errors import EvalkitError

#: errno values that mean "no room": disk full, file-size limit (ulimit -f), quota.
DISK_FULL = frozenset(e for e in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if e is not None)
#: errno values that mean "not allowed here".
NOT_ALLOWED = frozenset(e for e in (errno.EROFS, errno.EACCES, errno.EPERM) if e is not None)


class WriteError(EvalkitError):
    """A file could not be written (disk full, read-only, no permission); nothing half-written is left."""


def write_problem(path: str | Path, exc: BaseException) -> str:
    """One plain line for a failed write of ``path`` (the message of a :class:`WriteError`)."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in DISK_FULL or re.search(r"no space left|file too large|disk quota|disk is full", text, re.I):
        return (f"{path}: the disk is full while writing it (or a file-size limit was reached); nothing was "
                "written. Fix: free disk space (or write to another disk), then run the command again.")
    if code == errno.EROFS or "read-only file system" in text.lower():
        return f"{path}: the folder is on a read-only disk; nothing was written. Fix: write to another folder."
    if code in NOT_ALLOWED or isinstance(exc, PermissionError):
        return (f"{path}: you may not write here (permission denied); nothing was written. Fix: choose a folder "
                "you may write to, and check no other program (e.g. Excel) has the file open.")
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder. Fix: give a file name."
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return (f"{path}: the folder disappeared or is not a folder while writing; nothing was written. Fix: "
                "check the path and run the command again.")
    reason = getattr(exc, "strerror", None) or text or type(exc).__name__
    return (f"{path}: cannot write here ({reason}); nothing was written. Fix: choose a folder you may write to, "
            "and check there is disk space.")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _release(exc: BaseException) -> None:
    """Close what the failed writer left open, quietly.

    A writer that failed half-way (openpyxl's ``ZipFile`` on a full disk) still holds its file in the
    traceback's frames; when that is collected later, closing it fails again and Python prints an
    "Exception ignored" traceback on the user's terminal. Clearing the frames now, with such failures
    ignored, closes it here instead.
    """
    import gc
    import sys
    import traceback

    previous = sys.unraisablehook

    def hook(info) -> None:  # noqa: ANN001
        if not isinstance(info.exc_value, OSError):
            previous(info)

    sys.unraisablehook = hook
    try:
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = previous


def _mkdirs(folder: Path, out: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(write_problem(out, exc)) from None


@contextmanager
def atomic_path(out: str | Path, *, private: bool = True) -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed onto ``out`` when the block ends without error.

    ``private``: the file keeps mode 0600 (it may hold pseudonyms or counts); otherwise it gets the usual
    permissions (umask), as a template workbook should. Raises :class:`WriteError` for an ``OSError``.
    """
    out = Path(out)
    _mkdirs(out.parent, out)
    try:
        tmp = out.parent / f".{out.name}.{os.getpid()}.{os.urandom(4).hex()}.part"
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise WriteError(write_problem(out, exc)) from None
    try:
        yield tmp
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        _fsync_file(tmp)
        os.replace(tmp, out)
    except BaseException as exc:
        if isinstance(exc, OSError):
            _release(exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WriteError(write_problem(out, exc)) from None
        raise
    _fsync_dir(out.parent)


def write_atomic(out: str | Path, write: Callable[[Path], object], *, private: bool = True) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``out``, then rename it into place (see the module)."""
    out = Path(out)
    with atomic_path(out, private=private) as tmp:
        write(tmp)
    return out


def write_text_atomic(out: str | Path, text: str, *, private: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``out`` atomically."""
    return write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), private=private)


@contextmanager
def guarded(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` inside the block into a :class:`WriteError` naming ``path``.

    For writers that cannot go through a temporary file (a staging folder, the DuckDB store): they remove
    what they made themselves; this only says, in one line, why it failed.
    """
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(write_problem(path, exc)) from None


# --------------------------------------------------------------------------- spreadsheet cells
#: Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def is_formula_like(text: str) -> bool:
    """True for text a spreadsheet would run as a formula (not an ordinary signed number like ``-3``)."""
    return bool(text) and text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text)


def neutralise_cell(value: object) -> object:
    """The value to write into a CSV/XLSX cell: formula-like text gets a leading ``'``; anything else as is."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def neutralise_frame(frame):  # noqa: ANN001, ANN201 - pandas is imported by callers only
    """A copy of a pandas frame with every text cell (and header) neutralised; numeric columns untouched."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("string"):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def text_cells(ws) -> None:  # noqa: ANN001 - an openpyxl worksheet (openpyxl is imported by callers only)
    """Every text cell of an openpyxl worksheet stays text: openpyxl (and pandas' ``to_excel``) store a value
    starting with '=' as a formula, which Excel would run; as a text cell the value is kept exactly."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.data_type == "f":
                cell.data_type = "s"


__all__ = ["text_cells", "WriteError", "write_problem", "atomic_path", "write_atomic", "write_text_atomic", "guarded",
           "neutralise_cell", "neutralise_frame", "is_formula_like", "FORMULA_START", "DISK_FULL"]
