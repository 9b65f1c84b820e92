"""Backups that are proven: a populated installation is backed up with `examadmin backup`,
restored with `examadmin restore` into a fresh installation elsewhere (another database,
another storage folder, another instance folder), and every row of every table and every
stored file is compared. On SQLite always; on PostgreSQL as well when TEST_DATABASE_URL
names a server (each installation gets a database of its own beside the suite's).
"""
from __future__ import annotations

import io
import json
import os
import secrets
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from examadmin import create_app
from examadmin.config import ROOT
from examadmin.core import backup_postgres
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests import conftest

pytestmark = pytest.mark.no_db_fixture

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not conftest.TEST_DATABASE_URL.startswith("postgresql"), reason="PostgreSQL: set TEST_DATABASE_URL"))]


@dataclass
class Installation:
    app: object
    root: Path
    url: str

    @property
    def storage(self) -> Path:
        return Path(self.app.config["STORAGE_DIR"])

    @property
    def instance(self) -> Path:
        return Path(self.app.config["INSTANCE_DIR"])

    def cli(self, *args):
        return self.app.test_cli_runner().invoke(args=[str(a) for a in args])


def _database(kind: str, root: Path, name: str) -> str:
    """A database no other test uses: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{root / 'examadmin.db'}"
    base = make_url(conftest.TEST_DATABASE_URL)
    database = f"{base.database}_{name}"[:63]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    return base.set(database=database).render_as_string(hide_password=False)


def _drop(installation: Installation) -> None:
    conftest.dispose(installation.app)
    if installation.url.startswith("postgresql"):
        url = make_url(installation.url)
        admin = create_engine(url.set(database=make_url(conftest.TEST_DATABASE_URL).database),
                              isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        finally:
            admin.dispose()


def make_installation(kind: str, root: Path, name: str, migrate: bool = True) -> Installation:
    """An installation of its own: database, instance folder with its secret key, storage."""
    root.mkdir(mode=0o700, parents=True)
    instance = root / "instance"
    instance.mkdir(mode=0o700)
    key = secrets.token_hex(32)
    (instance / "secret_key").write_text(key)
    url = _database(kind, root, name)
    app = create_app(conftest.test_config(SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(instance),
                                          STORAGE_DIR=str(root / "storage"), SECRET_KEY=key))
    with app.app_context():
        if kind == "postgresql":  # as the suite's own reset does: pg_dump then writes CREATE SCHEMA public
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        if migrate:
            upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
    return Installation(app, root, url)


def all_rows(installation: Installation) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order (by every column)."""
    with installation.app.app_context(), db.engine.connect() as conn:
        meta = MetaData()
        meta.reflect(bind=conn)
        # by the primary key (PostgreSQL cannot order by a json column)
        return {name: conn.execute(select(t).order_by(*(t.primary_key.columns or t.columns))).all()
                for name, t in meta.tables.items()}


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", params=ENGINES)
def populated(request, tmp_path_factory):
    """The demo year loaded once per engine, and its backup made with the command."""
    from examadmin.demo import load_demo

    kind = request.param
    source = make_installation(kind, tmp_path_factory.mktemp(f"source-{kind}") / "site", "backup_src")
    with source.app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()
    out = tmp_path_factory.mktemp(f"archives-{kind}")
    result = source.cli("backup", out)
    assert result.exit_code == 0, result.output
    [archive] = out.glob("examadmin-backup-*.tar.gz")
    yield kind, source, archive
    _drop(source)


@pytest.fixture
def fresh(request, tmp_path):
    made = []

    def make(kind: str, migrate: bool = True) -> Installation:
        installation = make_installation(kind, tmp_path / f"fresh{len(made)}", f"backup_dst{len(made)}", migrate)
        made.append(installation)
        return installation

    yield make
    for installation in made:
        _drop(installation)


def _sequences(installation: Installation) -> dict[str, int | None]:
    with installation.app.app_context(), db.engine.connect() as conn:
        return dict(conn.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all())


