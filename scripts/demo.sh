#!/usr/bin/env bash
# Set up a virtual environment, create or upgrade the embedded SQLite database, load the
# demo data and serve the app (with its background worker) on http://127.0.0.1:5000/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e .
"$VENV/bin/examadmin" db upgrade
# the demo's e-certificates carry QR codes to the address the demo is served on
PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}" "$VENV/bin/examadmin" demo
exec "$VENV/bin/examadmin" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
