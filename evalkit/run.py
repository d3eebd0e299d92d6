"""Run the report notebooks: one report per protocol, the portfolio summary, and an index.

Speed comes from reusing kernels. The naive way (``papermill.execute_notebook``
then nbconvert per report) starts a kernel and imports the scientific stack for
every report (about 3.7 s here) and renders HTML with the full JupyterLab
template (about 1.4 s). Here, each of ``workers`` processes starts **one**
Jupyter kernel and keeps it warm: before each report the kernel's namespace is
cleared (``%reset -f``) while imported modules, and the data tables cached by
:func:`evalkit.report.sections.load_context`, stay loaded. Parameters are
injected with papermill's own :func:`papermill.parameterize.parameterize_notebook`
(the same injected cell papermill writes) and executed with nbclient, reusing the
kernel client. HTML is rendered with nbconvert's ``basic`` template (code and
prompts hidden) inside a small self-contained page with its own stylesheet.

Outputs are written atomically: each report renders into a staging folder
inside ``out_dir`` and is renamed into place only when complete, so a failed run
leaves no half-written report. ``run_all`` never lets one failing intervention
stop the others; failures are listed with their error on ``index.html``.
"""

from __future__ import annotations

import atexit
import html
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from evalkit.errors import EvalkitError, SpecError
from evalkit.io_safe import guarded, write_problem, write_text_atomic
from evalkit.report.disclosure import redact
from evalkit.results import ResultMixin

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
REPORT_NOTEBOOK = "intervention_report.ipynb"
PORTFOLIO_NOTEBOOK = "portfolio_summary.ipynb"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _load_notebook(notebook: str | Path) -> tuple["object", str]:
    """A notebook and where it came from. A path is read as it is; a report notebook's name means the
    checkout's ``notebooks/`` file when present (an evaluator may have adapted it), else the same
    notebook built by :mod:`evalkit.report.notebooks` (a regular install has no ``notebooks/``)."""
    import nbformat

    if isinstance(notebook, Path):
        return nbformat.read(notebook, as_version=4), str(notebook)
    name = notebook
    path = NOTEBOOK_DIR / name
    if path.is_file():
        return nbformat.read(path, as_version=4), str(path)
    from evalkit.report.notebooks import BUILDERS

    return BUILDERS[name](), f"evalkit.report.notebooks ({name})"
CELL_TIMEOUT = 600
_RESET_TAG = "evalkit-reset"


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ReportStatus:
    """How one report went."""

    report_id: str
    title: str
    status: str  # "ok" or "failed"
    seconds: float
    html: str | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class RunAllResult(ResultMixin):
    """What ``run_all`` did: one status per report, the index page, and the time taken."""

    out_dir: str
    index: str
    reports: tuple[ReportStatus, ...]
    seconds: float
    workers: int
    title: str = "Reports"
    portfolio: ReportStatus | None = field(default=None)

    @property
    def failed(self) -> list[ReportStatus]:
        everything = [*self.reports, *([self.portfolio] if self.portfolio else [])]
        return [r for r in everything if not r.ok]

    def _rows(self) -> list[dict]:
        return [{"report": r.report_id, "status": r.status, "seconds": round(r.seconds, 2), "error": r.error}
                for r in (*self.reports, *([self.portfolio] if self.portfolio else []))]

    def __str__(self) -> str:
        ok = sum(r.ok for r in self.reports)
        text = (f"{ok} of {len(self.reports)} reports rendered in {self.seconds:.1f} s with {self.workers} "
                f"worker(s). Open {self.index}")
        for r in self.failed:
            text += f"\nfailed: {r.report_id}: {r.error}"
        return text


# --------------------------------------------------------------------------- rendering
class _Stopped(Exception):
    """A notebook stopped by a stop signal (turned into KeyboardInterrupt by :meth:`Renderer.execute`)."""


def _do_nothing() -> None:
    """A signal the process leaves to another (a worker: Ctrl-C is the parent's to handle)."""


