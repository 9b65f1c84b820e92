"""Importing candidates' photos from one zip (DOMAIN.md §4, issue 5 item 5, issue 8).

Each photo is named by the candidate's ID number (`110101200001011234.jpg`, any case of
.jpg/.jpeg/.png). The zip is checked as a whole first (size; the number of entries, read
from its end record before the directory is parsed; compression ratio; folder layout): a
zip refused there changes nothing. Then each file is checked by name (a path in the name,
type, duplicate, unknown candidate, encrypted, size) and by content: its pixel count from
the header before decoding, then every accepted file is decoded and re-encoded as a
standard photo (JPEG 358×441, EXIF orientation applied, on white, no metadata), so nothing
a school uploads is ever served as it came. A refused file only skips that file; its reason
is reported by name.

Members are read into memory, never extracted to a path taken from the zip. Decoding runs
on both cores (a process pool, each process with a memory cap) once a zip holds enough
photos to pay for starting it. The work has three phases: read, process (no database, so
the caller can hold no transaction and no lock meanwhile), write: one executemany UPDATE of
the candidates and one INSERT of audit rows, after checking again what may have changed.
A replaced photo leaves storage when the new one is committed.

Folders: schools often zip the folder rather than its contents, so files inside exactly one
enclosing folder are accepted with a notice; deeper nesting, several folders or files at
mixed levels are refused with a message asking for the photos at the zip's root.
"""
from __future__ import annotations

import io
import re
import warnings
import zipfile
import zlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import insert, select, update

from ..catalog.models import School
from ..core import audit, clock, idcard, permissions, sandbox
from ..core.archives import count_entries
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.jobs import InputRefused
from ..core.storage import delete_after_commit, delete_after_rollback, get_storage
from ..extensions import db
from .models import Candidate
from .states import CANDIDATE, CandidateState

#: the standard photo: 358×441 pixels (the usual size of an exam registration photo)
PHOTO_SIZE = (358, 441)
#: smaller than this and a photo is too unclear to identify anyone
MIN_SIZE = (150, 185)
#: how far a photo's width/height may be from 358/441 and still be cropped centrally
ASPECT_TOLERANCE = 0.15
JPEG_QUALITY = 85
#: Hamming: sharper than bilinear at its speed; bicubic cost 7.4 ms a photo here against 4.2 ms,
#: which decided the 2,000-photo target (bench/import_candidates.py); the downscale is under 2×.
RESAMPLE = Image.Resampling.HAMMING
EXTENSIONS = (".jpg", ".jpeg", ".png")
#: below this many photos the pool costs more than it saves
POOL_THRESHOLD = 20
POOL_WORKERS = 2
#: files read ahead of the pool: enough to keep both cores busy, few enough to bound memory
IN_FLIGHT = 32
IN_FLIGHT_BYTES = 64 * 1024 * 1024
#: the memory a pool process may take beyond its start (a 25-megapixel PNG decodes to 100 MB)
POOL_MEMORY_MB = 768
#: CPU time of one pool process (it decodes up to half a zip: 2,500 photos take about 25 s)
POOL_CPU_SECONDS = 600
#: the time a handful of photos (under POOL_THRESHOLD) may take in their child
SMALL_BATCH_SECONDS = 120
#: a member compressed this little is not worth a ratio check (a bomb needs size)
RATIO_CHECK_MIN_BYTES = 1024 * 1024
#: names of files that operating systems leave in folders; skipped without a word each
DEBRIS_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}


class ZipRefused(InputRefused):
    """The zip as a whole is refused; `file` names the zip or the member at fault. The user's
    file, not the system, is at fault: the job ends 未导入 with the reason (core.jobs)."""

    def __init__(self, message: str, *, file: str):
        super().__init__(message)
        self.file = file


@dataclass
class FileProblem:
    file: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "message": self.message}


