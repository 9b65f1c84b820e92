"""The benchmarks are not run by the suite, so they rot unnoticed (issue 10's --tickets crashed
with an AttributeError): each runs here once with a small N and must print its figures."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from examadmin.config import ROOT

SMALL = 50


def _start(tmp_path, script: str, *args: str) -> subprocess.Popen:
    # a bench builds its own SQLite database under TMPDIR; the suite's database, queue and
    # Redis are not its business
    env = {k: v for k, v in os.environ.items()
           if k not in ("EXAMADMIN_INSTANCE", "HUEY_SQLITE_PATH", "DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL")}
    env["TMPDIR"] = str(tmp_path)
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / script), *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    # exit 1 is a missed target (a small N cannot meet an extrapolated one); a crash shows a traceback
    assert process.returncode in (0, 1) and "Traceback" not in err, err[-3000:]
    return out


def _figure(pattern: str, out: str) -> float:
    found = re.search(pattern, out)
    assert found, f"no {pattern!r} in:\n{out}"
    return float(found.group(1).replace(",", ""))


def _ticket_figures(out: str) -> int:
    pages = int(_figure(r"plan PDF: (\d+) pages in [\d.]+ s", out))
    assert _figure(r"one ticket, first download \(drawn\): ([\d.]+) ms", out) > 0
    assert _figure(r"one ticket, downloaded again \(the kept drawing[^)]*\): ([\d.]+) ms", out) > 0
    assert re.search(r"font: .+", out)
    return pages


def test_both_benchmarks_run_to_their_figures(tmp_path):
    tickets = _start(tmp_path, "tickets.py", "--pages", str(SMALL))
    scheduled = _start(tmp_path, "schedule_and_tickets.py", "--registrations", str(SMALL), "--tickets")

    out = _finish(tickets)
    assert _ticket_figures(out) == SMALL

    out = _finish(scheduled)
    placed = int(_figure(r"scheduling: ([\d,]+) registrations in", out))
    assert placed >= SMALL  # the bench's candidates and the demo's own paid registrations
    assert re.search(r"tickets set up: \d+ proctors in \d+ rooms × sessions", out), out
    assert SMALL <= _ticket_figures(out) <= placed
