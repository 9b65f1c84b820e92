#!/usr/bin/env bash
# Set up a virtual environment with the test extras and run the whole test suite.
# Extra arguments go to pytest. TEST_DATABASE_URL=postgresql://... runs it on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,postgres,redis]"
exec "$VENV/bin/python" -m pytest "$@"
