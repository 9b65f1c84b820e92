"""The embedded mode of README's first command: `examadmin serve` answers HTTP and runs jobs."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.core.test_worker import _examadmin

pytestmark = [pytest.mark.no_db_fixture, pytest.mark.worker]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_on_its_port(tmp_path):
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
           "HUEY_SQLITE_PATH": str(tmp_path / "huey.db")}
    subprocess.run(_examadmin() + ["db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(_examadmin() + ["serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, body = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert "登录" in body and "1+X" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
        output = server.stdout.read().decode()
        server.stdout.close()
    assert "考试管理系统已启动" in output
    # Normal use prints no red warning about a development server.
    assert "development server" not in output and "\x1b[31m" not in output