class Renderer:
    """One warm Jupyter kernel plus an HTML exporter, reused for many notebooks.

    Use as a context manager; :meth:`render` executes a parameterised notebook
    and writes ``<stem>.ipynb`` and ``<stem>.html`` (and ``<stem>.pdf``) into a
    folder.
    """

    def __init__(self, *, kernel_name: str = "python3", cwd: str | Path | None = None,
                 stop_signals: tuple[int, ...] | None = None) -> None:
        """``stop_signals``: None leaves nbclient's own SIGINT/SIGTERM handling while a notebook runs (it shuts
        the kernel down); a tuple (a report worker's: SIGTERM) makes those signals interrupt the running cell
        instead, and the others be ignored (see :meth:`_take_signals`)."""
        from nbconvert import HTMLExporter

        # IPC sockets in a private temp folder: local-only, and no plain-TCP warning from the kernel.
        self._ipc_dir = tempfile.mkdtemp(prefix="evalkit-kernel-")
        self.kernel_name = kernel_name
        self.km = self._new_manager()
        self.kc = None
        self.cwd = str(cwd or Path.cwd())
        self.exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                                     exclude_output_prompt=True, exclude_markdown=True)
        self.used = 0
        self.stop_signals = stop_signals
        self._stopping = False
        #: Set for good once a stop signal came (a worker then takes no further report).
        self.stopped = False

    def _take_signals(self) -> None:
        """While a notebook runs, a stop signal interrupts the kernel's cell (which then fails at once) and the
        notebook stops as interrupted; other signals are ignored (the parent process handles Ctrl-C).

        Why not nbclient's handlers: they shut the kernel down, and when its client is gone before nbclient's
        liveness check runs, nbclient waits for the cell's reply until the cell timeout (10 minutes): a stopped
        ``run-all`` worker was seen still "rendering" 30 s after it was told to stop. Called inside the event
        loop before nbclient awaits anything, so no signal can reach nbclient's handlers first.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._request_stop if signum in (self.stop_signals or ()) else
                                        _do_nothing)
            except (RuntimeError, NotImplementedError, ValueError):  # not the main thread (a Dask worker)
                pass

    def _request_stop(self) -> None:
        import asyncio

        self.stopped = True
        if not self._stopping:
            self._stopping = True
            asyncio.ensure_future(self._stop_kernel(self.used))

    async def _stop_kernel(self, run: int, *, tries: int = 3, wait: float = 2.0) -> None:
        """Interrupt the kernel's cell; again if it is still running (an interrupt that lands while Python is
        collecting garbage is swallowed: seen with a report's analysis under load); then kill the kernel."""
        import asyncio

        for _ in range(tries):
            if self.used != run or not self.km.has_kernel:  # this notebook has stopped
                return
            try:
                await self.km.interrupt_kernel()
            except Exception:  # noqa: BLE001 - the kernel is going or gone
                return
            await asyncio.sleep(wait)
        if self.used == run and self.km.has_kernel:
            try:
                await self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass

    def _client(self, nb):
        """An nbclient NotebookClient for ``nb`` on this renderer's kernel (with :meth:`_take_signals`)."""
        from contextlib import asynccontextmanager

        from nbclient import NotebookClient

        renderer = self

        class Client(NotebookClient):
            @asynccontextmanager
            async def async_setup_kernel(self, **kwargs):
                async with super().async_setup_kernel(**kwargs):
                    renderer._take_signals()  # a warm kernel: nothing awaited since nbclient set its handlers
                    yield

            async def async_start_new_kernel(self, **kwargs) -> None:
                renderer._take_signals()  # a new kernel: before the first await of its start
                await super().async_start_new_kernel(**kwargs)

            async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
                if renderer._stopping:  # stopped between two cells: the interrupt reached an idle kernel
                    raise _Stopped()
                return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        return (Client if self.stop_signals is not None else NotebookClient)(
            nb, km=self.km, timeout=CELL_TIMEOUT, kernel_name="python3", interrupt_on_timeout=True,
            resources={"metadata": {"path": self.cwd}}, record_timing=False)

    def _new_manager(self):
        from jupyter_client.manager import AsyncKernelManager

        return AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc",
                                  ip=os.path.join(self._ipc_dir, f"kernel-{uuid.uuid4().hex[:8]}"))

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Shut the kernel down."""
        from jupyter_core.utils import run_sync

        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
        shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def execute(self, notebook: str | Path, parameters: dict) -> "object":
        """Execute a notebook (a path, or a report notebook's name: :func:`_load_notebook`) with ``parameters``
        on the warm kernel; return the executed notebook."""
        import nbformat
        from papermill.parameterize import parameterize_notebook

        nb, source = _load_notebook(notebook)
        # What papermill's loader adds before parameterising: a tags list per
        # cell and a papermill metadata block.
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        nb.metadata.setdefault("papermill", {})
        nb.metadata.papermill["input_path"] = source
        nb = parameterize_notebook(nb, parameters)
        # Clear the previous report's names but keep imported modules warm.
        reset = nbformat.v4.new_code_cell("%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\n"
                                          "del _plt", metadata={"tags": [_RESET_TAG]})
        nb.cells.insert(0, reset)
        client = self._client(nb)
        client.kc = self.kc
        self._stopping = False
        try:
            # the kernel's own log goes to a file in the private folder, not the user's terminal (on Ctrl-C
            # it prints a ZMQ traceback while shutting down); used only when a kernel is started
            with open(os.path.join(self._ipc_dir, "kernel.log"), "ab") as log:
                client.execute(stdout=log, stderr=log)
            if self._stopping:  # the stop came as the last cell finished: still a stop, not a report
                raise _Stopped()
        except Exception:
            self.kc = client.kc
            if self._stopping:  # a stop signal interrupted the cell (see _take_signals)
                self._stopping = False
                raise KeyboardInterrupt from None
            if getattr(client, "_async_cleanup_kernel_future", None) is not None:
                # nbclient's own SIGINT/SIGTERM handler shut the kernel down: the user stopped the run,
                # which must read as an interruption, not as "the report failed: Kernel died"
                raise KeyboardInterrupt from None
            self._restart_if_dead()
            raise
        finally:
            self.used += 1
            # nbclient registers an exit hook that shuts "its" kernel down, and leaves it registered when the run
            # is stopped while the kernel starts; the kernel is this renderer's (close() shuts it down), and the
            # hook then failed at exit with a traceback after the clean "interrupted" line
            atexit.unregister(client._cleanup_kernel)
            nb.cells = [c for c in nb.cells if _RESET_TAG not in c.get("metadata", {}).get("tags", [])]
        self.kc = client.kc
        return nb

    def _restart_if_dead(self) -> None:
        """After a failure, make sure the next report gets a live kernel (a crash must not poison the rest)."""
        from jupyter_core.utils import run_sync

        try:
            alive = self.km.has_kernel and run_sync(self.km.is_alive)()
        except Exception:  # noqa: BLE001
            alive = False
        if alive:
            return
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        try:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.km = self._new_manager()  # the old manager's sockets are closed; start afresh

    def render(self, notebook: str | Path, parameters: dict, folder: Path, stem: str, *, title: str,
               pdf: bool = False) -> Path:
        """Execute and write ``stem.ipynb``, ``stem.html`` (and ``stem.pdf``) into ``folder``."""
        import nbformat

        folder.mkdir(parents=True, exist_ok=True)
        nb = self.execute(notebook, parameters)
        _strip_metadata(nb)
        nbformat.write(nb, folder / f"{stem}.ipynb")
        body, _ = self.exporter.from_notebook_node(nb)
        page = folder / f"{stem}.html"
        page.write_text(wrap_page(body, title=title), encoding="utf-8")
        if pdf:
            print_pdf(page, folder / f"{stem}.pdf")
        return page


def _strip_metadata(nb) -> None:
    """Drop per-cell execution timestamps (noise that changes on every run) and printed output.

    The report cells return sections; anything printed (a library's warning on stderr, a stray print) is
    not part of the report, would show on the HTML page, and could quote data, so it is not kept.
    """
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if o.get("output_type") != "stream"]


def wrap_page(body: str, *, title: str) -> str:
    """A self-contained HTML page around nbconvert's body: the one base layout
    (``evalkit/report/templates/page.html.j2``, autoescaped) with the report stylesheet and its print rules."""
    from markupsafe import Markup

    from evalkit.report.pages import render_template

    css = resources.files("evalkit.report").joinpath("report.css").read_text(encoding="utf-8")
    # the body is nbconvert's HTML and the stylesheet ours: both trusted markup; the title is escaped
    return render_template("page.html.j2", title=title, css=Markup(css), body=Markup(body)) + "\n"


def find_chromium() -> str | None:
    """Path of a headless-capable Chromium, if installed."""
    for name in CHROMIUM:
        path = shutil.which(name)
        if path:
            return path
    return None


def _opened(page: str) -> str:
    """The page with every ``<details>`` element open."""
    return re.sub(r"<details(?![^>]*\bopen\b)", "<details open", page)


def print_pdf(page: Path, pdf: Path, *, timeout: float = 120) -> Path:
    """Print an HTML page to PDF with headless Chromium."""
    browser = find_chromium()
    if browser is None:
        raise EvalkitError("PDF output needs Chromium, which is not installed. Fix: install the 'chromium' package, "
                           "or run without --pdf.")
    with tempfile.TemporaryDirectory(prefix="evalkit-chromium-") as profile:
        # Paper cannot be clicked: the print copy has every collapsed section (<details>) opened. It sits
        # beside the page, so anything the page links relatively still resolves.
        printable = page.with_name(f".print-{page.name}")
        printable.write_text(_opened(page.read_text(encoding="utf-8")), encoding="utf-8")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", printable.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        finally:
            printable.unlink(missing_ok=True)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise EvalkitError(f"Chromium could not print {page.name} to PDF (exit code {done.returncode}).")
    return pdf


# --------------------------------------------------------------------------- atomic outputs
def _staging(out_dir: Path, name: str) -> Path:
    path = out_dir / f".staging-{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def _publish_dir(staging: Path, final: Path) -> None:
    """Move a finished folder into place (replacing an older one) by renames only."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)  # the one guarded write path: a full disk is a plain error naming the file


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r"File (\S*evalkit\S*?\.py):(\d+), in (\w+)")


def _where(traceback_text: str) -> str:
    """' (at evalkit/x.py:12 in f)' for the deepest evalkit frame of a programming error, to help a developer."""
    frames = _FRAME.findall(_ANSI.sub("", traceback_text))
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f" (at {path[path.rfind('evalkit/'):]}:{line} in {func})"


_OS_ERRORS = {"OSError", "IOError", "PermissionError", "FileNotFoundError", "IsADirectoryError"}
_DISK = re.compile(r"no space left|file too large|disk quota|read-only file system|permission denied", re.I)


def _error_text(exc: BaseException) -> str:
    """One plain line without row-level values: the evaluator's error message, or the exception's type and text."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename in _OS_ERRORS and _DISK.search(str(evalue)):  # the kernel's own write met a full or read-only disk
        text = redact(write_problem("the report folder", OSError(str(evalue))))
    elif ename:
        users = ename.endswith(("SpecError", "DataError", "InsufficientDataError", "MissingDataError", "EvalkitError"))
        text = redact(str(evalue)) if users else (f"{ename}: {redact(str(evalue), quoted=True)}"
                                                  f"{_where(getattr(exc, 'traceback', '') or '')}")
    elif isinstance(exc, EvalkitError):
        text = redact(str(exc))
    else:
        text = f"{type(exc).__name__}: {redact(str(exc), quoted=True)}"
    return " ".join(str(text).split())[:2000]


# --------------------------------------------------------------------------- one report
def _report_id(protocol: Path) -> tuple[str, str]:
    """The report's id and title from its protocol, or the file stem when the protocol is invalid."""
    from evalkit.protocol import load_protocol

    try:
        p = load_protocol(protocol)
        return p.intervention_id, p.title
    except EvalkitError:
        return protocol.stem, protocol.stem


def _render_report(renderer: Renderer, protocol: Path, data_src: Path, out_dir: Path, *, pdf: bool,
                   notebook: str | Path = REPORT_NOTEBOOK) -> ReportStatus:
    """Validate, execute and publish one report; never raises for a report's own failure."""
    from evalkit.protocol import validate_protocol_file

    start = time.perf_counter()
    report_id, title = _report_id(protocol)
    problems = validate_protocol_file(protocol)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return ReportStatus(report_id, title, "failed", time.perf_counter() - start, error=str(problems[0]) + more)
    try:
        with guarded(out_dir / report_id):
            staging = _staging(out_dir, report_id)
    except EvalkitError as exc:
        return ReportStatus(report_id, title, "failed", time.perf_counter() - start, error=_error_text(exc))
    try:
        params = {"protocol_path": str(protocol.resolve()), "data_src": str(data_src.resolve()),
                  "output_dir": str(staging.resolve()), "seed": None}
        with guarded(out_dir / report_id):  # a full disk or a read-only folder: one plain line naming it
            renderer.render(notebook, params, staging, report_id, title=title, pdf=pdf)
            # findings.json names the staging folder nowhere; the folder moves as a whole
            _publish_dir(staging, out_dir / report_id)
    except Exception as exc:  # noqa: BLE001 - one report's failure must not stop the rest
        shutil.rmtree(staging, ignore_errors=True)
        return ReportStatus(report_id, title, "failed", time.perf_counter() - start, error=_error_text(exc))
    except BaseException:  # Ctrl-C, SIGTERM, asyncio's CancelledError: no half-made staging folder is left
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportStatus(report_id, title, "ok", time.perf_counter() - start,
                        html=f"{report_id}/{report_id}.html")


def _render_portfolio(renderer: Renderer, protocol_dir: Path, data_src: Path, out_dir: Path, *, pdf: bool
                      ) -> ReportStatus:
    start = time.perf_counter()
    stem = "portfolio_summary"
    try:
        with guarded(out_dir / f"{stem}.html"):
            staging = _staging(out_dir, "portfolio")
    except EvalkitError as exc:
        return ReportStatus("portfolio", "Portfolio summary", "failed", time.perf_counter() - start,
                            error=_error_text(exc))
    try:
        params = {"protocol_dir": str(protocol_dir.resolve()), "data_src": str(data_src.resolve()),
                  "reports_dir": str(out_dir.resolve()), "output_dir": str(staging.resolve())}
        # the board pack: the portfolio is always printed (A4 landscape) when Chromium is there, whatever --pdf
        # says of the reports, and its decision table exported (portfolio_decisions.csv / .xlsx)
        with guarded(out_dir / f"{stem}.html"):
            renderer.render(PORTFOLIO_NOTEBOOK, params, staging, stem, title="Portfolio summary",
                            pdf=pdf or find_chromium() is not None)
            names = [f"{stem}.ipynb", "portfolio_decisions.csv", "portfolio_decisions.xlsx", f"{stem}.pdf",
                     f"{stem}.html"]
            for name in names:  # the page last, so it never links to a missing file
                if (staging / name).exists():
                    os.replace(staging / name, out_dir / name)
    except Exception as exc:  # noqa: BLE001
        return ReportStatus("portfolio", "Portfolio summary", "failed", time.perf_counter() - start,
                            error=_error_text(exc))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ReportStatus("portfolio", "Portfolio summary", "ok", time.perf_counter() - start,
                        html=f"{stem}.html")


def run_report(protocol: str | Path, data_src: str | Path, out_dir: str | Path, *, pdf: bool = False,
               notebook: str | Path | None = None) -> str:
    """Render one intervention report into ``out_dir/<id>/``; return where to open it.

    ``notebook``: a copy of ``notebooks/intervention_report.ipynb`` an analyst has tweaked in Jupyter (an
    extra cell, a section left out); it is run with the same parameters (papermill's ``parameters`` cell:
    ``protocol_path``, ``data_src``, ``output_dir``, ``seed``) and given evalkit's page styling.

    Raises
    ------
    EvalkitError
        When the protocol is invalid or the report fails (nothing is left behind).
    """
    from evalkit.protocol import load_protocol

    protocol, data_src, out_dir = Path(protocol), Path(data_src), Path(out_dir)
    load_protocol(protocol)  # a protocol mistake raises SpecError with its line, before any kernel starts
    if notebook is not None and not Path(notebook).is_file():
        raise SpecError(f"{notebook}: no such notebook. Fix: give the path of an .ipynb file, e.g. a copy of "
                        "notebooks/intervention_report.ipynb.")
    if not data_src.exists():
        raise SpecError(f"{data_src}: the data source does not exist. Fix: give a DuckDB store or a data folder.")
    with guarded(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    with Renderer() as renderer:
        status = _render_report(renderer, protocol, data_src, out_dir, pdf=pdf,
                                notebook=Path(notebook).resolve() if notebook is not None else REPORT_NOTEBOOK)
    if not status.ok:
        raise EvalkitError(f"{status.report_id}: the report failed: {status.error}")
    page = out_dir / status.html
    pdf_file = page.with_suffix(".pdf")
    also = f" and the PDF {pdf_file}" if pdf and pdf_file.is_file() else ""
    return f"wrote {page}{also} in {status.seconds:.1f} s"


# --------------------------------------------------------------------------- worker processes
_WORKER: Renderer | None = None
_WORKER_LOCK = threading.Lock()


#: Signals a local worker is born with blocked (see :class:`_QuietSpawnProcess`) and handles itself.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
#: True while this worker renders a report (what its SIGTERM handler does depends on it).
_RENDERING = threading.Event()
#: Set when the parent has told this worker to stop (SIGTERM).
_STOPPED = threading.Event()


def _check_not_stopped() -> None:
    """A stopped worker takes no further report: up to ``workers + 1`` reports were already handed to the workers
    when the run was stopped, and the pool cannot cancel those (without this they were still rendered)."""
    if _STOPPED.is_set() or (_WORKER is not None and _WORKER.stopped):
        raise KeyboardInterrupt()


def _worker_init(cwd: str) -> None:
    """Start this worker's kernel and import the report stack into it once."""
    import multiprocessing.util

    global _WORKER
    _worker_signals()
    if threading.current_thread() is threading.main_thread():
        # born with Ctrl-C and SIGTERM blocked (a Ctrl-C during start-up is now discarded, as ignored; a
        # SIGTERM from the parent stopping the run is handled by _worker_terminated)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    os.environ.setdefault("MPLBACKEND", "Agg")
    _WORKER = Renderer(cwd=cwd, stop_signals=(signal.SIGTERM,))
    multiprocessing.util.Finalize(None, _WORKER.close, exitpriority=10)


def _worker_report(protocol: str, data_src: str, out_dir: str, pdf: bool) -> ReportStatus:
    if _WORKER is None:  # a Dask worker: its kernel starts with its first report
        _worker_init(os.getcwd())
    assert _WORKER is not None
    _check_not_stopped()
    try:
        with _WORKER_LOCK:  # one warm kernel per process: a Dask worker with several threads takes turns
            _RENDERING.set()
            return _render_report(_WORKER, Path(protocol), Path(data_src), Path(out_dir), pdf=pdf)
    except Exception as exc:  # noqa: BLE001 - a crash in the machinery is still one report's failure
        return ReportStatus(Path(protocol).stem, Path(protocol).stem, "failed", 0.0,
                            error=_error_text(exc) + " " + redact(traceback.format_exc(limit=1).splitlines()[-1],
                                                                  quoted=True))
    finally:
        _RENDERING.clear()
        _worker_signals()


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to the parent and stops when the parent sends SIGTERM (see :func:`_stop_pool`).

    Re-applied after every report: while a notebook runs, the event loop's handlers take over (SIGTERM interrupts
    the kernel's cell: :meth:`Renderer._take_signals`), and removing them afterwards leaves the defaults.
    """
    if threading.current_thread() is threading.main_thread():  # a Dask worker runs tasks in other threads
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _worker_terminated)


def _in_import(frame) -> bool:
    """Whether the thread is inside an import (its stack passes through importlib's frames)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _worker_terminated(signum, frame) -> None:
    """SIGTERM from the parent stopping the run: a report in progress stops as interrupted (its staging folder
    removed, the interruption sent back to the parent); an idle worker shuts its kernel down and leaves at once."""
    _STOPPED.set()
    if _RENDERING.is_set():
        if _in_import(frame):  # raised inside importlib's lock callback it is printed as "Exception ignored"
            again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
            again.daemon = True
            again.start()
            return
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        _close_worker()
    finally:
        os._exit(0)


def _worker_portfolio(protocol_dir: str, data_src: str, out_dir: str, pdf: bool) -> ReportStatus:
    if _WORKER is None:
        _worker_init(os.getcwd())
    assert _WORKER is not None
    _check_not_stopped()
    try:
        with _WORKER_LOCK:
            _RENDERING.set()
            return _render_portfolio(_WORKER, Path(protocol_dir), Path(data_src), Path(out_dir), pdf=pdf)
    finally:
        _RENDERING.clear()
        _worker_signals()


#: Rough relative cost of each design, to start the slowest reports first.
_DESIGN_COST = {"did": 3, "area_did": 3, "matched": 2, "area_trend": 1, "prepost": 1}


def _expected_cost(protocol: Path) -> tuple[int, str]:
    from evalkit.protocol import load_protocol

    try:
        designs = load_protocol(protocol).designs
    except EvalkitError:
        return (0, protocol.name)
    return (sum(_DESIGN_COST.get(d.type, 1) for d in designs), protocol.name)


def _close_worker() -> None:
    """Shut this process's warm kernel down (a Dask worker stopping)."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def _kernel_plugin():
    """A Dask worker plugin that shuts the worker's kernel down when the worker stops."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class CloseKernel(WorkerPlugin):
        name = "evalkit-kernel"

        def teardown(self, worker) -> None:  # noqa: ARG002
            from evalkit.run import _close_worker  # the worker's own module, not a pickled copy

            _close_worker()

    return CloseKernel()


def _missing_here(paths: list[str]) -> list[str]:
    """The paths this machine cannot see (run on each Dask worker); the output folder must be writable too."""
    missing = [p for p in paths if not os.path.exists(p)]
    if paths and os.path.isdir(paths[-1]) and not os.access(paths[-1], os.W_OK | os.X_OK):
        missing.append(paths[-1] + " (not writable)")
    return missing


def _check_workers_see(client, address: str, needed: list[Path]) -> None:
    """Every Dask worker must see the protocols, the data and the output folder at the same paths (a shared
    file system): checked once, before any report is sent, so a run never fails report by report."""
    wanted = [str(p) for p in needed[3:]] + [str(p) for p in needed[:3]]  # the output folder last
    try:
        seen = client.run(_missing_here, wanted)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot even run the check
        raise EvalkitError(f"the Dask workers at {address} could not check the files ({type(exc).__name__}). Fix: "
                           "install the same evalkit on every worker.") from None
    for worker, missing in sorted(seen.items()):
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise EvalkitError(f"the Dask worker {worker} cannot see {missing[0]}{more}: every worker must see the "
                               "protocols, the data and the output folder at the same paths. Fix: put them on a "
                               "file system shared by all the machines (see docs/scale.md), or run without "
                               "--scheduler.")


@contextmanager
def _dask_pool(address: str, needed: list[Path] | None = None):
    """A ``concurrent.futures`` executor on a Dask distributed cluster, and its number of worker threads."""
    try:
        from distributed import Client
    except ImportError:
        raise EvalkitError("--scheduler needs Dask distributed, which is not installed. Fix: install evalkit with "
                           "its 'scale' extra (pip install 'evalkit[scale]').") from None
    try:
        client = Client(address, timeout="15s", set_as_default=False)
    except OSError as exc:  # refused, unknown host, timed out
        raise EvalkitError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}). Fix: start it "
                           f"(`dask scheduler`) and its workers (`dask worker {address}`) on machines that see the "
                           "same data and output folders, or check the address.") from None
    try:
        client.register_plugin(_kernel_plugin())
        threads = sum(client.nthreads().values())
        if threads == 0:
            raise EvalkitError(f"the Dask scheduler at {address} has no workers. Fix: start some with "
                               f"`dask worker {address} --nthreads 1`.")
        if needed:
            _check_workers_see(client, address, needed)
        with client.get_executor(pure=False) as pool:  # futures behave like the process pool's
            yield pool, threads
    finally:
        client.close()


