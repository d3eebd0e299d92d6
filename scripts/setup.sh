#!/usr/bin/env bash
# Shared set-up for scripts/demo and scripts/test: a project virtual environment
# with evalkit installed (editable). Idempotent and quick when already done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.evalkit-installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
    touch "$stamp"
fi
# Byte-compile the checkout, as pip does for a regular install: an editable install leaves that to
# the first import, and where PYTHONDONTWRITEBYTECODE is set every command would recompile evalkit.
.venv/bin/python -m compileall -q evalkit >/dev/null
