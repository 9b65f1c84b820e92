"""The child process that untrusted parsers run in: answers, refusals, and the limits."""
from __future__ import annotations

import os
import threading
import time

import pytest

from examadmin.core import sandbox
from examadmin.core.sandbox import SandboxError


def _add(a, b):
    return a + b


def _refuse(message):
    raise ValueError(message)


def _allocate(mb):
    return len(bytearray(mb * 1024 * 1024))


def _abort():
    os.abort()  # what Rust does when an allocation fails


def _spin():
    while True:
        pass


def _pid():
    return os.getpid()


def test_the_answer_and_the_refusal_come_back_from_another_process():
    assert sandbox.run(_add, [1], [2], memory_mb=100, seconds=10) == [1, 2]
    assert sandbox.run(_pid, memory_mb=100, seconds=10) != os.getpid()
    with pytest.raises(ValueError, match="表格有误"):
        sandbox.run(_refuse, "表格有误", memory_mb=100, seconds=10)


def test_memory_beyond_the_cap_is_refused_and_this_process_carries_on():
    assert sandbox.run(_allocate, 50, memory_mb=300, seconds=10) == 50 * 1024 * 1024
    with pytest.raises(SandboxError) as refused:
        sandbox.run(_allocate, 2048, memory_mb=300, seconds=10)
    assert refused.value.reason == "memory"


def test_a_child_that_aborts_is_reported_as_a_crash():
    with pytest.raises(SandboxError) as refused:
        sandbox.run(_abort, memory_mb=100, seconds=10)
    assert refused.value.reason == "crash" and "SIGABRT" in refused.value.detail


def test_a_child_that_runs_too_long_is_killed():
    started = time.monotonic()
    with pytest.raises(SandboxError) as refused:
        sandbox.run(_spin, memory_mb=100, seconds=1)
    assert refused.value.reason == "time" and time.monotonic() - started < 10


def test_with_other_threads_running_children_come_from_a_fork_server(tmp_path):
    # The web server and the worker run threads: there a child is never forked from this
    # process (a lock held by another thread would stay held in it), but from a fork server.
    from examadmin.core.excel import SheetError, read_first_sheet
    from tests.hostile_files import far_corner_xlsx, sheet_xml, table_rows, write_xlsx

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert sandbox.process_context().get_start_method() == "forkserver"
        good = write_xlsx(tmp_path / "ok.xlsx", [sheet_xml(table_rows(["姓名", "证件号码"], [["甲", "1"]]))])
        assert read_first_sheet(good, max_rows=10) == [["姓名", "证件号码"], ["甲", "1"]]
        with pytest.raises(SheetError, match="XFD"):
            read_first_sheet(far_corner_xlsx(tmp_path / "h.xlsx"), max_rows=10)
        with pytest.raises(SandboxError) as refused:
            sandbox.run(_abort, memory_mb=100, seconds=30)
        assert refused.value.reason == "crash"
    finally:
        stop.set()
        other.join()