class _QuietSpawnProcess(multiprocessing.context.SpawnProcess):
    """A worker process born with Ctrl-C and SIGTERM blocked (the signal mask survives exec).

    Ctrl-C goes to the terminal's whole process group. A worker still importing pandas and the report stack
    (seconds, under load) would otherwise die there with a KeyboardInterrupt traceback on the user's screen;
    blocked, the signal waits until :func:`_worker_init` has set the worker's own handling. A Ctrl-C that comes
    while the parent is starting a worker likewise waits, and is acted on as soon as the worker has started.
    """

    def start(self) -> None:
        # The parent's own handlers are held off too: a signal can reach the parent through one of its other
        # threads (which do not block it), and a KeyboardInterrupt raised half-way through starting a worker left
        # that worker reading a half-written start-up message (a traceback from multiprocessing on the screen).
        held: list[int] = []
        main = threading.current_thread() is threading.main_thread()
        saved = {signum: signal.signal(signum, lambda signum, frame: held.append(signum))  # noqa: ARG005
                 for signum in _STOP_SIGNALS} if main else {}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            for signum, handler in saved.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            for signum in dict.fromkeys(held):  # now, to the handlers just restored
                os.kill(os.getpid(), signum)


class _QuietSpawnContext(multiprocessing.context.SpawnContext):
    """The spawn start method with :class:`_QuietSpawnProcess` workers, listed so :func:`_stop_pool` can stop
    exactly these."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[_QuietSpawnProcess] = []

    def Process(self, *args, **kwargs) -> _QuietSpawnProcess:  # type: ignore[override]  # noqa: N802
        proc = _QuietSpawnProcess(*args, **kwargs)
        self.started.append(proc)
        return proc


def _stop_pool(pool: ProcessPoolExecutor, processes: list, *, grace: float = 30.0) -> None:
    """Stop a run at once (Ctrl-C, SIGTERM): drop the reports not yet started and stop each worker's current one.

    Without this, leaving the ``with`` block waits for every queued report: an interrupted ``run-all`` went on
    rendering the whole portfolio before it said "interrupted". Each worker gets SIGTERM: a report in progress
    stops as interrupted and removes its staging folder, then the worker shuts its kernel down and exits.
    A worker that has not left after ``grace`` seconds is killed (its kernel then exits with it).
    """
    # The pool's queues stay referenced until the workers have gone: shutdown(wait=False) drops the pool's own
    # references, and a worker still starting then failed to open the queue's semaphore (already removed),
    # printing a multiprocessing traceback (Ctrl-C within a moment of the workers' start).
    queues = [getattr(pool, name, None) for name in ("_call_queue", "_result_queue")]
    pool.shutdown(wait=False, cancel_futures=True)
    processes = [proc for proc in processes if proc.pid is not None]  # started
    for proc in processes:
        if proc.is_alive():
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except OSError:  # already gone
                pass
    deadline = time.monotonic() + grace
    for proc in processes:
        proc.join(max(0.0, deadline - time.monotonic()))
    for proc in processes:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    del queues


#: Passed to multiprocessing's resource tracker (a helper process started with the pool, writing to the user's
#: terminal): after a Ctrl-C it sometimes warned of a "leaked semaphore" of the stopped pool (1 run in 18), noise
#: after the clean "interrupted" line that the user can do nothing about; the semaphore is removed all the same.
_TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


@contextmanager
def _process_pool(workers: int):
    if _TRACKER_QUIET not in sys.warnoptions:  # the tracker starts with the interpreter's -W options
        sys.warnoptions.append(_TRACKER_QUIET)
    ctx = _QuietSpawnContext()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(str(Path.cwd()),))
    try:
        yield pool, workers
    except BaseException:
        # a second Ctrl-C (users press it again when a command does not stop at once) waits until the workers
        # are stopped, instead of breaking off the stopping and leaving them running
        main = threading.current_thread() is threading.main_thread()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if main else None
        try:
            _stop_pool(pool, ctx.started)
        finally:
            if old is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        raise
    pool.shutdown(wait=True)


def run_all(protocol_dir: str | Path, data_src: str | Path, out_dir: str | Path, *, workers: int = 2,
            pdf: bool = False, portfolio: bool = True, progress: bool = True,
            protocols: list[str | Path] | None = None, scheduler: str | None = None) -> RunAllResult:
    """Render every protocol's report (in parallel), then the portfolio summary and ``index.html``.

    Parameters
    ----------
    protocol_dir
        Folder of protocol YAML files (each one report).
    data_src
        DuckDB store or folder of data files.
    out_dir
        Output folder: ``<id>/<id>.html`` (+ ``.ipynb``, ``findings.json``) per report,
        ``portfolio_summary.html``, ``index.html`` and ``run_status.json``.
    workers
        Worker processes, each holding one warm kernel.
    protocols
        Render only these protocol files (default: every ``*.yaml`` in ``protocol_dir``).
    scheduler
        Address of a Dask distributed scheduler (``tcp://HOST:PORT``): render on its workers instead of
        local processes (``workers`` is then ignored). Every worker must see ``data_src`` and ``out_dir`` at
        the same paths (a shared file system); outputs are published atomically as without it.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    # absolute paths, resolved here on the client: a worker (a Dask worker on another machine, or started in
    # another folder) would read a relative path against its own working directory
    protocol_dir, data_src, out_dir = (Path(p).expanduser().resolve() for p in (protocol_dir, data_src, out_dir))
    if not protocol_dir.is_dir():
        raise SpecError(f"{protocol_dir}: no such folder of protocols. Fix: give the folder holding the YAML files.")
    if not data_src.exists():
        raise SpecError(f"{data_src}: the data source does not exist. Fix: give a DuckDB store or a data folder.")
    paths = ([Path(p).expanduser().resolve() for p in protocols] if protocols is not None
             else sorted(protocol_dir.glob("*.yaml")))
    if not paths:
        raise SpecError(f"{protocol_dir}: no protocol files (*.yaml) found.")
    from evalkit.protocol import duplicate_ids

    clashes = duplicate_ids(paths)
    if clashes:  # refused before anything renders: both would be written to one report folder
        raise SpecError(str(clashes[0]) + (f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""))
    paths.sort(key=_expected_cost, reverse=True)  # longest first, so no slow report is left for the end
    with guarded(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(int(workers), len(paths)))
    statuses: list[ReportStatus] = []
    port_status = None
    staged_before = set(out_dir.glob(".staging-*"))
    try:
        with (_dask_pool(scheduler, needed=[protocol_dir, data_src, out_dir, *paths]) if scheduler
              else _process_pool(workers)) as (pool, workers):
            futures = {pool.submit(_worker_report, str(p), str(data_src), str(out_dir), pdf): p for p in paths}
            # The count is of reports (what the user asked for), the portfolio named apart. In a terminal a bar;
            # in a captured log (no terminal) one line per report instead of a carriage-return flood.
            tty = sys.stderr.isatty()
            bar = tqdm(total=len(futures), desc="reports", unit="report", disable=not (progress and tty))
            for done, fut in enumerate(as_completed(futures), start=1):
                try:
                    status = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker process died
                    p = futures[fut]
                    status = ReportStatus(p.stem, p.stem, "failed", 0.0, error=_error_text(exc))
                statuses.append(status)
                bar.set_postfix_str(f"{status.report_id} {status.status}")
                bar.update(1)
                if progress and not tty:
                    print(f"report {done} of {len(futures)}: {status.report_id} {status.status}", file=sys.stderr,
                          flush=True)
            statuses.sort(key=lambda s: s.report_id)
            _write_status(out_dir, statuses)
            if portfolio:
                try:
                    port_status = pool.submit(_worker_portfolio, str(protocol_dir), str(data_src), str(out_dir),
                                              pdf).result()
                except Exception as exc:  # noqa: BLE001
                    port_status = ReportStatus("portfolio", "Portfolio summary", "failed", 0.0, error=_error_text(exc))
                if progress:
                    bar.write(f"portfolio summary {port_status.status}", file=sys.stderr)
            bar.close()
    except BaseException:
        # stopped (Ctrl-C, SIGTERM: see _stop_pool): the workers removed their staging folders, but one killed
        # after its grace period could not, so nothing this run began is left half-made
        for leftover in set(out_dir.glob(".staging-*")) - staged_before:
            shutil.rmtree(leftover, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    index = write_index(out_dir, statuses, port_status, seconds=seconds)
    _write_status(out_dir, statuses, port_status)
    return RunAllResult(out_dir=str(out_dir), index=str(index), reports=tuple(statuses), seconds=seconds,
                        workers=workers, portfolio=port_status)


def _write_status(out_dir: Path, statuses: list[ReportStatus], portfolio: ReportStatus | None = None) -> None:
    data = {s.report_id: {"status": s.status, "title": s.title, "error": s.error, "html": s.html,
                          "seconds": round(s.seconds, 2)} for s in statuses}
    if portfolio is not None:
        data["portfolio"] = {"status": portfolio.status, "error": portfolio.error, "html": portfolio.html}
    _write_atomic(out_dir / "run_status.json", json.dumps(data, indent=2))


def _decision_badge(out_dir: Path, s: ReportStatus) -> str:
    """A rendered report's commissioning category, as its findings.json gives it (the index's "Decision")."""
    try:
        found = json.loads((out_dir / s.report_id / "findings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "<span class='ok'>rendered</span>"
    prim = found.get("primary") or {}
    label = prim.get("category_label")
    if not label:
        return "<span class='ok'>area indicators</span>" if s.report_id == "VRU" else "<span class='ok'>rendered</span>"
    return f"<span class='category {html.escape(str(prim.get('category', '')))}'>{html.escape(str(label))}</span>"


def write_index(out_dir: Path, statuses: list[ReportStatus], portfolio: ReportStatus | None, *,
                seconds: float) -> Path:
    """``index.html``: every report with its status, and each failure with its error message."""
    rows = []
    for s in statuses:
        name = (f"<a href='{html.escape(s.html)}'>{html.escape(s.title)}</a>" if s.ok and s.html
                else html.escape(s.title))
        badge = _decision_badge(out_dir, s) if s.ok else "<span class='failed'>failed</span>"
        rows.append(f"<tr><td>{html.escape(s.report_id)}</td><td>{name}</td><td>{badge}</td>"
                    f"<td class='error'>{html.escape(s.error)}</td></tr>")
    if portfolio is not None and portfolio.ok:
        # the board pack beside it: the printable PDF and the decision table as CSV and Excel, where written
        take = [f"<a href='{name}'>{what}</a>" for name, what in (
            ("portfolio_summary.pdf", "printable PDF"), ("portfolio_decisions.csv", "decisions as CSV"),
            ("portfolio_decisions.xlsx", "decisions as Excel")) if (out_dir / name).is_file()]
        summary = (f"<p class='lead'>Start with the <a href='{portfolio.html}'>portfolio summary</a>"
                   + (f" ({', '.join(take)})" if take else "") + ".</p>")
    elif portfolio is not None:
        summary = f"<p class='failed'>The portfolio summary failed: {html.escape(portfolio.error)}</p>"
    else:
        summary = ""
    ok = sum(s.ok for s in statuses)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"<header class='report-title'><p class='kicker'>evalkit</p><h1>Evaluation reports</h1>"
            f"<p class='facts'>{ok} of {len(statuses)} reports rendered in {seconds:.0f} s · {when}</p></header>"
            f"{summary}<table class='index'><thead><tr><th>ID</th><th>Report</th><th>Decision</th><th>Error</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    path = out_dir / "index.html"
    _write_atomic(path, wrap_page(body, title="Evaluation reports"))
    return path


__all__ = ["Renderer", "ReportStatus", "RunAllResult", "run_report", "run_all", "write_index", "wrap_page",
           "print_pdf", "find_chromium", "redact"]