def test_a_populated_installation_comes_back_elsewhere_row_for_row_and_byte_for_byte(populated, fresh):
    kind, source, archive = populated
    # a fresh installation: on PostgreSQL migrated (the README's steps), on SQLite not even that
    target = fresh(kind, migrate=(kind == "postgresql"))
    assert not target.storage.exists() or not all_files(target.storage)
    if kind == "postgresql":  # an empty table of a newer schema goes too, or `db upgrade` would trip on it
        with target.app.app_context(), db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE from_newer_code (id integer primary key)"))

    result = target.cli("restore", archive)
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output

    rows = all_rows(source)
    assert sum(len(r) for r in rows.values()) > 400 and len(rows["candidate"]) >= 6  # really populated
    assert all_rows(target) == rows
    files = all_files(source.storage)
    assert any(k.startswith("photos/") for k in files) and any(k.startswith("certificates/") for k in files)
    assert all_files(target.storage) == files
    for name in ("secret_key", "certificate-signing-key.pem"):
        assert (target.instance / name).read_bytes() == (source.instance / name).read_bytes()
    if kind == "postgresql":  # new rows after the restore take new ids, not the restored ones
        assert _sequences(target) == _sequences(source)

    # The restored installation reads its own data: the certificates' signatures hold under
    # the restored signing key, and a demo user signs in with the demo password.
    from examadmin.certificates.models import CertificateRecord
    from examadmin.certificates.signing import verify_signature

    with target.app.app_context():
        records = db.session.scalars(select(CertificateRecord).where(CertificateRecord.signature.is_not(None))).all()
        assert records and all(verify_signature(r) for r in records)
        db.session.remove()
    client = target.app.test_client()
    page = client.post("/login", data={"username": "school1", "password": "demo1234"}, follow_redirects=True)
    assert "退出" in page.get_data(as_text=True)


def test_the_archive_is_readable_by_its_owner_alone_and_lists_what_it_holds(populated):
    kind, source, archive = populated
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = set(tar.getnames())
    rows = all_rows(source)
    assert manifest["tables"] == {name: len(r) for name, r in rows.items()}
    assert manifest["alembic_revision"] and manifest["app_version"] and manifest["created_at"]
    assert manifest["database"]["engine"] == kind
    stored = {f"storage/{k}" for k in all_files(source.storage)}
    assert stored <= set(manifest["files"]) and set(manifest["files"]) == names - {"manifest.json"}
    assert {"instance/secret_key", "instance/certificate-signing-key.pem"} <= names
    assert manifest["secret_key_in_archive"] is True


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(populated):
    kind, source, archive = populated
    before = all_rows(source)
    result = source.cli("restore", archive)
    assert result.exit_code == 1
    assert "目标数据库不是空的" in result.output and "--force" in result.output
    assert all_rows(source) == before


