#!/usr/bin/env bash
# Set up a virtual environment with the test extras and run the test suite.
#
# Without arguments: the whole suite, as CI runs it. The tests without a browser run in a
# random order (pytest-randomly; the seed is printed, TEST_SEED=<seed> repeats a run) on
# TEST_WORKERS parallel workers (pytest-xdist, default 2, 0 for one process; each worker has
# its own database); then the browser tests (tests/e2e) run one after the other in their
# written order, since they share one live server and one browser. TEST_E2E=0 leaves them out.
#
# With arguments: pytest with them, in a random order with the seed printed, on one process
# (add -n 2 for workers). TEST_DATABASE_URL=postgresql://... runs on PostgreSQL: the
# database is emptied first, and each xdist worker uses <database>_<worker> on the same
# server (created when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,postgres,redis]"

SEED="${TEST_SEED:-$("$VENV/bin/python" -c 'import random; print(random.randrange(1, 10**9))')}"
echo "== random test order, seed $SEED (repeat this order: TEST_SEED=$SEED ./scripts/test.sh ...)"

if [ $# -gt 0 ]; then
  exec "$VENV/bin/python" -m pytest -p randomly --randomly-seed="$SEED" "$@"
fi

started=$(date +%s)
"$VENV/bin/python" -m pytest -p randomly --randomly-seed="$SEED" -n "${TEST_WORKERS:-2}" -m "not e2e"
if [ "${TEST_E2E:-1}" != "0" ]; then
  echo "== browser tests (tests/e2e), one after the other"
  "$VENV/bin/python" -m pytest -p no:randomly -m e2e tests/e2e
fi
echo "== whole suite: $(( $(date +%s) - started )) s"