@dataclass
class PhotoReport:
    #: photo files considered: JPEG/PNG by name (system debris, folders and other files are not counted)
    files: int = 0
    #: other files (readme.txt, a .docx): skipped, each named in `errors`, counted apart from the photos
    others: int = 0
    #: candidates that had no photo and now have one
    attached: int = 0
    #: candidates whose photo was replaced
    replaced: int = 0
    #: photo files not used; each has one entry in `errors`
    skipped: int = 0
    errors: list[FileProblem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Something went in, or nothing was wrong (the CLI's exit status 0)."""
        return bool(self.attached or self.replaced) or not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "others": self.others, "attached": self.attached, "replaced": self.replaced,
                "skipped": self.skipped, "errors": [e.as_dict() for e in self.errors],
                "notices": list(self.notices)}


# ---- the image work (runs in the pool's processes: top level, bytes in, bytes out) ------

def _size_problem(width: int, height: int) -> str:
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return (f"照片太小（{width}×{height} 像素），至少需要 {MIN_SIZE[0]}×{MIN_SIZE[1]} 像素，"
                "请提供清晰的证件照")
    target = PHOTO_SIZE[0] / PHOTO_SIZE[1]
    if abs((width / height) / target - 1) > ASPECT_TOLERANCE:
        return (f"比例不符（{width}×{height} 像素）：应为竖版证件照，宽高比约 358:441"
                "（如 358×441、480×600），请裁剪后再上传")
    return ""


def process_photo(data: bytes, max_pixels: int) -> tuple[bytes | None, str]:
    """Decode one uploaded photo and re-encode it as the standard JPEG; (None, reason) if refused.

    The pixel count is read from the header and checked before anything is decoded.
    """
    try:
        with warnings.catch_warnings():
            # Over Pillow's own limit is a warning to Pillow; here it refuses the file like the error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as im:
                width, height = im.size
                if width * height > max_pixels:
                    return None, (f"图片像素过多（{width}×{height}，约 {round(width * height / 10000)} 万像素），"
                                  f"上限 {max_pixels // 10000} 万像素：请缩小后再上传（证件照 358×441 像素即可）")
                return _standard_photo(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "图片像素数过大，疑似解压炸弹，已拒绝"
    except UnidentifiedImageError:
        return None, "不是 JPEG 或 PNG 图片（无法识别文件内容）"
    except (OSError, SyntaxError, EOFError):
        return None, "图片已损坏或不完整，无法解码"
    except Exception:  # a malformed file must never stop the other photos
        return None, "图片无法解码（文件已损坏或格式不受支持）"


def _standard_photo(im: Image.Image) -> tuple[bytes | None, str]:
    width, height = im.size
    orientation = im.getexif().get(0x0112, 1)  # EXIF Orientation
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    problem = _size_problem(width, height)
    if problem:
        return None, problem
    if im.format == "JPEG":
        # Decode at the smallest 1/2, 1/4, 1/8 scale that still covers the output.
        im.draft("RGB", (PHOTO_SIZE[1], PHOTO_SIZE[1]))
    image = ImageOps.exif_transpose(im) if orientation != 1 else im
    image.load()
    image = _on_white(image)
    out = ImageOps.fit(image, PHOTO_SIZE, method=RESAMPLE)
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=JPEG_QUALITY)  # no exif=, icc_profile=: metadata dropped
    return buffer.getvalue(), ""


def _on_white(image: Image.Image) -> Image.Image:
    """RGB; transparent parts become white (a photo with a cut-out background)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("LA", "La", "PA", "RGBa") or (image.mode in ("L", "RGB") and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode == "I;16" or image.mode == "I":
        image = image.point(lambda v: v / 256).convert("L")
    return image if image.mode == "RGB" else image.convert("RGB")


# ---- the zip -----------------------------------------------------------------------------

def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as the school typed it: Chinese Windows zips use GBK, not CP437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def _parts(name: str) -> list[str]:
    return [p for p in PurePosixPath(name).parts if p not in ("/", ".", "")]


UNSAFE_NAME = "文件名含有路径，已拒绝"


def _is_unsafe(name: str) -> bool:
    """An absolute path (/x.jpg, C:/x.jpg) or one that climbs out (../x.jpg): never a photo.

    Nothing is ever extracted to such a path (members are read into memory), but a zip that
    carries one was made to attack, or by a tool gone wrong, and the school should hear of it.
    """
    return name.startswith("/") or re.match(r"[A-Za-z]:", name) is not None or ".." in name.split("/")


def _is_debris(parts: list[str]) -> bool:
    """__MACOSX/, ._* and .DS_Store (any dot file), Thumbs.db, desktop.ini."""
    if any(p == "__MACOSX" or p.startswith(".") for p in parts):
        return True
    return bool(parts) and parts[-1].lower() in DEBRIS_NAMES


@dataclass
class _Entry:
    info: zipfile.ZipInfo
    #: the name shown in messages (as inside the zip)
    name: str
    basename: str


def _plan(zf: zipfile.ZipFile, label: str, report: PhotoReport) -> list[_Entry]:
    """Whole-zip checks: names, entries, ratio, layout. Returns the photo files to look at."""
    config = current_app.config
    max_files, max_ratio = config["MAX_PHOTO_FILES"], config["MAX_PHOTO_RATIO"]
    entries: list[tuple[_Entry, list[str]]] = []
    debris = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = _member_name(info)
        if _is_unsafe(name):
            report.files += 1
            report.errors.append(FileProblem(name, UNSAFE_NAME))
            continue
        parts = _parts(name)
        if not parts:
            continue
        if _is_debris(parts):
            debris += 1
            continue
        entries.append((_Entry(info, name, parts[-1]), parts[:-1]))
    if len(entries) > max_files:
        raise ZipRefused(f"压缩包「{label}」中的文件过多（{len(entries)} 个），一次最多 {max_files} 张照片，"
                         "请分成几个压缩包上传", file=label)
    for entry, _ in entries:
        info = entry.info
        if info.file_size >= RATIO_CHECK_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ZipRefused(f"压缩包中的「{entry.name}」压缩比过高（{info.file_size // max(info.compress_size, 1)}:1，"
                             f"上限 {max_ratio}:1），疑似压缩炸弹，整个压缩包已拒绝", file=entry.name)
    if not entries:
        if report.errors:  # only unsafe names: each is reported, nothing is imported
            return []
        raise ZipRefused(f"压缩包「{label}」中没有照片文件", file=label)
    folders = {tuple(f) for _, f in entries}
    if folders != {()}:
        deep = next((e.name for e, f in entries if len(f) > 1), None)
        if deep is None and len(folders) == 1:
            folder = next(iter(folders))[0]
            report.notices.append(f"照片都在文件夹「{folder}」中，已按放在压缩包根目录处理。"
                                  "以后可直接选中照片文件压缩，不必带文件夹。")
        else:
            example = deep or next(e.name for e, f in entries if f)
            raise ZipRefused(f"压缩包「{label}」中的照片应直接放在压缩包的根目录（最多放在一个文件夹里）：发现「{example}」"
                             f"{'在多层文件夹中' if deep else '与其他文件不在同一层'}。请选中所有照片文件直接压缩后重新上传",
                             file=label)
    if debris:
        report.notices.append(f"已忽略 {debris} 个系统生成的文件（如 __MACOSX、.DS_Store、Thumbs.db）。")
    return [e for e, _ in entries]


def _school_candidates(school_id: int) -> dict[str, list[dict]]:
    rows = db.session.execute(
        select(Candidate.id, Candidate.id_number, Candidate.name, Candidate.hidden, Candidate.state,
               Candidate.photo_key).where(Candidate.school_id == school_id)).mappings()
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["id_number"], []).append(dict(row))
    return found


@dataclass
class _Accepted:
    entry: _Entry
    candidate: dict


def _check_names(entries: list[_Entry], candidates: dict[str, list[dict]],
                 report: PhotoReport) -> list[_Accepted]:
    """The per-file checks that need no decoding: type, duplicates, candidate, encryption, size."""
    max_bytes = current_app.config["MAX_PHOTO_FILE_MB"] * 1024 * 1024
    by_number: dict[str, list[_Entry]] = {}
    for entry in entries:
        stem, ext = Path(entry.basename).stem, Path(entry.basename).suffix.lower()
        if ext not in EXTENSIONS:
            report.others += 1
            report.errors.append(FileProblem(entry.name, "不是 JPEG 或 PNG 照片：只接受 .jpg、.jpeg、.png 文件"))
            continue
        by_number.setdefault(idcard.normalise(stem), []).append(entry)
    accepted = []
    for number, group in by_number.items():
        if len(group) > 1:
            names = "、".join(e.basename for e in group)
            for entry in group:
                report.errors.append(FileProblem(entry.name, f"同一证件号码有多个照片文件（{names}），请只保留一个"))
            continue
        entry = group[0]
        matches = [c for c in candidates.get(number, []) if not c["hidden"]]
        message = ""
        if not number:
            message = "文件名应为考生的证件号码，如 110101200001011234.jpg"
        elif entry.info.flag_bits & 0x1:
            message = "文件已加密（压缩时设置了密码），请不设密码重新压缩"
        elif entry.info.file_size > max_bytes:
            message = (f"文件过大（{entry.info.file_size / 1024 / 1024:.1f} MB），"
                       f"单张照片不能超过 {current_app.config['MAX_PHOTO_FILE_MB']} MB")
        elif not matches:
            if candidates.get(number):
                message = f"证件号码为 {number} 的考生已被删除，不能上传照片"
            else:
                message = f"本校没有证件号码为 {number} 的考生（文件名应为考生的证件号码）"
        elif len(matches) > 1:
            message = f"证件号码 {number} 对应本校多名考生（证件类型不同），无法确定照片属于哪一位"
        elif matches[0]["state"] == CandidateState.VERIFYING:
            message = f"考生「{matches[0]['name']}」正在认证中，请等认证结果出来后再上传照片"
        if message:
            report.errors.append(FileProblem(entry.name, message))
        else:
            accepted.append(_Accepted(entry, matches[0]))
    return accepted


def _read(zf: zipfile.ZipFile, entry: _Entry) -> bytes | None:
    try:
        return zf.read(entry.info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError, OSError, ValueError):
        return None


def _pool_context():
    """fork when this is the one thread, else a fork server that preloads this module."""
    return sandbox.process_context([__name__])


READ_ERROR = "无法从压缩包中读取该文件（已损坏或压缩方式不受支持）"


def _process_all(raws: list[bytes | None], max_pixels: int) -> list[tuple[bytes | None, str]]:
    return [process_photo(raw, max_pixels) if raw is not None else (None, READ_ERROR) for raw in raws]


def _processed(zf: zipfile.ZipFile, accepted: list[_Accepted], max_pixels: int):
    """(item, (jpeg or None, reason)) in order; on both cores when there are enough files.

    Decoders never run in this process: a crash or a runaway allocation in one takes down
    only its own child, and the zip is refused with a message.
    """
    if len(accepted) < POOL_THRESHOLD:  # a few photos: one child for all of them
        raws = [_read(zf, item.entry) for item in accepted]
        try:
            results = sandbox.run(_process_all, raws, max_pixels, memory_mb=POOL_MEMORY_MB,
                                  seconds=SMALL_BATCH_SECONDS)
        except sandbox.SandboxError:
            raise DomainError("照片处理进程意外退出（超出内存上限、超时或崩溃），压缩包未导入："
                              "请检查照片是否完好后重新上传") from None
        yield from zip(accepted, results)
        return
    # A sliding window of futures: members are read as the cores free up, so memory stays bounded.
    # Each pool process is capped (a decoder gone wild fails its zip, not the machine).
    with ProcessPoolExecutor(max_workers=POOL_WORKERS, mp_context=_pool_context(),
                             initializer=sandbox.limit_this_process,
                             initargs=(POOL_MEMORY_MB, POOL_CPU_SECONDS)) as pool:
        window: deque = deque()
        pending_bytes = 0
        for item in accepted:
            raw = _read(zf, item.entry)
            try:
                future = pool.submit(process_photo, raw, max_pixels) if raw is not None else None
            except BrokenProcessPool:  # an earlier decoder crashed before its result was asked for
                raise DomainError("照片处理进程意外退出，压缩包未导入：请检查照片是否完好后重新上传") from None
            window.append((item, future, len(raw or b"")))
            pending_bytes += len(raw or b"")
            while len(window) >= IN_FLIGHT or pending_bytes > IN_FLIGHT_BYTES:
                done, future, size = window.popleft()
                pending_bytes -= size
                yield _result(done, future)
        while window:
            done, future, _ = window.popleft()
            yield _result(done, future)


def _result(item: _Accepted, future) -> tuple[_Accepted, tuple[bytes | None, str]]:
    if future is None:
        return item, (None, READ_ERROR)
    try:
        return item, future.result()
    except BrokenProcessPool:  # a decoder crashed or the system killed it (memory)
        raise DomainError(f"处理「{item.entry.name}」时照片处理进程意外退出，压缩包未导入："
                          "请检查或去掉这个文件后重新上传") from None


# ---- the service: read, then process with no transaction open, then write -----------------

@dataclass
class PhotoImport:
    """What the read phase learnt, as plain data: processing needs no database."""
    school_id: int
    city_id: int | None
    province_id: int | None
    label: str
    zf: zipfile.ZipFile
    report: PhotoReport
    accepted: list[_Accepted]
    #: photos decoded and saved, each with its new storage key
    stored: list[tuple[_Accepted, str]] = field(default_factory=list)


def import_photos(actor: Any, school_id: int, zip_path: str | Path, *, file_name: str = "",
                  progress: Callable[[int, int], None] | None = None,
                  release: Callable[[], None] | None = None) -> PhotoReport:
    """Attach the photos of one zip to the school's candidates; each refused file is reported.

    Three phases: read (the zip's checks and the school's candidates), process (decode and
    save the photos: seconds per thousand, and no database), write (one UPDATE and the audit).
    `release`, called between reading and processing, lets the caller end its read-only
    transaction, so that no lock is held while images are processed: on SQLite a writing
    transaction holds the database's one write lock, and every save of every user would wait.
    """
    work = read_photo_zip(actor, school_id, zip_path, file_name=file_name, progress=progress)
    try:
        if release is not None:
            release()
        process_photo_zip(work, progress)
        return write_photo_import(actor, work)
    except BaseException:
        _discard(work.stored)  # saved but never named by a row
        raise
    finally:
        work.zf.close()


def release_reads() -> None:
    """End the caller's transaction, which has only read, keeping what it loaded as loaded:
    an expired object would reload, and so open a transaction again, at its next use."""
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def read_photo_zip(actor: Any, school_id: int, zip_path: str | Path, *, file_name: str = "",
                   progress: Callable[[int, int], None] | None = None) -> PhotoImport:
    """The read phase: permission, the zip's limits and layout, each file's name against the
    school's candidates. Raises ZipRefused when the zip as a whole is refused."""
    permissions.require(actor, "candidates.manage")
    school = permissions.get_for(actor, School, school_id)
    if actor.school_id not in (None, school.id):
        raise permissions.NotInScope()
    label = file_name or Path(zip_path).name
    config = current_app.config
    limit_mb = config["MAX_PHOTO_ZIP_MB"]
    size = Path(zip_path).stat().st_size
    if size > limit_mb * 1024 * 1024:
        raise ZipRefused(f"压缩包「{label}」过大（{size / 1024 / 1024:.1f} MB），上限为 {limit_mb} MB，"
                         "请分成几个压缩包上传", file=label)
    not_a_zip = ZipRefused(f"「{label}」不是有效的 zip 压缩包（请用 zip 格式压缩照片，不支持 rar、7z）", file=label)
    # Photos, one system file beside each (Mac zips) and folders: more entries than that are
    # refused from the zip's end record, before its directory is parsed.
    max_entries = 2 * config["MAX_PHOTO_FILES"] + 100
    try:
        entries = count_entries(zip_path, max_entries)
    except OSError:
        raise not_a_zip from None
    if entries is None:
        raise not_a_zip
    if entries > max_entries:
        shown = f"{entries} 个" if entries != max_entries + 1 else f"超过 {max_entries} 个"
        raise ZipRefused(f"压缩包「{label}」中的文件过多（{shown}），一次最多 {config['MAX_PHOTO_FILES']} 张照片，"
                         "请分成几个压缩包上传", file=label)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise not_a_zip from None
    try:
        report = PhotoReport()
        photo_entries = _plan(zf, label, report)
        report.files += len(photo_entries)
        accepted = _check_names(photo_entries, _school_candidates(school.id), report)
        report.files -= report.others  # 「共 N 个照片文件」 counts the photos alone
        if progress:
            progress(len(report.errors) - report.others, report.files)
        return PhotoImport(school.id, school.city_id, school.province_id, label, zf, report, accepted)
    except BaseException:
        zf.close()
        raise


def process_photo_zip(work: PhotoImport, progress: Callable[[int, int], None] | None = None) -> None:
    """The processing phase: decode, check and re-encode each accepted photo and save it.
    Touches no database (the caller may hold no transaction now)."""
    storage = get_storage()
    max_pixels = current_app.config["MAX_PHOTO_MEGAPIXELS"] * 1_000_000
    report = work.report
    refused_by_name = len(report.errors) - report.others  # other files are not among the photos counted
    for index, (item, (data, message)) in enumerate(_processed(work.zf, work.accepted, max_pixels), start=1):
        if data is None:
            report.errors.append(FileProblem(item.entry.name, message))
        else:
            key = storage.save(storage.new_key(f"photos/{work.school_id}", ".jpg"), data)
            work.stored.append((item, key))
        if progress:
            progress(refused_by_name + index, report.files)


def write_photo_import(actor: Any, work: PhotoImport) -> PhotoReport:
    """The write phase: what changed meanwhile is checked again, then one UPDATE and the audit.

    A replaced photo is deleted from storage once this transaction commits; a new one is
    deleted if it rolls back.
    """
    report = work.report
    storage = get_storage()
    ids = [item.candidate["id"] for item, _ in work.stored]
    current = {}
    if ids:
        # Locked (PostgreSQL) so that two imports for one candidate cannot both replace the same photo.
        rows = db.session.execute(select(Candidate.id, Candidate.name, Candidate.hidden, Candidate.state,
                                         Candidate.photo_key).where(Candidate.id.in_(ids)).with_for_update())
        current = {row.id: dict(row._mapping) for row in rows}
    kept: list[tuple[_Accepted, str]] = []
    for item, key in work.stored:
        now_row = current.get(item.candidate["id"])
        message = _changed_meanwhile(now_row)
        if message:
            report.errors.append(FileProblem(item.entry.name, message))
            storage.delete(key)
            continue
        item.candidate.update(now_row)
        kept.append((item, key))
    work.stored = kept
    for item, key in kept:
        db_key = item.candidate["photo_key"]
        if db_key:
            delete_after_commit(db.session, db_key, storage)
        delete_after_rollback(db.session, key, storage)
    _write(actor, work, kept, report)
    report.skipped = len(report.errors) - report.others
    report.errors.sort(key=lambda e: e.file)
    return report


def _changed_meanwhile(row: dict | None) -> str:
    """Why a candidate checked in the read phase can no longer take its photo, if it cannot."""
    if row is None or row["hidden"]:
        return "该考生在导入过程中已被删除，不能上传照片"
    if row["state"] == CandidateState.VERIFYING:
        return f"考生「{row['name']}」正在认证中，请等认证结果出来后再上传照片"
    return ""


def _discard(stored: list[tuple[_Accepted, str]]) -> None:
    storage = get_storage()
    for _, key in stored:
        storage.delete(key)


def _write(actor: Any, work: PhotoImport, stored: list[tuple[_Accepted, str]], report: PhotoReport) -> None:
    now = clock.now()
    report.attached = sum(1 for item, _ in stored if not item.candidate["photo_key"])
    report.replaced = len(stored) - report.attached
    if stored:
        db.session.execute(update(Candidate), [
            {"id": item.candidate["id"], "photo_key": key, "photo_uploaded_at": now, "updated_at": now}
            for item, key in stored])
        _audit(actor, work, stored, now)
        _after_update({item.candidate["id"] for item, _ in stored},
                      [item.candidate["id"] for item, _ in stored
                       if item.candidate["state"] == CandidateState.NEEDS_REVIEW], actor)
    audit.record(actor, "candidate.photo_import", db.session.get(School, work.school_id), after={
        "file": work.label, "files": report.files, "attached": report.attached, "replaced": report.replaced,
        "skipped": len(report.errors)})


def _audit(actor: Any, work: PhotoImport, stored: list[tuple[_Accepted, str]], now) -> None:
    """One audit record per candidate whose photo changed (a photo at 信息准确 too), in one INSERT."""
    base = {"at": now, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "name", "系统"),
            "actor_role": str(actor.role), "entity_type": "candidate", "ip": "", "school_id": work.school_id,
            "city_id": work.city_id, "province_id": work.province_id}
    db.session.execute(insert(AuditLog), [
        {**base, "action": "candidate.photo", "entity_id": item.candidate["id"],
         "entity_label": item.candidate["name"],
         "before": {"photo": "有" if item.candidate["photo_key"] else "无"},
         "after": {"photo": "已更换" if item.candidate["photo_key"] else "已上传", "file": item.entry.name,
                   "source": work.label}}
        for item, _ in stored])


def _after_update(changed: set[int], needs_review: list[int], actor: Any) -> None:
    # The bulk UPDATE bypassed the session: drop stale copies so that callers read the new photo.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Candidate) and obj.id in changed:
            db.session.expire(obj)
    # A failed verification's reasons (photo missing, say) no longer apply to a new photo,
    # just as when the school edits the data (services.update_candidate).
    if needs_review:
        for candidate in db.session.scalars(select(Candidate).where(Candidate.id.in_(needs_review))):
            CANDIDATE.move(candidate, "reset", actor)
            candidate.verify_reasons = None
    db.session.flush()