def _rewrite(archive: Path, out: Path, change) -> Path:
    """A copy of the archive with `change(name, data) -> data` applied to each member."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = change(member.name, src.extractfile(member).read())
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


def test_restore_refuses_an_archive_whose_file_was_changed_and_writes_nothing(populated, fresh, tmp_path):
    kind, source, archive = populated
    photo = next(k for k in all_files(source.storage) if k.startswith("photos/"))
    bad = _rewrite(archive, tmp_path / "bad.tar.gz",
                   lambda name, data: data[:-1] + bytes([data[-1] ^ 1]) if name == f"storage/{photo}" else data)
    target = fresh(kind)
    result = target.cli("restore", bad)
    assert result.exit_code == 1
    assert "已损坏或被改动" in result.output and photo in result.output
    assert not any(all_rows(target)[t] for t in all_rows(target) if t != "alembic_version")
    assert not target.storage.exists() or not all_files(target.storage)


def test_restore_refuses_an_archive_made_by_newer_code(populated, fresh, tmp_path):
    kind, source, archive = populated

    def newer(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["alembic_revision"] = "9999_from_the_future"
        return json.dumps(manifest).encode()

    target = fresh(kind)
    result = target.cli("restore", _rewrite(archive, tmp_path / "newer.tar.gz", newer))
    assert result.exit_code == 1
    assert "较新版本" in result.output and "9999_from_the_future" in result.output


def test_restore_refuses_an_archive_with_a_broken_manifest(populated, fresh, tmp_path):
    kind, source, archive = populated

    def broken(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["files"] = {name: "no hash" for name in manifest["files"]}
        return json.dumps(manifest).encode()

    target = fresh(kind)
    result = target.cli("restore", _rewrite(archive, tmp_path / "broken.tar.gz", broken))
    assert result.exit_code == 1 and "备份清单（manifest.json）不完整" in result.output


def test_restore_refuses_what_is_not_a_backup(fresh, tmp_path):
    target = fresh("sqlite")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a gzip file at all")
    result = target.cli("restore", junk)
    assert result.exit_code == 1 and "无法读取备份文件" in result.output
    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as tar:
        info = tarfile.TarInfo("../../etc/evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    result = target.cli("restore", escaping)
    assert result.exit_code == 1 and "不应出现的条目" in result.output
    assert not (tmp_path.parent / "etc").exists()


def test_force_replaces_the_data_of_an_installation_with_the_archive(populated, fresh):
    kind, source, archive = populated
    target = fresh(kind)
    assert target.cli("restore", archive).exit_code == 0
    with target.app.app_context():  # a change made after the backup
        db.session.execute(text("UPDATE candidate SET name = '改动之后'"))
        db.session.commit()
        db.session.remove()
    assert target.cli("restore", archive).exit_code == 1
    result = target.cli("restore", "--force", archive)
    assert result.exit_code == 0, result.output
    assert all_rows(target) == all_rows(source)


def test_backup_into_a_folder_keeps_the_newest_copies(fresh, tmp_path):
    installation = fresh("sqlite")
    out = tmp_path / "nightly"
    out.mkdir()
    for old in ("examadmin-backup-20200101-000000.tar.gz", "examadmin-backup-20200102-000000.tar.gz"):
        (out / old).write_bytes(b"old")
    (out / "unrelated.txt").write_text("kept")
    result = installation.cli("backup", out, "--keep", 2)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and names[0] == "examadmin-backup-20200102-000000.tar.gz" and names[2] == "unrelated.txt"
    assert names[1] == result.output.split("备份完成：")[1].split("（")[0].rsplit("/", 1)[1]
    assert "已删除较早的备份：examadmin-backup-20200101-000000.tar.gz" in result.output
    assert installation.cli("backup", out / "missing" / "x.tar.gz").exit_code == 1
    installation.storage.mkdir(parents=True, exist_ok=True)
    inside = installation.cli("backup", installation.storage / "x.tar.gz")
    assert inside.exit_code == 1 and "备份不能写在存储目录" in inside.output


def test_postgresql_tools_missing_or_too_old_are_named_in_chinese(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DomainError, match="未找到 pg_dump.*postgresql-client"):
        backup_postgres.pg_tool("pg_dump")
    with pytest.raises(DomainError, match="pg_dump 的版本（13）低于数据库服务器的版本（15）"):
        backup_postgres.require_client_not_older("pg_dump", 13, 15, "数据库服务器的版本")
    backup_postgres.require_client_not_older("pg_dump", 16, 15, "数据库服务器的版本")  # newer reads older


def test_the_version_of_a_postgresql_tool_is_read_from_its_output(tmp_path):
    tool = tmp_path / "pg_dump"
    tool.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.14 (Debian 13.14-0+deb11u1)'\n")
    tool.chmod(0o700)
    assert backup_postgres.tool_major(str(tool)) == 13
    os.remove(tool)


# ---- the security review's findings (issue 13) ---------------------------------------------------

def _members(archive: Path) -> tuple[dict, dict[str, bytes]]:
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    return json.loads(members.pop("manifest.json")), members


def _build(out: Path, manifest: dict, members: dict[str, bytes], *, manifest_first: bool = True) -> Path:
    items = [(n, d) for n, d in members.items()]
    head = [("manifest.json", json.dumps(manifest).encode())]
    with tarfile.open(out, "w:gz") as tar:
        for name, data in (head + items if manifest_first else items + head):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_the_manifest_is_the_first_member_of_a_new_archive(populated):
    kind, source, archive = populated
    with tarfile.open(archive) as tar:
        assert tar.next().name == "manifest.json"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failing_forced_restore_leaves_the_old_data_intact(engine, populated, fresh, tmp_path):
    """A truncated database in a self-consistent archive (the review's ra_pgtar.py): the restore
    fails, and the installation keeps every row it had (PostgreSQL used to drop its schema first)."""
    import hashlib

    kind, source, archive = populated
    if kind != engine:
        pytest.skip("the archive of the other engine")
    target = fresh(kind)
    assert target.cli("restore", archive).exit_code == 0
    before = all_rows(target)
    manifest, members = _members(archive)
    member = "database/examadmin.pgdump" if kind == "postgresql" else "database/examadmin.sqlite3"
    bad = members[member][:len(members[member]) // 2]
    members[member] = bad
    manifest["files"][member] = {"size": len(bad), "sha256": hashlib.sha256(bad).hexdigest()}
    truncated = _build(tmp_path / "truncated.tar.gz", manifest, members)
    result = target.cli("restore", "--force", truncated)
    assert result.exit_code == 1, result.output
    assert all_rows(target) == before


def test_a_restore_whose_counts_do_not_match_replaces_nothing(populated, fresh, tmp_path):
    kind, source, archive = populated
    target = fresh(kind)
    assert target.cli("restore", archive).exit_code == 0
    with target.app.app_context():
        db.session.execute(text("UPDATE candidate SET name = '恢复之前'"))
        db.session.commit()
        db.session.remove()
    before = all_rows(target)
    manifest, members = _members(archive)
    manifest["tables"]["user"] = 999
    lying = _build(tmp_path / "lie.tar.gz", manifest, members)
    result = target.cli("restore", "--force", lying)
    assert result.exit_code == 1 and "原有数据未被替换" in result.output, result.output
    assert all_rows(target) == before


@pytest.mark.parametrize("manifest_first", [True, False])
def test_a_member_not_in_the_manifest_is_refused_before_anything_is_written(populated, fresh, tmp_path,
                                                                           monkeypatch, manifest_first):
    """The review's 3 MB archive with a 3 GB member wrote 3 GB: now the names and sizes are checked
    against the manifest (and the disk's free space) before the first byte is unpacked."""
    from examadmin.core import backup

    kind, source, archive = populated
    manifest, members = _members(archive)
    members["storage/big.pdf"] = b"\0" * (8 * 1024 * 1024)  # not in the manifest
    path = _build(tmp_path / "big.tar.gz", manifest, members, manifest_first=manifest_first)
    written = []
    real = backup._private_file
    monkeypatch.setattr(backup, "_private_file", lambda p: written.append(p) or real(p))
    target = fresh(kind)
    result = target.cli("restore", path)
    assert result.exit_code == 1 and "不在备份清单中" in result.output, result.output
    assert written == []

    manifest["files"]["storage/big.pdf"] = {"size": 1, "sha256": "0" * 64}  # a size that lies
    lying = _build(tmp_path / "big3.tar.gz", manifest, members, manifest_first=manifest_first)
    result = target.cli("restore", lying)
    assert result.exit_code == 1 and "大小" in result.output and written == []


def test_a_restore_bigger_than_the_free_disk_space_is_refused(populated, fresh, monkeypatch):
    from examadmin.core import backup

    kind, source, archive = populated
    monkeypatch.setattr(backup, "_free", lambda folder: 1024)
    target = fresh(kind)
    result = target.cli("restore", archive)
    assert result.exit_code == 1 and "磁盘剩余" in result.output, result.output
    assert not target.storage.exists() or not all_files(target.storage)


def test_a_symlink_planted_at_the_partial_name_does_not_receive_the_archive(fresh, tmp_path):
    target = fresh("sqlite")
    victim = tmp_path / "victim.txt"
    victim.write_text("不应被覆盖")
    out = tmp_path / "out"
    out.mkdir()
    archive = out / "b.tar.gz"
    (out / "b.tar.gz.part").symlink_to(victim)
    result = target.cli("backup", archive)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "不应被覆盖"
    assert tarfile.open(archive).next().name == "manifest.json"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
