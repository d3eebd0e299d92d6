"""The ``evalkit`` command.

Each sub-command is a thin wrapper: it parses arguments, calls one library
function and prints what it returns. A user's mistake (any
:class:`~evalkit.errors.EvalkitError`) prints one plain line to stderr and exits
non-zero, with no traceback. Library modules are imported lazily so that
``evalkit --help`` is instant.

Exit codes and what the user sees:

- 0: done. 1: ``run-all`` finished but some reports failed (listed on index.html).
- 2: the user's input is wrong (:class:`~evalkit.errors.EvalkitError`, or click's
  own usage errors): one plain line per problem, naming the place and the fix.
- 2 as well for a file that cannot be read or written (``OSError``: permission
  denied, disk full, no such folder): one line naming the path.
- 130: interrupted (Ctrl-C) or terminated (SIGTERM, turned into the same
  exception so that every ``finally``/rollback runs): the library's atomic writes
  leave nothing half-written and the store unchanged.
- 3: a bug in evalkit (any other exception). Deliberately *not* a raw traceback:
  the user sees one line saying it is a bug and not their data, where the full
  traceback was saved (a private temporary file) and what to send to whoever
  maintains evalkit. ``EVALKIT_DEBUG=1`` re-raises so developers get the traceback.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from functools import wraps
from pathlib import Path

import click

from evalkit.errors import DataError, EvalkitError


#: Exit code for a bug in evalkit (any exception that is not the user's mistake).
BUG_EXIT = 3
#: A report that failed on an exception that is not an evaluator's error (run.py names its type first).
_REPORT_BUG = re.compile(r"the report failed: (?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Warning)\b: ")
#: Exit code after Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
INTERRUPT_EXIT = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interrupt so that rollbacks and clean-ups run."""


#: Set by the signal handlers: libraries may turn the interrupt into their own error on the way up
#: (nbclient: DeadKernelError, asyncio: CancelledError, DuckDB: "Query interrupted"), so the CLI
#: remembers that the user stopped the command rather than trusting the exception type.
_SIGNALLED: list[str] = []


def _importing(frame) -> bool:
    """Whether the main thread is inside an import (its stack passes through importlib's frames)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_signal(signum, frame) -> None:
    # An exception raised while a C extension initialises (DuckDB's module, which calls back into Python's
    # enum code) aborts the whole process (SIGABRT, no clean-up): seen when Ctrl-C came during `ingest`'s
    # first import under load. So during any import the signal is sent again shortly, and acted on once
    # the import has finished.
    if _importing(frame):
        import threading

        again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    if signum == signal.SIGTERM:
        _SIGNALLED.append("terminated")
        raise Terminated()
    _SIGNALLED.append("interrupted")
    raise KeyboardInterrupt()


def _os_error_line(exc: OSError) -> str:
    """One line for a file the command could not read or write."""
    where = exc.filename if exc.filename is not None else "a file"
    from evalkit.io_safe import DISK_FULL, write_problem

    if exc.errno in DISK_FULL:
        return f"error: {write_problem(where, exc)}"
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        fix = "check you may read/write it, and that no other program (e.g. Excel) has it open."
    elif isinstance(exc, IsADirectoryError):
        fix = "give a file, not a folder."
    elif isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        fix = "check the path; create the folder first if it is new."
    else:
        fix = "check the path and free disk space, then run the command again."
    return f"error: {where}: {reason}. Fix: {fix}"


def _bug_line(exc: BaseException) -> str:
    """One line for a bug in evalkit; the full traceback goes to a private temporary file."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    saved = ""
    try:
        fd, path = tempfile.mkstemp(prefix="evalkit-bug-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"evalkit {_version()} on Python {sys.version.split()[0]}\n"
                     f"command: evalkit {' '.join(sys.argv[1:])}\n\n{text}")
        saved = f" The details are in {path} (it may quote values from your files: share it only as you would them)."
    except OSError:
        pass
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return (f"internal error: this is a bug in evalkit, not a problem with your input ({summary}).{saved} "
            "Please send the command you ran and that file to whoever maintains evalkit for your VRU "
            "(set EVALKIT_DEBUG=1 to see the traceback here).")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evalkit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "(not installed)"


