"""scripts/setup.sh (run by ./scripts/demo and ./scripts/test) shows its own two lines, not pip's and setuptools'
chatter (deprecation banners, progress bars), and shows that chatter when the install fails.

Run against a stand-in Python whose pip prints such chatter, so the test takes a second and needs no network.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHATTER = ("SetuptoolsDeprecationWarning: License classifiers are deprecated.\n"
           "        ********************************************************************************\n"
           "Downloading pandas-2.2.3.tar.gz (4.4 MB)\n"
           "   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 4.4/4.4 MB 12.0 MB/s eta 0:00:00\n")

STAND_IN = f"""#!/usr/bin/env bash
# a stand-in for python3 and for the virtual environment's python
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
    printf '%s' "{CHATTER}"
    printf '%s' "{CHATTER}" >&2
    [ -n "$FAIL_INSTALL" ] && {{ echo "ERROR: No matching distribution found for pandas" >&2; exit 1; }}
    exit 0
fi
exit 0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'evalkit'\n")
    (tmp_path / "evalkit").mkdir()
    python = tmp_path / "python3"
    python.write_text(STAND_IN)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _setup(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(checkout / "scripts" / "setup.sh"), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": str(checkout / "python3"), **env}, timeout=60)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_setup_prints_its_own_lines_only(checkout):
    first = _setup(checkout, "test")
    assert first.returncode == 0, first.stderr
    assert (first.stdout + first.stderr).splitlines() == [
        "Creating .venv/ ...",
        "Installing evalkit with the test extra into .venv/ (a minute or two the first time) ..."]
    again = _setup(checkout, "test")  # set up already: silent
    assert again.returncode == 0 and again.stdout + again.stderr == ""
    assert not (checkout / ".venv-install.log").exists()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_failed_install_shows_what_pip_said(checkout):
    res = _setup(checkout, FAIL_INSTALL="1")
    assert res.returncode == 1
    assert "ERROR: No matching distribution found for pandas" in res.stderr
    assert "setup failed: .venv/bin/python -m pip install" in res.stderr
