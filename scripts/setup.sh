#!/usr/bin/env bash
# Shared set-up for scripts/demo and scripts/test: a project virtual environment
# with evalkit installed (editable). Idempotent and quick when already done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-}"
python="${PYTHON:-python3}"
# pip's and setuptools' own chatter (deprecation banners, progress bars) goes to a log, shown only on failure
log=".venv-install.log"
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "setup failed: $*" >&2; exit 1; }; }
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv/ ..."
    "$python" -m venv .venv
    quiet .venv/bin/python -m pip install --quiet --progress-bar off --upgrade pip
fi
stamp=".venv/.evalkit-installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing evalkit${extras:+ with the $extras extra} into .venv/ (a minute or two the first time) ..."
    quiet .venv/bin/python -m pip install --quiet --progress-bar off --disable-pip-version-check \
        -e ".${extras:+[$extras]}"
    touch "$stamp"
fi
rm -f "$log"
# Byte-compile the checkout, as pip does for a regular install: an editable install leaves that to
# the first import, and where PYTHONDONTWRITEBYTECODE is set every command would recompile evalkit.
.venv/bin/python -m compileall -q evalkit >/dev/null