def _friendly(func):
    """Turn a user's mistake into plain lines on stderr and a non-zero exit (see the module docstring)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (SystemExit, click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure ends in plain lines and an exit code
            lines, code = _explain(exc)
            if lines is None:
                raise
            for line in lines:
                click.echo(line, err=True)
            sys.exit(code)

    return wrapper


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, or the cancellation it causes (asyncio's or concurrent.futures' CancelledError).

    Under load Ctrl-C reaches the report kernels (same process group) first; nbclient then cancels its
    tasks and the CancelledError can reach the command before Python has run the SIGINT handler, so the
    exception type is checked too (by name: importing asyncio here would slow every command down).
    """
    return isinstance(exc, KeyboardInterrupt) or any(c.__name__ == "CancelledError" for c in type(exc).__mro__)


def _explain(exc: BaseException) -> tuple[list[str] | None, int]:
    """The lines to print and the exit code for a failure (None: re-raise, for EVALKIT_DEBUG)."""
    if _SIGNALLED or _interrupted(exc):
        how = "terminated" if isinstance(exc, Terminated) or "terminated" in _SIGNALLED else "interrupted"
        return [f"error: {how}; nothing was half-written (each output is complete or absent; a store keeps all "
                "of this command's rows or none). Run the command again to finish."], INTERRUPT_EXIT
    if isinstance(exc, DataError):
        lines = [f"error: {problem}" for problem in exc.problems]
        if exc.truncated:
            lines.append(f"error: ... and {exc.truncated} more problem(s) not shown")
        return lines, exc.exit_code
    if isinstance(exc, EvalkitError):
        return [f"error: {exc}"], exc.exit_code
    if os.environ.get("EVALKIT_DEBUG") or not isinstance(exc, Exception):
        return None, BUG_EXIT
    if isinstance(exc, OSError):
        return [_os_error_line(exc)], 2
    store = _store_failure(exc)
    if store is not None:
        return [store], 2
    return [_bug_line(exc)], BUG_EXIT


def _store_failure(exc: BaseException) -> str | None:
    """One line for a DuckDB error that is the disk's or the file's fault, not evalkit's (a safety net: the
    store module names the store itself). Checked by module name: importing duckdb here would slow every
    command down."""
    if not type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return None
    text = str(exc)
    if re.search(r"no space left|file too large|disk quota|could not write|could not truncate|"
                 r"could not fsync", text, re.I):
        return ("error: the disk is full (or a file-size limit was reached) while writing the store; nothing of "
                "this command was stored. Fix: free disk space, then run the command again.")
    if re.search(r"corrupt|checksum|serializ|not a valid duckdb|invalid database|block|IO Error|"
                 r"database file", text, re.I):
        return ("error: the store is damaged or not an evalkit store. Fix: restore it from a backup, or "
                "ingest the provider files again into a new store.")
    return None


def _config_checked() -> bool:
    """Warn (stderr, not an error) about a VRU configuration's settings that still describe the default;
    True when a configuration of the user's own is in force (``--config`` or EVALKIT_CONFIG)."""
    from evalkit.data.config import CONFIG_ENV_VAR, config_warnings, load_config

    path = os.environ.get(CONFIG_ENV_VAR)
    if not path:
        return False
    for warning in config_warnings(load_config(path), Path(path).read_text(encoding="utf-8-sig")):
        click.echo(f"warning: {path}, {warning}", err=True)
    click.echo(f"ok: {path} (the VRU configuration)")
    return True


