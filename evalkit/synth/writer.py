"""Write the world as CSV files: fixed column order, fixed formats, atomically.

Byte-for-byte reproducibility needs: columns in contract order, rows in a
documented stable order, ISO dates, integers without decimals, booleans as
``True``/``False``, empty cells for missing values, ``\\n`` line ends, six
decimals for the truth file, and nothing time-dependent.

Data tables are written gzip-compressed (``<table>.csv.gz``) to keep the shipped
folder small; every evalkit reader takes them as it takes plain CSV. The gzip
stream is deterministic too: modification time 0, no file name in the header,
a fixed compression level (:data:`GZIP_LEVEL`); the deflate bytes then depend
only on the zlib library (its output for a given level has been stable across
zlib 1.2.x releases; a different deflate implementation could differ, which is
why the shipped-copy test compares decompressed text).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from evalkit.data.contract import TABLES as CONTRACT_TABLES
from evalkit.errors import SpecError

#: Columns of each file, in order: the data contract's for every data table, then the truth file.
COLUMNS: dict[str, list[str]] = {
    **{name: list(spec.columns) for name, spec in CONTRACT_TABLES.items()},
    "truth": ["intervention_id", "outcome", "scale", "true_effect", "scenario", "primary"],
}

#: Row order of each file (stable sort on these keys; ties keep generation order).
SORT_KEYS: dict[str, list[str]] = {
    "offences": ["person_id", "offence_date", "offence_group", "outcome"],
}

_TIMEPOINT_ORDER = {"baseline": 0, "exit": 1, "follow_up": 2}

#: gzip compression level of the ``.csv.gz`` files (fixed: the level changes the bytes).
GZIP_LEVEL = 9


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed reproducibly: mtime 0, no file name, level :data:`GZIP_LEVEL`.

    :func:`gzip.compress` writes no file name (no FNAME field, RFC 1952) and,
    given ``mtime=0``, a zero MTIME, so the header holds nothing time- or
    path-dependent.
    """
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def file_bytes(name: str, text: str) -> bytes:
    """The bytes written for file ``name``: UTF-8 text, gzip-compressed if ``name`` ends ``.gz``."""
    data = text.encode("utf-8")
    return gzip_bytes(data) if name.endswith(".gz") else data


def to_csv_text(frame: pd.DataFrame, table: str) -> str:
    """The CSV text of one table in its canonical form."""
    frame = frame.loc[:, COLUMNS[table]]
    keys = SORT_KEYS.get(table)
    if keys:
        frame = frame.sort_values(keys, kind="mergesort")
    if table == "truth":
        frame = frame.assign(true_effect=frame["true_effect"].map(lambda v: f"{v:.6f}"))
    return frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")


def check_out_folder(out: Path, known: set[str]) -> None:
    """Refuse a file, or a folder holding files this generator does not write."""
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file; give a folder for the synthetic data.")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in known)
        if foreign:
            raise SpecError(f"--out folder {out} holds files evalkit did not write ({', '.join(foreign[:3])}); "
                            "choose an empty or new folder.")


def write_atomically(out: Path, files: dict[str, str], known: set[str]) -> dict[str, int]:
    """Write ``files`` (name -> text) into ``out`` all at once; returns bytes on disk per file.

    A name ending ``.gz`` is written gzip-compressed (:func:`file_bytes`).

    Files go to a temporary folder beside ``out`` which then replaces it, so an error
    leaves either the old folder or the new one, never a mix. A folder holding files
    this generator did not write is refused rather than overwritten.
    """
    from evalkit.io_safe import guarded

    out = Path(out)
    check_out_folder(out, known)
    with guarded(out):  # a full disk or read-only folder: one line naming it (the temporary folder is removed)
        return _write_folder(out, files)


def _write_folder(out: Path, files: dict[str, str]) -> dict[str, int]:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the data folder should read like any other
    sizes: dict[str, int] = {}
    try:
        for name, text in files.items():
            data = file_bytes(name, text)
            (tmp / name).write_bytes(data)
            sizes[name] = len(data)
        old = None
        if out.exists():
            old = out.parent / f"{tmp.name}.old"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sizes
