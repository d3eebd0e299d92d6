"""run-all on a Dask distributed cluster (a local cluster of worker processes) gives the default run's findings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from evalkit.errors import EvalkitError  # noqa: E402
from evalkit.run import run_all  # noqa: E402
from tests.report_fixture import write_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    data = write_fixture(tmp_path_factory.mktemp("data") / "src")
    protocols = tmp_path_factory.mktemp("protocols")
    for name in ("INT03.yaml", "INT08.yaml"):
        shutil.copy(ROOT / "protocols" / name, protocols / name)
    return data, protocols


def test_dask_cluster_gives_byte_identical_findings(inputs, tmp_path, monkeypatch):
    """... given relative paths (the README's form) from a folder the workers were not started in."""
    import os

    from distributed import LocalCluster

    data, protocols = inputs
    default = run_all(protocols, data, tmp_path / "default", workers=1, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:
        monkeypatch.chdir(tmp_path)  # the workers' working directory is the one they started in, not this
        on_dask = run_all(os.path.relpath(protocols), os.path.relpath(data), "dask", progress=False,
                          scheduler=cluster.scheduler_address)
    assert on_dask.workers == 2 and not on_dask.failed and not default.failed
    for rid in ("INT03", "INT08"):
        a = (tmp_path / "default" / rid / "findings.json").read_bytes()
        b = (tmp_path / "dask" / rid / "findings.json").read_bytes()
        assert a == b, rid
        assert {p.name for p in (tmp_path / "dask" / rid).iterdir()} == {f"{rid}.html", f"{rid}.ipynb",
                                                                          "findings.json"}
    assert (tmp_path / "dask" / "portfolio_summary.html").is_file()
    assert not [p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".")]  # no staging left


def test_unreachable_scheduler_is_one_plain_error(inputs, tmp_path):
    data, protocols = inputs
    with pytest.raises(EvalkitError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_all(protocols, data, tmp_path / "out", progress=False, scheduler="tcp://127.0.0.1:9")


def test_workers_that_cannot_see_the_files_are_named_before_any_report(inputs, tmp_path):
    from distributed import Client, LocalCluster

    from evalkit.run import _check_workers_see

    data, protocols = inputs
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        _check_workers_see(client, cluster.scheduler_address, [protocols, data, tmp_path])  # all seen: no error
        with pytest.raises(EvalkitError, match=r"the Dask worker \S+ cannot see .*elsewhere.*: every worker must "
                                               r"see the protocols, the data and the output folder at the same "
                                               r"paths\. Fix: put them on a file system shared"):
            _check_workers_see(client, cluster.scheduler_address, [protocols, tmp_path / "elsewhere", tmp_path])