def _expand_folders(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """Each folder replaced by the protocols (*.yaml) and data files in it, sorted."""
    from evalkit.data.readers import is_table_file

    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        inside = sorted(p for p in path.iterdir() if p.is_file() and (p.suffix.lower() in {".yaml", ".yml"}
                                                                      or is_table_file(p)))
        if not inside:
            raise EvalkitError(f"{path}: the folder holds no protocols (*.yaml) or data files. Fix: give the files "
                               "to check, or the folder that holds them.")
        out.extend(inside)
    return tuple(out)


def _display_names(paths: list[Path]) -> list[str]:
    from evalkit.data.validate import display_names

    return display_names(paths) if paths else []


def _new_folders(path: Path) -> list[Path]:
    """The folders that making ``path`` would create, deepest first (to remove again if nothing was written)."""
    new = []
    while not path.exists() and path != path.parent:
        new.append(path)
        path = path.parent
    return new


def _check_data_source(src: Path) -> None:
    """A folder given as --data must hold data files, and a store must be a readable evalkit store (checked
    before any kernel starts)."""
    if src.is_file():
        from evalkit.data.store import check_store

        check_store(src)
    if src.is_dir():
        from evalkit.data.readers import is_table_file

        if not any(is_table_file(p) for p in src.iterdir() if p.is_file()):
            raise EvalkitError(f"{src}: the folder holds no data files (participants.csv, offences.csv.gz, "
                               "comparison_pool.parquet, ...). Fix: give the folder that holds them, or a store "
                               "made by `evalkit ingest`.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evalkit")
def cli() -> None:
    """evalkit: outcome evaluation for violence-reduction interventions."""


@cli.command()
@click.option("--seed", type=int, default=2021, show_default=True, help="Random seed; same seed, same bytes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--identified", is_flag=True,
              help="Instead, write fake identities (names, dates of birth, postcodes) for the same people, with "
                   "recording errors at known rates and the true links, to test `evalkit link`.")
@_friendly
def synth(seed: int, out_dir: Path, identified: bool) -> None:
    """Generate the synthetic VRU portfolio (data plus truth file) into OUT."""
    if identified:
        from evalkit.synth.identified import generate_identified

        click.echo(generate_identified(seed=seed, out=out_dir))
        return
    from evalkit.synth.generate import generate

    summary = generate(seed=seed, out=out_dir)
    click.echo(summary)


@cli.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_friendly
def template(out_file: Path) -> None:
    """Write the provider return workbook (one sheet per table) to OUT."""
    from evalkit.data.template import write_template

    write_template(out_file)
    click.echo(f"wrote {out_file}")


@cli.command()
@click.argument("files", nargs=-1, required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--table", default=None, help="Table the file holds (default: from sheet or file name).")
@click.option("--max-problems", default=200, show_default=True, help="Stop listing after this many problems.")
@click.option("--data", "data_src", type=click.Path(exists=True, path_type=Path), default=None,
              help="Also check each protocol against this store or data folder (its intervention is there, "
                   "its population has participants, the tables its designs need exist).")
@_friendly
def validate(files: tuple[Path, ...], table: str | None, max_problems: int, data_src: Path | None) -> None:
    """Check data files (CSV or .csv.gz, Excel, Parquet) or protocols (YAML); list every problem.

    A folder stands for the protocols and data files in it. With ``--config`` (or EVALKIT_CONFIG), the VRU
    configuration is checked too: settings that still describe the packaged default are warned about.
    """
    failed = False
    tables = None
    if _config_checked() and not files:
        return
    if not files:
        raise click.UsageError("give the data files or protocols to check (or --config FILE to check a configuration).")
    files = _expand_folders(files)
    data_files = [p for p in files if p.suffix.lower() not in {".yaml", ".yml"}]
    data_problems = []
    if data_files:
        from evalkit.data.validate import validate_files

        # checked together, so references between files (contacts -> participants) are checked too
        data_problems = validate_files(data_files, table=table, max_problems=max_problems)
    labels = dict(zip(data_files, _display_names(data_files)))
    clashes = []
    protocols = [p for p in files if p.suffix.lower() in {".yaml", ".yml"}]
    if len(protocols) > 1:
        from evalkit.protocol import duplicate_ids

        by_folder: dict[Path, list[Path]] = {}
        for p in protocols:  # two plans for one intervention in one folder: both named
            by_folder.setdefault(p.resolve().parent, []).append(p)
        clashes = [c for group in by_folder.values() if len(group) > 1 for c in duplicate_ids(group)]
    for path in files:
        if path.suffix.lower() in {".yaml", ".yml"}:
            from evalkit.protocol import validate_protocol_against_data, validate_protocol_file

            problems = validate_protocol_file(path)
            if not problems and data_src is not None:
                from evalkit.data.load import load_tables

                if tables is None:
                    _check_data_source(data_src)
                    tables = load_tables(data_src)
                problems = validate_protocol_against_data(path, tables, data_src)
        else:
            problems = [p for p in data_problems if p.file == labels[path]]
        problems = problems + [c for c in clashes if Path(c.file) == path]
        if problems:
            failed = True
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
        else:
            click.echo(f"ok: {path}")
    if failed:
        sys.exit(2)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--table", default=None, help="Table the files hold (default: from sheet or file name).")
@_friendly
def ingest(files: tuple[Path, ...], db_path: Path, table: str | None) -> None:
    """Validate FILES and append them to the DuckDB store at DB (all or nothing per file)."""
    from evalkit.data.store import ingest_files

    report = ingest_files(list(files), db_path, table=table)
    click.echo(report)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File holding the secret key (default: the EVALKIT_PSEUDONYM_KEY environment variable).")
@_friendly
def pseudonymise(file: Path, out_file: Path, key_file: Path | None) -> None:
    """Replace identifiers in FILE with keyed hashes (HMAC-SHA256)."""
    from evalkit.data.privacy import pseudonymise_file

    click.echo(pseudonymise_file(file, out_file, key_file=key_file))


@cli.command()
@click.argument("protocol", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data-cutoff", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the data extract ends (default: the protocol's population.data_end).")
@click.option("--force", is_flag=True, help="Relock a protocol that is already locked (the report shows the new date).")
@_friendly
def lock(protocol: Path, data_cutoff, force: bool) -> None:
    """Lock PROTOCOL as the pre-registered plan: its hash, the date and the data cut-off, in PROTOCOL.lock.json."""
    from evalkit.lock import lock_protocol

    target = lock_protocol(protocol, data_cutoff=data_cutoff.date() if data_cutoff else None, force=force)
    click.echo(f"locked {protocol} -> {target}")


@cli.command()
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@_friendly
def summary(db_path: Path) -> None:
    """Print a summary of the store (tables, rows, sources)."""
    from evalkit.data.store import summarise_store

    click.echo(summarise_store(db_path))


@cli.command()
@click.argument("protocol", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data", "data_src", type=click.Path(exists=True, path_type=Path), required=True,
              help="DuckDB store or folder of data files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--pdf", is_flag=True, help="Also print the report to PDF through headless Chromium.")
@click.option("--notebook", "notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Render this notebook (a tweaked copy of notebooks/intervention_report.ipynb) instead of the "
                   "standard one, with evalkit's styling and the same parameters.")
@_friendly
def report(protocol: Path, data_src: Path, out_dir: Path, pdf: bool, notebook: Path | None) -> None:
    """Render one intervention report from PROTOCOL (the output folder is created if it is new)."""
    from evalkit.protocol import load_protocol
    from evalkit.run import run_report

    load_protocol(protocol)  # the protocol's own mistakes first, with their line
    _check_data_source(data_src)
    new = _new_folders(out_dir)
    try:
        click.echo(run_report(protocol, data_src, out_dir, pdf=pdf, notebook=notebook))
    except BaseException as exc:
        for folder in new:  # a failed first report leaves no empty folders behind either
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if isinstance(exc, EvalkitError) and _REPORT_BUG.search(str(exc)):
            if notebook is not None and "(at evalkit/" not in str(exc):
                # the failing code is the analyst's own (no evalkit frame in the traceback): their mistake
                click.echo(f"error: {exc} -- in your notebook {notebook.name}, not in evalkit; no report was "
                           f"written. Fix: run {notebook.name} in Jupyter to see which cell fails, correct it, "
                           "and render it again.", err=True)
                sys.exit(2)
            tried = (f" (or of how your notebook {notebook.name} calls it: check the report renders without "
                     "--notebook)" if notebook is not None else "")
            click.echo(f"internal error: {exc} -- this is a fault in evalkit{tried} (a bug, or the machine ran out "
                       "of memory), not a problem with your input; no report was written. Please send this line and "
                       "the command you ran to whoever maintains evalkit for your VRU.", err=True)
            sys.exit(BUG_EXIT)
        raise


@cli.command("run-all")
@click.argument("protocol_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", "data_src", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--pdf", is_flag=True)
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Render on a Dask distributed cluster (workers must see the same data and output paths).")
@_friendly
def run_all_cmd(protocol_dir: Path, data_src: Path, out_dir: Path, workers: int, pdf: bool,
                scheduler: str | None) -> None:
    """Render every protocol's report and the portfolio summary."""
    from evalkit.run import run_all

    _check_data_source(data_src)
    result = run_all(protocol_dir, data_src, out_dir, workers=workers, pdf=pdf, scheduler=scheduler)
    click.echo(result)
    if getattr(result, "failed", None):
        sys.exit(1)


@cli.command("link")
@click.argument("participants", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--police", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Identified police extract (record_id = the force's id, names, date of birth, sex, postcode).")
@click.option("--health", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Identified health extract (e.g. Emergency Care Data Set), linked the same way.")
@click.option("--dedupe", "dedupe_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Instead of linking: find the records of this one file that are the same person and write "
                   "OUT/clusters.csv (pseudonymous record and cluster ids).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for participants.csv, links.csv, linkage_summary.json and linkage_report.html.")
@click.option("--review", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Clerical-review sample (holds identifiers; default: OUT_clerical_review_IDENTIFIED.csv).")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Pseudonymisation key file (default: the EVALKIT_PSEUDONYM_KEY environment variable).")
@click.option("--threshold", type=float, default=None,
              help="Match weight for a link (default: chosen from the fitted model for --target-precision).")
@click.option("--target-precision", type=click.FloatRange(0.5, 1.0), default=None,
              help="Estimated precision the threshold is chosen for (default 0.995).")
@click.option("--one-to-one", is_flag=True, default=False,
              help="Use each record of either file at most once (when each person has one record per file).")
@click.option("--profile", type=click.Choice(["default", "national"]), default="default", show_default=True,
              help="national: candidate and training rules for extracts of millions of records.")
@click.option("--strict", is_flag=True, default=False,
              help="Refuse a file with an impossible date of birth (default: treat it as missing and report the rows).")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="YAML of linkage settings: blocking rules, comparison levels, threshold.")
@click.option("--margin", type=float, default=0.05, show_default=True,
              help="Warn when a group's match rate differs from the overall rate by more than this.")
@_friendly
def link_cmd(participants: Path | None, police: Path | None, health: Path | None, dedupe_path: Path | None,
             out_dir: Path, review: Path | None, key_file: Path | None, threshold: float | None,
             target_precision: float | None, one_to_one: bool, profile: str, strict: bool,
             settings_file: Path | None, margin: float) -> None:
    """Link provider returns (PARTICIPANTS, with names) to police and health records; write pseudonymous ids only.

    With --dedupe FILE, find the records of one file that are the same person instead."""
    from dataclasses import replace

    from evalkit.link.files import dedupe_file, link_files, link_text
    from evalkit.link.model import LinkSettings, load_settings

    if settings_file:
        settings = load_settings(settings_file)
        if profile == "national":
            settings = LinkSettings.national(**{k: v for k, v in vars(settings).items()
                                                if k not in ("blocking", "training")})
    else:
        settings = LinkSettings.national() if profile == "national" else LinkSettings()
    changes: dict = {"one_to_one": one_to_one or settings.one_to_one}
    if threshold is not None:
        changes["threshold"] = threshold
    if target_precision is not None:
        changes["target_precision"] = target_precision
    settings = replace(settings, **changes)
    if dedupe_path is not None:
        if participants is not None or police is not None or health is not None:
            raise click.UsageError("--dedupe takes one file: give it without PARTICIPANTS, --police or --health.")
        done = dedupe_file(dedupe_path, out_dir, key_file=key_file, settings=settings, strict=strict)
        click.echo(f"{done['records']:,} records in {done['clusters']:,} clusters ({done['in_shared']:,} records "
                   f"share a cluster) at match weight >= {done['threshold']:.2f}, {done['threshold_rule']}; "
                   f"{done['unusable_dob']:,} impossible date(s) of birth treated as missing; wrote {done['file']} "
                   "(pseudonymous ids only)")
        return
    if participants is None or police is None:
        raise click.UsageError("give PARTICIPANTS and --police (or --dedupe FILE).")
    extracts = {"police": police, **({"health": health} if health else {})}
    review = review or out_dir.parent / f"{out_dir.name}_clerical_review_IDENTIFIED.csv"
    run = link_files(participants, extracts, out_dir, key_file=key_file, settings=settings, review=review,
                     margin=margin, strict=strict)
    click.echo(link_text(run, out_dir, review))


@cli.command("prepare-pool")
@click.argument("pool", type=str)
@click.argument("offences", type=str)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Prepared pool (.parquet): one row per person with age, risk factors and reoffending.")
@click.option("--data-end", required=True, help="Last date the offence extract covers (YYYY-MM-DD).")
@click.option("--pool-source", default="any", show_default=True)
@click.option("--start-from", default=None, help="First index date kept (YYYY-MM-DD).")
@click.option("--start-to", default=None, help="Last index date kept (YYYY-MM-DD).")
@click.option("--age-min", type=int, default=0, show_default=True)
@click.option("--age-max", type=int, default=200, show_default=True)
@click.option("--memory-limit", default="1GB", show_default=True, help="DuckDB spills to disk beyond this.")
@_friendly
def prepare_pool_cmd(pool: str, offences: str, out_file: Path, data_end: str, pool_source: str,
                     start_from: str | None, start_to: str | None, age_min: int, age_max: int,
                     memory_limit: str) -> None:
    """Prepare a comparison pool larger than memory (files or globs: CSV, .csv.gz, Parquet) with DuckDB."""
    from evalkit.scale.pool import prepare_pool

    click.echo(prepare_pool(pool, offences, out_file, data_end=data_end, pool_source=pool_source,
                            start_from=start_from, start_to=start_to, age_min=age_min, age_max=age_max,
                            memory_limit=memory_limit))


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@cli.command("match")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--treatment", required=True,
              help="0/1 (or True/False) column: 1 for participants, 0 for the comparison pool.")
@click.option("--id", "id_col", required=True, help="Unique person id column (rows are taken in id order).")
@click.option("--covariates", required=True, help="Comma-separated columns for the propensity model.")
@click.option("--exact", default="", help="Comma-separated columns to match exactly on.")
@click.option("--distance", type=click.Choice(["glm", "mahalanobis"]), default="glm", show_default=True)
@click.option("--link", type=click.Choice(["logit", "linear.logit"]), default="logit", show_default=True)
@click.option("--caliper", type=float, help="Caliper width (in SDs of the distance unless --raw-caliper).")
@click.option("--std-caliper/--raw-caliper", default=True, show_default=True)
@click.option("--ratio", type=click.IntRange(min=1), default=1, show_default=True, help="Controls per participant.")
@click.option("--replace", is_flag=True, help="Match with replacement.")
@click.option("--m-order", type=click.Choice(["largest", "smallest", "data", "random"]),
              help="Order participants are matched in (MatchIt's m.order).")
@click.option("--discard", type=click.Choice(["none", "treated", "control", "both"]), default="none",
              show_default=True)
@click.option("--seed", type=int, help="Seed for --m-order random.")
@click.option("--min-treated", type=int, default=10, show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Matched set to write (.csv or .parquet): id, treated, distance, weight, subclass.")
@click.option("--balance", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the covariate balance table before and after matching (.csv).")
@_friendly
def match_cmd(data: Path, treatment: str, id_col: str, covariates: str, exact: str, distance: str, link: str,
              caliper: float | None, std_caliper: bool, ratio: int, replace: bool, m_order: str | None,
              discard: str, seed: int | None, min_treated: int, out: Path, balance: Path | None) -> None:
    """Nearest-neighbour matching (MatchIt's rules) of the participants in DATA to its comparison records.

    DATA is a CSV, .csv.gz or Parquet file with one row per person. Built for
    national-scale pools: a million rows match in well under a second.
    """
    if _CONSOLE:
        _tune_batch_process()
    from evalkit.designs.matching.files import match_file

    result = match_file(data, treatment=treatment, id_col=id_col, covariates=_names(covariates), out=out,
                        exact=_names(exact), distance=distance, link=link, caliper=caliper,
                        std_caliper=std_caliper, ratio=ratio, replace=replace, m_order=m_order, discard=discard,
                        seed=seed, min_treated=min_treated, balance=balance)
    click.echo(result.text())
    _SKIP_TEARDOWN.append(True)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo_output"),
              show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@_friendly
def demo(out_dir: Path, workers: int) -> None:
    """The main job: the whole demo portfolio on the shipped synthetic data."""
    from evalkit.demo import run_demo

    click.echo(run_demo(out_dir, workers=workers))


@cli.command("notebook")
@click.argument("protocol", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", "data_src", type=click.Path(path_type=Path), required=True,
              help="DuckDB store or folder of data files.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the notebook (default: beside the protocol, INT01_report.ipynb).")
@click.option("--force", is_flag=True, help="Write a fresh copy over an existing notebook.")
@click.option("--no-browser", is_flag=True, help="Write the notebook and print the command that opens it.")
@_friendly
def notebook_cmd(protocol: Path, data_src: Path, out_file: Path | None, force: bool, no_browser: bool) -> None:
    """Write PROTOCOL's report notebook with its parameters filled in, and open it in JupyterLab."""
    from evalkit.notebook import launch, prepare_notebook

    path = prepare_notebook(protocol, data_src, out=out_file, force=force)
    click.echo(launch(path, open_browser=False if no_browser else None))
    click.echo(f"Render your edited copy with: evalkit report {protocol} --data {data_src} --out reports/ "
               f"--notebook {path}")


@cli.command("init")
@click.option("--vru", "vru_name", required=True, help="The VRU's name, as reports will print it.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("evalkit_vru"),
              show_default=True, help="Folder to write the starter configuration, instruments and protocols into.")
@_friendly
def init_cmd(vru_name: str, out_dir: Path) -> None:
    """Start another VRU: a commented configuration, an instruments folder and a protocol template."""
    from evalkit.init import init_vru

    for path in init_vru(vru_name, out_dir):
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit {out_dir / 'config.yaml'}, then run every command with --config "
               f"{out_dir / 'config.yaml'} (see docs/reuse.md).")


def _use_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:  # noqa: ARG001
    """``--config``: check the VRU configuration now, then make it the one every module (and every report
    kernel, which inherits the environment) loads."""
    if value is None:
        return value
    from evalkit.data.config import CONFIG_ENV_VAR, load_config

    try:
        load_config(value)
    except EvalkitError as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None
    os.environ[CONFIG_ENV_VAR] = str(Path(value).resolve())
    return value


def _config_option() -> click.Option:
    return click.Option(["--config"], type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        callback=_use_config, expose_value=False, is_eager=True,
                        help="VRU configuration file (default: the EVALKIT_CONFIG environment variable, else the "
                             "packaged one).")


# --config on the group (evalkit --config FILE report ...) and on every command (evalkit report --config FILE ...)
cli.params.append(_config_option())
for _command in cli.commands.values():
    _command.params.append(_config_option())


#: Set by a command whose work is complete once it returns (see :func:`_exit_now`).
_SKIP_TEARDOWN: list[bool] = []
#: True when running as the ``evalkit`` console script (not inside a test's CliRunner).
_CONSOLE = False


def _tune_batch_process() -> None:
    """Process settings for a one-shot numeric command (``evalkit match``); call before numpy loads.

    Why, measured on a million-record pool (0.4 s runs on 2 cores):

    - OpenBLAS single-threaded: matching's BLAS work is tiny (7 x 7 solves, dot
      products over cache-sized blocks), so OpenBLAS's worker threads only
      spin-wait, taking a core from the multithreaded CSV parser (~25 ms).
    - glibc malloc keeps freed memory for reuse (no mmap for big blocks, no
      trimming): each temporary array of a million values otherwise arrives
      as fresh pages the kernel must fault in and zero (~25 ms). The memory
      goes back to the system when the command exits a moment later.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "pyarrow" not in sys.modules and sys.platform == "linux":
        # pyarrow's default pool (mimalloc) returned and re-faulted the CSV reader's blocks: 0.25-0.7 s of
        # system time per read of the 1M-row benchmark file (issue 24), against ~0.2 s with jemalloc.
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: keep the allocator's defaults
        pass


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be shown anyway
            pass


def _exit_now() -> None:
    """Leave at once after a successful command, skipping interpreter teardown.

    Why: ``evalkit match`` on a national pool ends holding a few hundred MB of
    arrays and pyarrow's thread pools; tearing the interpreter down (freeing
    them one by one, finalising modules) took 30-40 ms of a 0.45 s run. By the
    time this runs the output file is complete and renamed into place, and
    only stdout/stderr may hold unwritten text, so they are flushed first.
    Only the console-script entry point does this (never a test's CliRunner).
    """
    _flush_std()
    os._exit(0)


def _exit_interrupted(code: int) -> None:
    """Leave with ``code`` (130) after an interrupt the command has already cleaned up after.

    Why not ``sys.exit``: when the interrupt's KeyboardInterrupt passed through code that a C extension
    ran with ``PyRun_String`` (seen with a signal during ``evalkit ingest`` under load), CPython 3.11
    remembers it as "unhandled" even though the command caught it, and at exit re-sends itself SIGINT
    with the default action: the process then dies by the signal (shell status -2) instead of exiting
    130. The atexit functions still run here; only the interpreter's own teardown is skipped.
    """
    import atexit

    for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not interrupt the clean-ups
        signal.signal(signum, signal.SIG_IGN)
    try:
        atexit._run_exitfuncs()
    finally:
        _flush_std()
        os._exit(code)


def main() -> None:
    """Console-script entry point (SIGTERM is handled like Ctrl-C, so clean-ups run)."""
    try:
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    except ValueError:  # pragma: no cover - not the main thread
        pass
    global _CONSOLE
    _CONSOLE = True
    try:
        cli(prog_name="evalkit")
    except SystemExit as exc:
        if _SKIP_TEARDOWN and exc.code in (0, None):
            _exit_now()
        if exc.code == INTERRUPT_EXIT:
            _exit_interrupted(INTERRUPT_EXIT)
        raise
    except BaseException as exc:  # an interrupt that arrived outside a command's own handling (e.g. in clean-up)
        if not (_SIGNALLED or _interrupted(exc)) or os.environ.get("EVALKIT_DEBUG"):
            raise
        lines, code = _explain(exc)
        for line in lines or ():
            click.echo(line, err=True)
        if code == INTERRUPT_EXIT:
            _exit_interrupted(code)
        sys.exit(code)
    finally:  # the work is done (or cleaned up): a late Ctrl-C must not print tracebacks from exit clean-ups
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":  # pragma: no cover
    main()
