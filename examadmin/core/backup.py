"""Backups that can be read back: the database, the stored files and the instance secrets.

One archive (`.tar.gz`, mode 0600: it holds every candidate's personal data) contains

    database/examadmin.sqlite3  or  database/examadmin.pgdump   the database
    instance/secret_key, instance/certificate-signing-key.pem  the secrets that read it back
    storage/...                                                 photos, letters, PDFs, evidence
    manifest.json                                               time, versions, row counts, sha256 per file

The database is copied while the app runs: SQLite through its online backup API, PostgreSQL
with `pg_dump -Fc` on a snapshot exported from the transaction that also counts the rows, so
the counts in the manifest are those of the dump. The database goes first and the files
after: a file saved meanwhile is merely extra, while the reverse order would lose the file
of a row saved between the two.

`restore` checks every file of the archive against the manifest before it touches anything,
refuses a database that is not empty (unless told to overwrite it) and an archive made by a
newer program, and counts the rows of every table again afterwards.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Connection

from ..config import ROOT
from ..extensions import db
from . import backup_postgres as postgres, clock
from .errors import DomainError
from .storage import DIR_MODE, FILE_MODE, LocalStorage


FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/examadmin.sqlite3"
PGDUMP_MEMBER = "database/examadmin.pgdump"
#: the instance files without which a restored installation cannot read its own data: the
#: session key and the Ed25519 key that signed the certificates (certificates/signing.py)
INSTANCE_SECRETS = ("secret_key", "certificate-signing-key.pem")
#: a storage file still being written (core.storage writes `key.part`, then renames it)
PARTIAL_SUFFIX = ".part"
ARCHIVE_PREFIX = "examadmin-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
_CHUNK = 1024 * 1024


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: int
    rows: int
    files: int
    secret_key_in_archive: bool
    removed: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    tables: int
    rows: int
    files: int
    created_at: str
    revision: str
    needs_upgrade: bool
    storage_left: int  #: files that were already in the storage folder and are not in the archive


# ---- helpers --------------------------------------------------------------------------------

def app_version() -> str:
    try:
        return metadata.version("examadmin")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _dialect() -> str:
    return db.engine.dialect.name


def count_rows(conn: Connection) -> dict[str, int]:
    """The number of rows of every table of the database (not only the models' tables)."""
    return {name: conn.scalar(select(func.count()).select_from(table(name)))
            for name in sorted(inspect(conn).get_table_names())}


def _revision(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _describe(conn: Connection, manifest: dict) -> None:
    """The migration revision and the row counts, read through `conn` (the dump's snapshot)."""
    manifest["alembic_revision"] = _revision(conn)
    manifest["tables"] = count_rows(conn)


def _code_revisions() -> tuple[set[str], set[str]]:
    """(every revision the code's migrations know, the heads)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(ROOT / "migrations"))
    return {s.revision for s in scripts.walk_revisions()}, set(scripts.get_heads())


class _Hashing(io.RawIOBase):
    """A read-only file that hashes what is read through it (tarfile reads each member once)."""

    def __init__(self, raw):
        self.raw, self.sha256 = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _private_file(path: Path) -> int:
    """Create `path` for writing, 0600 whatever the umask; refuse to replace an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def _storage_files(root: Path) -> list[tuple[str, Path]]:
    """Every stored file under `root` as (key, path), in a stable order; no links, no half-written files."""
    found = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(PARTIAL_SUFFIX) or path.is_symlink() or not path.is_file():
                continue
            found.append((path.relative_to(root).as_posix(), path))
    return found


# ---- backup ----------------------------------------------------------------------------------

def archive_path(out: str | Path) -> Path:
    """OUT itself, or a new timestamped name inside OUT when it is a folder."""
    out = Path(out)
    if out.is_dir():
        return out / f"{ARCHIVE_PREFIX}{clock.now():%Y%m%d-%H%M%S}{ARCHIVE_SUFFIX}"
    if not out.parent.is_dir():
        raise DomainError(f"备份目录不存在：{out.parent}")
    return out


def backup(out: str | Path, keep: int | None = None) -> BackupResult:
    """Write one archive of the database, the stored files and the instance secrets."""
    folder_mode = Path(out).is_dir()
    target = archive_path(out)
    if target.exists():
        raise DomainError(f"文件已存在，不会覆盖：{target}")
    if keep is not None and (not folder_mode or keep < 1):
        raise DomainError("--keep 只用于备份到目录，且至少保留 1 份")
    config = current_app.config
    instance = Path(config["INSTANCE_DIR"])
    storage_root = Path(config["STORAGE_DIR"])
    if target.resolve().is_relative_to(storage_root.resolve()):
        raise DomainError(f"备份不能写在存储目录（{storage_root}）之中：请换一个目录，最好在另一块磁盘上")
    work = Path(tempfile.mkdtemp(prefix=".examadmin-backup-", dir=target.parent))  # 0700
    # a new name of our own beside the target (never one planted there: O_EXCL, O_NOFOLLOW)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(8)}{PARTIAL_SUFFIX}")
    try:
        manifest: dict = {"format": FORMAT, "created_at": clock.now().isoformat(), "app_version": app_version()}
        if _dialect() == "sqlite":
            member, database = SQLITE_MEMBER, _sqlite_copy(work, manifest)
        elif _dialect() == "postgresql":
            member, database = PGDUMP_MEMBER, postgres.dump(work, manifest, _describe)
        else:
            raise DomainError(f"不支持备份此类数据库：{_dialect()}")

        key_file = instance / "secret_key"
        manifest["secret_key_in_archive"] = (key_file.is_file()
                                             and key_file.read_text().strip() == config["SECRET_KEY"])
        members = [(member, database)] + [(f"instance/{name}", instance / name) for name in INSTANCE_SECRETS
                                          if (instance / name).is_file()]
        for attempt in range(3):
            # The manifest goes FIRST, so that restore checks every member's name and size against it
            # before writing anything; it needs the hashes before the files are written, hence a pass
            # that hashes, then the pass that writes (and checks nothing changed in between).
            files: dict[str, dict] = {}
            entries = []
            for name, path in members + [(f"storage/{key}", path) for key, path in _storage_files(storage_root)]:
                try:
                    files[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
                except FileNotFoundError:  # deleted since the listing (a replaced photo): not in this copy
                    continue
                entries.append((name, path))
            manifest["files"] = files
            try:
                _write_archive(partial, manifest, entries)
                break
            except _Changed as exc:
                partial.unlink(missing_ok=True)
                if attempt == 2:
                    raise DomainError(f"备份期间存储文件 {exc} 被删除或修改（三次都如此）：请在较空闲时重试") from None
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        os.rename(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    removed = _prune(target.parent, keep) if keep else []
    storage_files = sum(1 for name in files if name.startswith("storage/"))
    return BackupResult(path=target, size=target.stat().st_size, tables=len(manifest["tables"]),
                        rows=sum(manifest["tables"].values()), files=storage_files,
                        secret_key_in_archive=manifest["secret_key_in_archive"], removed=removed)


class _Changed(Exception):
    """A file changed or vanished between the hashing pass and the writing pass of a backup."""


def _write_archive(partial: Path, manifest: dict, entries: list[tuple[str, Path]]) -> None:
    """The archive at `partial` (a new file: O_EXCL, no symlink followed), the manifest first."""
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    # gzip's fastest level: photos, PDFs and pg_dump's custom format are compressed already
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
        data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), FILE_MODE, int(datetime.now().timestamp())
        tar.addfile(info, io.BytesIO(data))
        for name, path in entries:
            _add(tar, name, path, manifest["files"][name])


def _add(tar: tarfile.TarFile, name: str, path: Path, expected: dict) -> None:
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise _Changed(name) from None
    with fh:
        stat = os.fstat(fh.fileno())
        if stat.st_size != expected["size"]:
            raise _Changed(name)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = stat.st_size, FILE_MODE, int(stat.st_mtime)
        hashing = _Hashing(fh)
        try:
            tar.addfile(info, hashing)
        except OSError:  # shorter than it was
            raise _Changed(name) from None
    if hashing.sha256.hexdigest() != expected["sha256"]:
        raise _Changed(name)


def _sqlite_copy(work: Path, manifest: dict) -> Path:
    """A consistent copy through SQLite's online backup API (safe while the app writes)."""
    import sqlite3

    source = db.engine.url.database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise DomainError(f"找不到 SQLite 数据库文件：{source}")
    copy = work / "examadmin.sqlite3"
    os.close(_private_file(copy))
    # Plain sqlite3 connections, not an Engine: extensions.py would switch the copy to WAL.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        # In one step: in WAL mode the copy reads one snapshot while the app's writers go on;
        # a copy in steps would start over after each write by another process.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        names = [row[0] for row in dst.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        manifest["tables"] = {name: dst.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"')
                              .fetchone()[0] for name in names}
        manifest["alembic_revision"] = (dst.execute("SELECT version_num FROM alembic_version").fetchone()[0]
                                        if "alembic_version" in names else None)
    finally:
        dst.close()
        src.close()
    manifest["database"] = {"engine": "sqlite", "sqlite_version": sqlite3.sqlite_version}
    return copy


def _prune(folder: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` archives of this folder (their names sort by time)."""
    archives = sorted(p for p in folder.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}") if p.is_file())
    old = archives[:-keep]
    for path in old:
        path.unlink()
    return old


# ---- restore ---------------------------------------------------------------------------------

def _member_path(root: Path, name: str) -> Path:
    pure = PurePosixPath(name)
    allowed = name == MANIFEST or (len(pure.parts) >= 2 and pure.parts[0] in {"database", "instance", "storage"})
    if pure.is_absolute() or ".." in pure.parts or not allowed:
        raise DomainError(f"备份文件中有不应出现的条目：{name}（这不是本系统生成的备份）")
    return root.joinpath(*pure.parts)


#: the largest manifest read (a real one is some hundred bytes per stored file)
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
#: room left free on the disk after unpacking
FREE_MARGIN = 64 * 1024 * 1024


def _free(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def _scan(archive: Path, work: Path) -> tuple[dict, dict[str, int]]:
    """Read the archive once WITHOUT writing anything: the manifest, and each member's name and
    size, checked against the manifest (at the member's header when the manifest came first, as
    in every archive this version writes) and against the free disk space; returns the manifest
    and the sizes. An older archive (manifest last) costs a second decompression, not disk."""
    sizes: dict[str, int] = {}
    manifest = None
    manifest_first = False
    free = _free(work)
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile():
                    raise DomainError(f"备份文件中有不应出现的条目：{member.name}（只应有普通文件）")
                _member_path(work, member.name)
                if member.name in sizes:
                    raise DomainError(f"备份文件中 {member.name} 出现了两次")
                sizes[member.name] = member.size
                if member.name == MANIFEST:
                    if member.size > MAX_MANIFEST_BYTES:
                        raise DomainError(f"备份清单（{MANIFEST}）大得不合理（{member.size} 字节）：这不是本系统生成的备份")
                    manifest_first = len(sizes) == 1
                    try:
                        manifest = json.loads(tar.extractfile(member).read())
                    except ValueError as exc:
                        raise DomainError(f"备份文件中的 {MANIFEST} 无法解析：{exc}") from exc
                    _check_manifest(manifest)
                    continue
                if manifest_first:
                    _check_member(manifest, member.name, member.size)
                if member.size + FREE_MARGIN > free:
                    raise DomainError(f"备份中的 {member.name} 有 {member.size} 字节，超过磁盘剩余空间：未做任何恢复")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DomainError(f"无法读取备份文件 {archive.name}：文件不完整或不是 .tar.gz 备份（{exc}）") from exc
    if manifest is None:
        raise DomainError(f"备份文件 {archive.name} 中没有 {MANIFEST}：文件不完整或不是本系统生成的备份")
    del sizes[MANIFEST]
    for name, size in sizes.items():
        _check_member(manifest, name, size)
    total = sum(sizes.values())
    if total + FREE_MARGIN > free:
        raise DomainError(f"解开备份需要 {total // (1024 * 1024) + 1} MB，磁盘（{work}）剩余 "
                          f"{free // (1024 * 1024)} MB：请腾出空间后重试，未做任何恢复")
    return manifest, sizes


def _check_manifest(manifest) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        shown = manifest.get("format") if isinstance(manifest, dict) else None
        raise DomainError(f"备份格式 {shown} 不是本程序能读取的格式（{FORMAT}）")
    listed = manifest.get("files")
    if (not isinstance(listed, dict) or not isinstance(manifest.get("tables"), dict)
            or not all(isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                       and type(entry.get("size")) is int and entry["size"] >= 0 for entry in listed.values())):
        raise DomainError(f"备份清单（{MANIFEST}）不完整：这不是本系统生成的备份，或已被改动，未做任何恢复")


def _check_member(manifest: dict, name: str, size: int) -> None:
    entry = manifest["files"].get(name)
    if entry is None:
        raise DomainError(f"备份文件已损坏或被改动，未做任何恢复：{name} 不在备份清单中")
    if entry["size"] != size:
        raise DomainError(f"备份文件已损坏或被改动，未做任何恢复：{name} 的大小（{size} 字节）与清单"
                          f"（{entry['size']} 字节）不符")


def _unpack(archive: Path, work: Path) -> tuple[dict, dict[str, str]]:
    """Check the archive first (_scan: names, sizes, disk space, nothing written), then unpack
    into `work`, hashing each member; returns the manifest and the hashes found."""
    manifest, sizes = _scan(archive, work)
    found: dict[str, str] = {}
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if not member.isfile() or sizes.get(member.name) != member.size or member.name in found:
                    raise DomainError(f"备份文件在读取期间被改动（{member.name}），未做任何恢复")
                path = _member_path(work, member.name)
                for parent in reversed(path.relative_to(work).parents[:-1]):
                    (work / parent).mkdir(mode=DIR_MODE, exist_ok=True)
                source = tar.extractfile(member)
                digest = hashlib.sha256()
                with os.fdopen(_private_file(path), "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                found[member.name] = digest.hexdigest()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DomainError(f"无法读取备份文件 {archive.name}：文件不完整或不是 .tar.gz 备份（{exc}）") from exc
    return manifest, found


def verify_archive(manifest: dict, found: dict[str, str]) -> None:
    """Every file the manifest lists is there with its hash, and nothing else is."""
    _check_manifest(manifest)
    listed = manifest["files"]
    missing = sorted(set(listed) - set(found))
    extra = sorted(set(found) - set(listed))
    changed = sorted(name for name in set(listed) & set(found) if listed[name]["sha256"] != found[name])
    problems = []
    if missing:
        problems.append(f"缺少 {len(missing)} 个文件（如 {missing[0]}）")
    if changed:
        problems.append(f"{len(changed)} 个文件的校验值（sha256）与清单不符（如 {changed[0]}）")
    if extra:
        problems.append(f"多出清单之外的 {len(extra)} 个文件（如 {extra[0]}）")
    if problems:
        raise DomainError("备份文件已损坏或被改动，未做任何恢复：" + "；".join(problems))


def check_revision(revision: str | None) -> bool:
    """Refuse an archive the code cannot read; True when `db upgrade` is needed afterwards."""
    known, heads = _code_revisions()
    if revision is None:
        raise DomainError("备份中的数据库没有迁移版本（alembic_version），无法确认它与本程序匹配")
    if revision not in known:
        raise DomainError(f"备份来自较新版本的程序（数据库迁移版本 {revision}，本程序最新为 "
                          f"{', '.join(sorted(heads))}）：请先把程序升级到做备份时的版本或更新版本，再恢复")
    return revision not in heads


def _nonempty_tables(conn: Connection) -> dict[str, int]:
    return {name: count for name, count in count_rows(conn).items() if count and name != "alembic_version"}


def restore(archive: str | Path, force: bool = False) -> RestoreResult:
    """Restore an archive onto this installation; refuses a database that holds data unless forced."""
    archive = Path(archive)
    if not archive.is_file():
        raise DomainError(f"找不到备份文件：{archive}")
    config = current_app.config
    instance = Path(config["INSTANCE_DIR"])
    storage_root = Path(config["STORAGE_DIR"])
    work = Path(tempfile.mkdtemp(prefix=".examadmin-restore-", dir=instance))  # 0700, the app's own folder
    try:
        manifest, found = _unpack(archive, work)
        verify_archive(manifest, found)
        needs_upgrade = check_revision(manifest.get("alembic_revision"))
        engine_kind = (manifest.get("database") or {}).get("engine")
        if engine_kind != _dialect():
            raise DomainError(f"备份的数据库类型是 {engine_kind}，本安装使用 {_dialect()}：只能恢复到同类数据库")
        with db.engine.connect() as conn:
            occupied = _nonempty_tables(conn)
        if occupied and not force:
            sample = "、".join(f"{name}（{count} 行）" for name, count in list(occupied.items())[:3])
            raise DomainError(f"目标数据库不是空的：{sample} 等 {len(occupied)} 张表已有数据。恢复只应在新安装上进行"
                              "（只做过 `examadmin db upgrade` 的数据库算空的）；确要用备份覆盖现有全部数据，请加 --force。")
        existing = {key for key, _ in _storage_files(storage_root)}
        storage_keys = {name[len("storage/"):] for name in found if name.startswith("storage/")}
        if existing and not force:
            raise DomainError(f"存储目录 {storage_root} 中已有 {len(existing)} 个文件：恢复只应在新安装上进行；"
                              "确要覆盖请加 --force（备份中没有的文件会保留）。")

        existing_folder = next(p for p in (storage_root, *storage_root.parents) if p.is_dir())
        free = _free(existing_folder)
        needed = sum(manifest["files"][f"storage/{key}"]["size"] for key in storage_keys)
        if needed + FREE_MARGIN > free:
            raise DomainError(f"存储目录 {storage_root} 所在磁盘剩余 {free // (1024 * 1024)} MB，恢复文件需要 "
                              f"{needed // (1024 * 1024) + 1} MB：请腾出空间后重试，未做任何恢复")

        counts: dict[str, int] = {}

        def check_counts(conn: Connection) -> None:
            """The restored database holds what the manifest counted, checked BEFORE it replaces the old one."""
            counts.update(count_rows(conn))
            expected = manifest["tables"]
            wrong = [f"{name}：应为 {expected.get(name)} 行，实为 {counts.get(name)} 行"
                     for name in sorted(set(expected) | set(counts)) if expected.get(name) != counts.get(name)]
            if wrong:
                raise DomainError("备份中的数据库与清单的行数不符，原有数据未被替换：" + "；".join(wrong[:5]))

        db.session.remove()
        if engine_kind == "sqlite":
            _sqlite_check(work / SQLITE_MEMBER, check_counts)
            _sqlite_restore(work / SQLITE_MEMBER)
        else:
            postgres.restore(work / PGDUMP_MEMBER, manifest, check_counts)
        db.engine.dispose()

        # The database is replaced from here on: a failure names what was done and what to do.
        storage = LocalStorage(storage_root)
        try:
            for key in sorted(storage_keys):
                with open(work / "storage" / key, "rb") as fh:
                    storage.save(key, fh)
            for name in INSTANCE_SECRETS:
                if f"instance/{name}" in found:
                    _replace_private(work / "instance" / name, instance / name)
        except OSError as exc:
            raise DomainError(f"数据库已用备份替换，但写入存储目录或实例文件时出错（{exc}）：请排除磁盘问题后"
                              "用同一备份加 --force 再恢复一次") from exc
        bad = [key for key in storage_keys
               if _sha256(storage._path(key)) != manifest["files"][f"storage/{key}"]["sha256"]]
        if bad:
            raise DomainError(f"数据库已用备份替换，但恢复后有 {len(bad)} 个文件与备份不符（如 {bad[0]}）："
                              "请检查存储目录的磁盘或网络挂载，再用同一备份加 --force 恢复一次")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RestoreResult(tables=len(counts), rows=sum(counts.values()), files=len(storage_keys),
                         created_at=manifest.get("created_at", ""), revision=manifest["alembic_revision"],
                         needs_upgrade=needs_upgrade, storage_left=len(existing - storage_keys))


def _replace_private(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + PARTIAL_SUFFIX)
    tmp.unlink(missing_ok=True)
    with open(source, "rb") as src, os.fdopen(_private_file(tmp), "wb") as out:
        shutil.copyfileobj(src, out)
    tmp.replace(target)
    try:  # the signing key is cached per process (certificates/signing.py)
        from ..certificates import signing

        signing._cache.pop(str(target), None)
    except ImportError:
        pass


def _sqlite_check(copy: Path, check) -> None:
    """Run `check` on the unpacked copy before it replaces anything (its pages are what the restore copies)."""
    from sqlalchemy import create_engine

    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            check(conn)
    except SQLAlchemyError as exc:
        raise DomainError(f"备份中的数据库文件无法读取（{exc.__class__.__name__}），原有数据未被替换") from exc
    finally:
        engine.dispose()


def _sqlite_restore(copy: Path) -> None:
    """Replace the whole target database with the copy, page by page, through the backup API."""
    import sqlite3

    target = db.engine.url.database
    db.engine.dispose()
    Path(target).parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # as the app runs it (extensions.py sets it on every connection)
    finally:
        dst.close()
        src.close()
    for suffix in ("", "-wal", "-shm"):
        path = Path(target + suffix)
        if path.exists():
            os.chmod(path, FILE_MODE)
