"""PostgreSQL's half of core/backup.py: pg_dump and pg_restore, found and version-checked.

pg_dump cannot dump a server of a newer major version, and pg_restore cannot read an archive
written by a newer pg_dump; both are checked first so that the operator reads which client to
install instead of the tools' own errors. The password travels in PGPASSWORD, never on the
command line (where `ps` shows it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from .errors import DomainError
from .storage import FILE_MODE

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def pg_tool(name: str) -> str:
    """The path of pg_dump or pg_restore, or a message saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise DomainError(f"未找到 {name}：PostgreSQL 数据库的备份与恢复需要 PostgreSQL 客户端工具。"
                          "请安装与数据库服务器同一大版本（或更新）的客户端，例如 Debian 上 "
                          "`apt install postgresql-client`，然后重试。")
    return path


def tool_major(path: str) -> int:
    """The major version of a PostgreSQL client tool (`pg_dump (PostgreSQL) 15.18` → 15)."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise DomainError(f"无法运行 {path} --version：{exc}") from exc
    match = _VERSION.search(out)
    if not match:
        raise DomainError(f"无法识别 {path} 的版本：{out.strip()[:100]}")
    return int(match.group(1))


def require_client_not_older(tool: str, tool_version: int, needed: int, what: str) -> None:
    """pg_dump cannot read a newer server, pg_restore cannot read a newer pg_dump's archive."""
    if tool_version < needed:
        raise DomainError(f"{tool} 的版本（{tool_version}）低于{what}（{needed}），无法继续。"
                          f"请安装 PostgreSQL {needed} 或更新版本的客户端工具"
                          f"（Debian：`apt install postgresql-client-{needed}`，来自 apt.postgresql.org），"
                          "并确保它在 PATH 中排在前面。")


def _libpq(url) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DomainError(f"{what}失败（{Path(args[0]).name} 退出码 {done.returncode}）："
                          + " / ".join(detail[-5:])[:800])


def dump(work: Path, manifest: dict, describe: Callable[[Connection, dict], None]) -> Path:
    """pg_dump -Fc on a snapshot exported by the transaction that counts the rows."""
    pg_dump = pg_tool("pg_dump")
    client = tool_major(pg_dump)
    dump = work / "examadmin.pgdump"
    uri, env = _libpq(db.engine.url)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            server = int(conn.scalar(text("SHOW server_version_num"))) // 10000
            require_client_not_older("pg_dump", client, server, "数据库服务器的版本")
            describe(conn, manifest)
            # the transaction stays open while pg_dump reads its snapshot
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={dump}", f"--dbname={uri}"], env, "备份数据库（pg_dump）")
    os.chmod(dump, FILE_MODE)
    manifest["database"] = {"engine": "postgresql", "server_major": server, "pg_dump_major": client}
    return dump


#: the live schema while a restore runs: kept until the restored data are checked, put back on failure
BEFORE_RESTORE = "examadmin_before_restore"


def restore(dump: Path, manifest: dict, check: Callable[[Connection], None]) -> None:
    """pg_restore into a new, empty schema public while the old one waits aside as
    BEFORE_RESTORE; `check` (the row counts) reads the result before the old schema is dropped.
    When pg_restore or the check fails, the new schema goes and the old one is put back: the
    live data stay as they were. (DROP SCHEMA commits on its own, so a plain drop-then-restore
    would leave an empty database behind a failed restore.)"""
    pg_restore = pg_tool("pg_restore")
    client = tool_major(pg_restore)
    made_by = int((manifest.get("database") or {}).get("pg_dump_major") or 0)
    require_client_not_older("pg_restore", client, made_by, "生成备份的 pg_dump 版本")
    uri, env = _libpq(db.engine.url)
    with db.engine.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": BEFORE_RESTORE}):
            raise DomainError(f"数据库中已有模式 {BEFORE_RESTORE}：这是上一次中断的恢复留下的原有数据，"
                              f"请先检查：若 public 模式已完整，用 `DROP SCHEMA {BEFORE_RESTORE} CASCADE` 删除；"
                              f"若要找回原数据，先 `DROP SCHEMA public CASCADE`，再 "
                              f"`ALTER SCHEMA {BEFORE_RESTORE} RENAME TO public`。然后重试。")
    # An empty schema public: tables of a newer schema (`db upgrade` run with newer code) or
    # data kept by --force would otherwise stay beside the restored ones. pg_restore's
    # --clean then also copes with a dump that creates the schema public itself.
    try:
        with db.engine.begin() as conn:
            conn.execute(text(f"ALTER SCHEMA public RENAME TO {BEFORE_RESTORE}"))
            conn.execute(text("CREATE SCHEMA public"))
    except DBAPIError as exc:
        raise DomainError("无法腾空目标数据库（ALTER SCHEMA public RENAME）：恢复须以数据库所有者的账号进行"
                          f"（DATABASE_URL 中的用户应是 createdb --owner 指定的用户）。详情：{exc.orig}") from exc
    db.engine.dispose()
    try:
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", f"--dbname={uri}", str(dump)], env, "恢复数据库（pg_restore）")
        db.engine.dispose()
        with db.engine.connect() as conn:
            check(conn)
    except BaseException:
        db.engine.dispose()
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text(f"ALTER SCHEMA {BEFORE_RESTORE} RENAME TO public"))
        db.engine.dispose()
        raise
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {BEFORE_RESTORE} CASCADE"))
    db.engine.dispose()
