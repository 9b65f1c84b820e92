"""Photo import from a zip: every rule and every bad input, the job, the pages and the CLI."""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from examadmin.candidates import photos, services
from examadmin.candidates.models import Candidate
from examadmin.candidates.photos import ZipRefused, import_photos
from examadmin.candidates.states import CANDIDATE, CandidateState
from examadmin.core import archives, jobs, permissions
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.core.jobs import Job, JobContext, JobState
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.conftest import login_as, make_school, make_user


# ---- building candidates, images and zips ------------------------------------------------

@pytest.fixture
def school_user():
    return make_user("school")


def add(user, number: str | None = None, name: str = "张三") -> Candidate:
    return services.add_candidate(user, {"name": name, "id_number": number or id_number(), "kind": "社会考生"})


def image(size=(600, 800), mode="RGB", color="red", fmt="JPEG", **save) -> bytes:
    buffer = io.BytesIO()
    with Image.new(mode, size, color) as im:
        im.save(buffer, fmt, **save)
    return buffer.getvalue()


def make_zip(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def run(user, files: dict[str, bytes] | bytes, tmp_path: Path, name: str = "photos.zip", **kw):
    path = tmp_path / name
    path.write_bytes(files if isinstance(files, bytes) else make_zip(files))
    return import_photos(user, user.school_id, path, file_name=name, **kw)


def stored(candidate: Candidate) -> Image.Image:
    db.session.refresh(candidate)
    assert candidate.photo_key, "no photo attached"
    return Image.open(io.BytesIO(get_storage().read(candidate.photo_key)))


def message_of(report, file: str) -> str:
    found = [e.message for e in report.errors if e.file == file]
    assert found, f"{file} not refused: {report.as_dict()}"
    return found[0]


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Candidate).where(Candidate.photo_key.is_not(None)))


# ---- what a good zip does ----------------------------------------------------------------

def test_photos_are_attached_as_standard_jpegs_without_metadata(school_user, tmp_path):
    a, b = add(school_user), add(school_user, name="李四")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS
    report = run(school_user, {f"{a.id_number}.jpg": image(exif=exif.tobytes()),
                               f"{b.id_number}.png": image(fmt="PNG", color="blue")}, tmp_path)
    assert report.as_dict() == {"files": 2, "others": 0, "attached": 2, "replaced": 0, "skipped": 0, "errors": [],
                                "notices": []}
    with stored(a) as photo:
        assert (photo.format, photo.size, photo.mode) == ("JPEG", (358, 441), "RGB")
        assert "exif" not in photo.info and not photo.getexif() and "icc_profile" not in photo.info
    with stored(b) as photo:
        assert photo.format == "JPEG" and photo.size == (358, 441)
    assert a.photo_uploaded_at is not None
    actions = db.session.execute(select(AuditLog.action, AuditLog.entity_id).where(
        AuditLog.action.in_(["candidate.photo", "candidate.photo_import"]))).all()
    assert sorted(actions) == sorted([("candidate.photo", a.id), ("candidate.photo", b.id),
                                      ("candidate.photo_import", school_user.school_id)])


def test_a_second_photo_replaces_the_first_and_is_audited(school_user, tmp_path):
    c = add(school_user)
    run(school_user, {f"{c.id_number}.jpg": image(color="red")}, tmp_path)
    first = c.photo_key
    report = run(school_user, {f"{c.id_number}.jpg": image(color="green")}, tmp_path, name="again.zip")
    assert (report.attached, report.replaced) == (0, 1)
    with stored(c) as photo:
        r, g, _ = photo.getpixel((100, 100))
        assert g > 100 and r < 50
    assert c.photo_key != first
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "candidate.photo",
                                                        AuditLog.entity_id == c.id).order_by(AuditLog.id)).all()
    assert [e.before for e in entries] == [{"photo": "无"}, {"photo": "有"}]
    assert entries[1].after["source"] == "again.zip"


def test_extension_is_matched_in_any_case_and_the_name_normalised(school_user, tmp_path):
    upper, jpeg, png = add(school_user), add(school_user), add(school_user)
    with_x = next(n for n in (id_number() for _ in range(200)) if n.endswith("X"))
    x = add(school_user, with_x)
    report = run(school_user, {f"{upper.id_number}.JPG": image(), f"{jpeg.id_number}.jpeg": image(),
                               f"{png.id_number}.Png": image(fmt="PNG"), f"{with_x[:-1]}x.JPEG": image()}, tmp_path)
    assert (report.attached, report.errors) == (4, [])
    assert x.photo_key


def test_exif_orientation_is_applied(school_user, tmp_path):
    c = add(school_user)
    # Stored landscape, left half red and right half blue; EXIF 6 says "turn 90° clockwise to view".
    with Image.new("RGB", (800, 600), "red") as im:
        im.paste((0, 0, 255), (400, 0, 800, 600))
        exif = Image.Exif()
        exif[0x0112] = 6
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", exif=exif.tobytes())
    report = run(school_user, {f"{c.id_number}.jpg": buffer.getvalue()}, tmp_path)
    assert report.attached == 1, report.as_dict()
    with stored(c) as photo:
        top, bottom = photo.getpixel((179, 20)), photo.getpixel((179, 420))
    assert top[0] > 200 and top[2] < 60  # the left (red) is now at the top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_and_transparent_images_become_rgb_on_white(school_user, tmp_path):
    cmyk, rgba, palette = add(school_user), add(school_user), add(school_user)
    with Image.new("P", (600, 800), 0) as p:
        p.putpalette([0, 0, 0] * 256)
        buffer = io.BytesIO()
        p.save(buffer, "PNG", transparency=0)
    report = run(school_user, {f"{cmyk.id_number}.jpg": image(mode="CMYK", color=(0, 0, 0, 0)),
                               f"{rgba.id_number}.png": image(mode="RGBA", color=(0, 0, 0, 0), fmt="PNG"),
                               f"{palette.id_number}.png": buffer.getvalue()}, tmp_path)
    assert report.attached == 3, report.as_dict()
    for c in (cmyk, rgba, palette):
        with stored(c) as photo:
            assert photo.mode == "RGB"
            assert min(photo.getpixel((50, 50))) > 245, c  # white, not black


def test_close_aspect_is_cropped_far_aspect_and_tiny_images_are_refused(school_user, tmp_path):
    close, wide, square, tiny = (add(school_user) for _ in range(4))
    report = run(school_user, {f"{close.id_number}.jpg": image((413, 579)),  # 2-inch photo, 0.71
                               f"{wide.id_number}.jpg": image((800, 600)),
                               f"{square.id_number}.jpg": image((600, 600)),
                               f"{tiny.id_number}.jpg": image((120, 148))}, tmp_path)
    assert report.attached == 1
    with stored(close) as photo:
        assert photo.size == (358, 441)
    assert "比例不符" in message_of(report, f"{wide.id_number}.jpg")
    assert "比例不符" in message_of(report, f"{square.id_number}.jpg")
    assert "太小" in message_of(report, f"{tiny.id_number}.jpg")
    assert report.skipped == 3 == len(report.errors)


# ---- bad files: each refused by name, the others still go in -------------------------------

def test_not_an_image_a_gif_and_a_broken_jpeg_are_refused_by_name(school_user, tmp_path):
    good, text, gif, broken = (add(school_user) for _ in range(4))
    report = run(school_user, {f"{good.id_number}.jpg": image(),
                               f"{text.id_number}.jpg": "这不是照片".encode(),
                               f"{gif.id_number}.jpg": image(fmt="GIF"),
                               f"{broken.id_number}.jpg": image()[:400],
                               "readme.txt": b"hello"}, tmp_path)
    # 「共 N 个照片文件」 counts the photos only; readme.txt is skipped and counted apart
    assert report.attached == 1 and report.files == 4 and report.others == 1 and report.skipped == 3
    assert "不是 JPEG 或 PNG" in message_of(report, f"{text.id_number}.jpg")
    assert "不是 JPEG 或 PNG" in message_of(report, f"{gif.id_number}.jpg")
    assert "损坏" in message_of(report, f"{broken.id_number}.jpg")
    assert "只接受 .jpg、.jpeg、.png" in message_of(report, "readme.txt")


@pytest.mark.parametrize("size", [(600, 800), (300, 370)])  # beyond 2× the limit (error), beyond 1× (warning)
def test_a_decompression_bomb_is_refused(school_user, tmp_path, monkeypatch, size):
    c = add(school_user)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    report = run(school_user, {f"{c.id_number}.jpg": image(size)}, tmp_path)
    assert "解压炸弹" in message_of(report, f"{c.id_number}.jpg")
    assert report.attached == 0


def _encrypt_flag(data: bytes, member: str) -> bytes:
    """Set general-purpose bit 0 (encrypted) of one member in its local header and central directory."""
    out = bytearray(data)
    # (signature, offset of the flags, offset of the name length, offset of the name)
    for signature, flags_at, length_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = out.find(signature)
        while at >= 0:
            (length,) = struct.unpack_from("<H", out, at + length_at)
            if bytes(out[at + name_at:at + name_at + length]) == member.encode():
                (flags,) = struct.unpack_from("<H", out, at + flags_at)
                struct.pack_into("<H", out, at + flags_at, flags | 0x1)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_an_encrypted_member_is_refused_by_name(school_user, tmp_path):
    locked, free = add(school_user), add(school_user)
    data = make_zip({f"{locked.id_number}.jpg": image(), f"{free.id_number}.jpg": image()})
    data = _encrypt_flag(data, f"{locked.id_number}.jpg")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # the crafted zip really says "encrypted"
        assert zf.getinfo(f"{locked.id_number}.jpg").flag_bits & 0x1
    report = run(school_user, data, tmp_path)
    assert "加密" in message_of(report, f"{locked.id_number}.jpg")
    assert report.attached == 1


def test_duplicate_names_for_one_id_are_both_refused(school_user, tmp_path):
    c, other = add(school_user), add(school_user)
    report = run(school_user, {f"{c.id_number}.JPG": image(), f"{c.id_number}.png": image(fmt="PNG"),
                               f"{other.id_number}.jpg": image()}, tmp_path)
    assert "只保留一个" in message_of(report, f"{c.id_number}.JPG")
    assert "只保留一个" in message_of(report, f"{c.id_number}.png")
    assert report.attached == 1 and report.skipped == 2
    db.session.refresh(c)
    assert c.photo_key is None


def test_unknown_hidden_and_other_schools_ids_are_refused(school_user, tmp_path):
    mine, hidden = add(school_user), add(school_user)
    services.hide_candidate(school_user, hidden.id)
    elsewhere = add(make_user("school"))
    stranger = id_number()
    report = run(school_user, {f"{mine.id_number}.jpg": image(), f"{hidden.id_number}.jpg": image(),
                               f"{elsewhere.id_number}.jpg": image(), f"{stranger}.jpg": image(),
                               "张三.jpg": image()}, tmp_path)
    assert report.attached == 1
    assert "已被删除" in message_of(report, f"{hidden.id_number}.jpg")
    assert "本校没有" in message_of(report, f"{elsewhere.id_number}.jpg")
    assert "本校没有" in message_of(report, f"{stranger}.jpg")
    assert "本校没有" in message_of(report, "张三.jpg")
    db.session.refresh(elsewhere)
    db.session.refresh(hidden)
    assert elsewhere.photo_key is None and hidden.photo_key is None


def test_a_school_cannot_import_for_another_school_and_only_schools_import(school_user, tmp_path):
    other = make_school()
    path = tmp_path / "p.zip"
    path.write_bytes(make_zip({f"{id_number()}.jpg": image()}))
    with pytest.raises(permissions.NotInScope):
        import_photos(school_user, other.id, path)
    with pytest.raises(permissions.ForbiddenAction):
        import_photos(make_user("org"), other.id, path)


def test_candidates_in_verification_are_refused_review_is_reset_accurate_may_change(school_user, tmp_path):
    verifying, review, accurate = add(school_user), add(school_user), add(school_user)
    for c in (verifying, review, accurate):
        CANDIDATE.move(c, "verify", school_user)
    CANDIDATE.move(review, "fail", None)
    review.verify_reasons = ["缺少照片"]
    CANDIDATE.move(accurate, "pass", None)
    db.session.flush()
    report = run(school_user, {f"{c.id_number}.jpg": image() for c in (verifying, review, accurate)}, tmp_path)
    assert "正在认证中" in message_of(report, f"{verifying.id_number}.jpg")
    assert report.attached == 2
    db.session.refresh(review)
    db.session.refresh(accurate)
    assert review.state == CandidateState.PENDING and review.verify_reasons is None
    assert accurate.state == CandidateState.ACCURATE and accurate.photo_key
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "candidate.photo", AuditLog.entity_id == accurate.id)) == 1


# ---- unsafe names, entry counts (issue 8 item 8) ---------------------------------------------

def test_members_with_unsafe_names_are_named_in_the_errors(school_user, tmp_path):
    c = add(school_user)
    other = add(school_user)
    report = run(school_user, {f"{c.id_number}.jpg": image(), f"../../{other.id_number}.jpg": image(),
                               "/etc/cron.d/x.jpg": image(), "C:\\Windows\\x.jpg": image(),
                               "../.DS_Store": b"x"}, tmp_path)
    unsafe = {e.file for e in report.errors if e.message == photos.UNSAFE_NAME}
    assert unsafe == {f"../../{other.id_number}.jpg", "/etc/cron.d/x.jpg", "C:/Windows/x.jpg", "../.DS_Store"}
    assert (report.files, report.attached, report.skipped) == (5, 1, 4)
    assert not any("系统生成" in n for n in report.notices)
    db.session.refresh(other)
    assert other.photo_key is None


def test_a_zip_of_unsafe_names_only_reports_each_and_imports_nothing(school_user, tmp_path):
    report = run(school_user, {"../a.jpg": image(), "../../b.jpg": image()}, tmp_path)
    assert [e.message for e in report.errors] == [photos.UNSAFE_NAME] * 2 and not report.ok
    assert photo_count() == 0


def _many_entries_zip(path: Path, count: int) -> Path:
    """A valid zip of `count` empty files, written directly (zipfile takes far longer); zip64
    records when the count does not fit the classic end record, as real tools do."""
    local, central = bytearray(), bytearray()
    for i in range(count):
        name = f"{i:06d}.jpg".encode()
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0,
                               0, 0, offset) + name
    start, size = len(local), len(central)
    tail = bytearray()
    if count > 0xFFFF:
        at = start + size
        tail += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start)
        tail += struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0)
    path.write_bytes(bytes(local + central + tail))
    return path


def test_entry_counts_are_read_from_the_end_record_and_the_directory_walk(tmp_path):
    # Declared over the limit: that figure at once; within it: the walk, stopped at limit + 1.
    for count, limit, expected in [(10, 100, 10), (70_000, 100, 70_000), (300, 100, 300), (300, 500, 300)]:
        path = _many_entries_zip(tmp_path / f"many{count}-{limit}.zip", count)
        if count == 70_000:
            with zipfile.ZipFile(path) as zf:  # the builder writes what zipfile reads
                assert len(zf.infolist()) == 70_000
        assert archives.count_entries(path, limit) == expected


def test_a_300000_entry_zip_is_refused_from_its_end_record_before_parsing(school_user, tmp_path, monkeypatch):
    path = _many_entries_zip(tmp_path / "many.zip", 300_000)

    def parse(*args, **kwargs):
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(photos.zipfile, "ZipFile", parse)
    with pytest.raises(ZipRefused) as refused:
        import_photos(school_user, school_user.school_id, path, file_name="全校.zip")
    assert "「全校.zip」中的文件过多（300000 个）" in refused.value.message and "最多 5000 张" in refused.value.message


def test_an_end_record_that_understates_the_count_is_caught_by_the_walk(school_user, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PHOTO_FILES", 5)  # at most 2 × 5 + 100 entries
    data = bytearray(make_zip({f"{i:04d}.jpg": b"x" for i in range(200)}, zipfile.ZIP_STORED))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<2H", 1, 1)  # "1 entry"
    path = tmp_path / "forged.zip"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(photos.zipfile, "ZipFile", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(ZipRefused, match="文件过多（超过 110 个）"):
        import_photos(school_user, school_user.school_id, path, file_name="forged.zip")


# ---- replaced photos leave storage once the new one is committed (issue 8 item 7) ----------

def test_a_replaced_photo_is_deleted_once_the_new_one_is_committed(school_user, tmp_path):
    c = add(school_user)
    run(school_user, {f"{c.id_number}.jpg": image(color="red")}, tmp_path)
    db.session.commit()
    first = c.photo_key
    run(school_user, {f"{c.id_number}.jpg": image(color="green")}, tmp_path, name="again.zip")
    second = c.photo_key
    storage = get_storage()
    assert second != first and storage.exists(first) and storage.exists(second)  # not yet committed
    db.session.commit()
    assert not storage.exists(first) and storage.exists(second)


def test_a_rolled_back_replacement_keeps_the_old_photo_and_drops_the_new(school_user, tmp_path):
    c = add(school_user)
    run(school_user, {f"{c.id_number}.jpg": image(color="red")}, tmp_path)
    db.session.commit()
    first = c.photo_key
    before = photo_files()
    run(school_user, {f"{c.id_number}.jpg": image(color="green")}, tmp_path, name="again.zip")
    assert photo_files() == before + 1
    db.session.rollback()
    db.session.refresh(c)
    assert c.photo_key == first and get_storage().exists(first) and photo_files() == before


# ---- system debris and folders -------------------------------------------------------------

def test_mac_and_windows_debris_is_skipped_silently(school_user, tmp_path):
    c = add(school_user)
    report = run(school_user, {f"{c.id_number}.jpg": image(), f"__MACOSX/._{c.id_number}.jpg": b"\x00\x05\x16\x07",
                               f"._{c.id_number}.jpg": b"junk", ".DS_Store": b"\x00" * 100, "Thumbs.db": b"x",
                               "desktop.ini": b"[.ShellClassInfo]"}, tmp_path)
    assert (report.files, report.attached, report.errors) == (1, 1, [])
    assert any("已忽略 5 个系统生成的文件" in n for n in report.notices)


def test_one_enclosing_folder_is_accepted_with_a_notice(school_user, tmp_path):
    a, b = add(school_user), add(school_user)
    report = run(school_user, {"2024级照片/": b"", f"2024级照片/{a.id_number}.jpg": image(),
                               f"2024级照片/{b.id_number}.jpg": image(), f"__MACOSX/2024级照片/._{a.id_number}.jpg": b"x"},
                 tmp_path)
    assert report.attached == 2 and not report.errors
    assert any("文件夹「2024级照片」" in n for n in report.notices)


@pytest.mark.parametrize("layout", ["nested", "mixed", "two_folders"])
def test_deeper_or_mixed_folders_are_refused_and_change_nothing(school_user, tmp_path, layout):
    a, b = add(school_user), add(school_user)
    names = {"nested": (f"照片/一班/{a.id_number}.jpg", f"照片/一班/{b.id_number}.jpg"),
             "mixed": (f"{a.id_number}.jpg", f"照片/{b.id_number}.jpg"),
             "two_folders": (f"一班/{a.id_number}.jpg", f"二班/{b.id_number}.jpg")}[layout]
    with pytest.raises(ZipRefused) as refused:
        run(school_user, {name: image() for name in names}, tmp_path)
    assert "根目录" in refused.value.message and "photos.zip" in refused.value.message
    assert photo_count() == 0


def test_gbk_member_names_from_chinese_windows_are_read():
    info = zipfile.ZipInfo("照片/x.jpg".encode("gbk").decode("cp437"))
    info.flag_bits = 0
    assert photos._member_name(info) == "照片/x.jpg"


# ---- whole-zip refusals: nothing stored changes ------------------------------------------

def photo_files() -> int:
    root = Path(get_storage().root) / "photos"
    return sum(1 for _ in root.rglob("*.jpg")) if root.exists() else 0


def _nothing_stored(files_before: int) -> None:
    assert photo_count() == 0 and photo_files() == files_before
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.in_(["candidate.photo", "candidate.photo_import"]))) == 0


def test_a_zip_too_large_is_refused_by_name(school_user, tmp_path, app, monkeypatch):
    before = photo_files()
    c = add(school_user)
    monkeypatch.setitem(app.config, "MAX_PHOTO_ZIP_MB", 1)
    data = make_zip({f"{c.id_number}.jpg": image(), "filler.bin": bytes(1200 * 1024)}, zipfile.ZIP_STORED)
    with pytest.raises(ZipRefused) as refused:
        run(school_user, data, tmp_path, name="全校照片.zip")
    assert "全校照片.zip" in refused.value.message and "1 MB" in refused.value.message
    _nothing_stored(before)


def test_too_many_entries_are_refused(school_user, tmp_path, app, monkeypatch):
    before = photo_files()
    people = [add(school_user) for _ in range(4)]
    monkeypatch.setitem(app.config, "MAX_PHOTO_FILES", 3)
    with pytest.raises(ZipRefused) as refused:
        run(school_user, {f"{c.id_number}.jpg": image() for c in people}, tmp_path)
    assert "文件过多" in refused.value.message and "最多 3" in refused.value.message
    _nothing_stored(before)


def test_a_member_with_too_high_a_compression_ratio_is_refused_by_name(school_user, tmp_path):
    before = photo_files()
    good, bomb = add(school_user), add(school_user)
    with pytest.raises(ZipRefused) as refused:
        run(school_user, {f"{good.id_number}.jpg": image(), f"{bomb.id_number}.jpg": bytes(3 * 1024 * 1024)},
            tmp_path)
    assert "压缩比过高" in refused.value.message and f"{bomb.id_number}.jpg" in refused.value.message
    assert refused.value.file == f"{bomb.id_number}.jpg"
    _nothing_stored(before)


def test_a_file_that_is_not_a_zip_or_holds_no_photos_is_refused(school_user, tmp_path):
    before = photo_files()
    with pytest.raises(ZipRefused, match="不是有效的 zip"):
        run(school_user, b"Rar!\x1a\x07\x00 not a zip", tmp_path, name="照片.rar.zip")
    with pytest.raises(ZipRefused, match="没有照片"):
        run(school_user, {"__MACOSX/._a.jpg": b"x"}, tmp_path)
    _nothing_stored(before)


def test_a_single_photo_over_the_file_limit_is_refused(school_user, tmp_path, app, monkeypatch):
    c = add(school_user)
    monkeypatch.setitem(app.config, "MAX_PHOTO_FILE_MB", 1)
    big = image() + bytes(1100 * 1024)  # trailing bytes after the JPEG
    report = run(school_user, make_zip({f"{c.id_number}.jpg": big}, zipfile.ZIP_STORED), tmp_path)
    assert "文件过大" in message_of(report, f"{c.id_number}.jpg")


# ---- both cores ----------------------------------------------------------------------------

def test_the_process_pool_gives_the_same_answers(school_user, tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(photos, "IN_FLIGHT", 2)  # the window slides
    # fork keeps the test fast; the real fork server (one import of the app) runs in the benchmark
    monkeypatch.setattr(photos, "_pool_context", lambda: multiprocessing.get_context("fork"))
    people = [add(school_user) for _ in range(4)]
    report = run(school_user, {f"{people[0].id_number}.jpg": image((100, 100)),
                               f"{people[1].id_number}.jpg": image((358, 441)),
                               f"{people[2].id_number}.png": image((400, 500), fmt="PNG"),
                               f"{people[3].id_number}.jpg": b"not an image"}, tmp_path)
    assert report.attached == 2
    assert "太小" in message_of(report, f"{people[0].id_number}.jpg")
    assert "不是 JPEG 或 PNG" in message_of(report, f"{people[3].id_number}.jpg")
    with stored(people[2]) as photo:
        assert photo.size == (358, 441)


def _crash(data: bytes, max_pixels: int | None = None):
    os._exit(1)  # a decoder that takes its process down (or the OOM killer)


def test_a_crashed_pool_process_refuses_the_zip_with_a_message(school_user, tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(photos, "_pool_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(photos, "process_photo", _crash)
    people = [add(school_user) for _ in range(2)]
    with pytest.raises(DomainError, match="意外退出"):
        run(school_user, {f"{c.id_number}.jpg": image() for c in people}, tmp_path)


def _abort(data: bytes, max_pixels: int):
    os.abort()  # a decoder that crashes on a crafted file (a segfault, an abort)


def test_a_few_photos_are_decoded_in_a_child_whose_crash_refuses_the_zip(school_user, tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "process_photo", _abort)
    c = add(school_user)
    with pytest.raises(DomainError, match="照片处理进程意外退出"):
        run(school_user, {f"{c.id_number}.jpg": image()}, tmp_path)
    assert photo_count() == 0


def test_the_pixel_limit_travels_with_the_work_to_a_pool_process():
    # A pool process has no app: the limit is passed with each photo.
    assert "上限 30 万像素" in photos.process_photo(image(), 300_000)[1]
    assert photos.process_photo(image(), 25_000_000)[0] is not None


def _huge_png() -> bytes:
    buffer = io.BytesIO()
    with Image.new("1", (8000, 9855), 1) as im:  # 79 megapixels in 21 KB
        im.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_a_photo_over_the_pixel_cap_is_refused_from_its_header_before_decoding(school_user, tmp_path,
                                                                                  monkeypatch):
    c, ok = add(school_user), add(school_user)
    data = make_zip({f"{c.id_number}.png": _huge_png(), f"{ok.id_number}.jpg": image()})
    assert len(data) < 2000
    decoded = tmp_path / "decoded"  # written by the child process that decodes
    real = photos._standard_photo

    def standard_photo(im):
        with open(decoded, "a") as fh:
            fh.write(f"{im.size}\n")
        return real(im)

    monkeypatch.setattr(photos, "_standard_photo", standard_photo)
    report = run(school_user, data, tmp_path)
    message = message_of(report, f"{c.id_number}.png")
    assert "8000×9855" in message and "约 7884 万像素" in message and "上限 2500 万像素" in message
    assert decoded.read_text() == "(600, 800)\n" and report.attached == 1  # only the good photo was decoded


def test_the_pixel_cap_is_a_setting(school_user, tmp_path, app, monkeypatch):
    c = add(school_user)
    monkeypatch.setitem(app.config, "MAX_PHOTO_MEGAPIXELS", 1)
    report = run(school_user, {f"{c.id_number}.jpg": image((1200, 1500))}, tmp_path)
    assert "上限 100 万像素" in message_of(report, f"{c.id_number}.jpg")


# ---- the job, the pages, the CLI ----------------------------------------------------------

def _submit(user, data: bytes, name="photos.zip") -> Job:
    storage = get_storage()
    key = storage.save(storage.new_key("uploads", ".zip"), data)
    job = jobs.submit(user, "candidate_photos", {"school_id": user.school_id}, input_key=key, input_name=name)
    db.session.commit()
    jobs.dispatch(job)
    db.session.expire_all()
    return db.session.get(Job, job.id)


def test_the_job_reports_progress_and_its_result(school_user, monkeypatch):
    people = [add(school_user) for _ in range(3)]
    seen = []
    monkeypatch.setattr(JobContext, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(jobs, "write_progress", lambda job_id, done, total, message: seen.append((done, total)))
    job = _submit(school_user, make_zip({**{f"{c.id_number}.jpg": image() for c in people}, "x.gif": b"x"}))
    assert job.state == JobState.DONE, job.error
    # x.gif is no photo: counted apart, not among the photos to process
    assert job.result["attached"] == 3 and job.result["skipped"] == 0 and job.result["others"] == 1
    assert (job.done, job.total) == (3, 3) and "另有 1 个非照片文件已跳过" in job.message
    assert seen[0] == (0, 3) and seen[-1] == (3, 3) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_refused_zip_ends_the_job_not_imported_with_its_reason(school_user, client):
    """The user's file is refused as 未导入; 失败 and the sysadmin's to-do are for the system's faults."""
    job = _submit(school_user, b"not a zip", name="坏文件.zip")
    assert job.state == JobState.DONE and job.error is None and job.outcome == "未导入"
    assert "坏文件.zip" in job.result["refused"] and "不是有效的 zip" in job.result["refused"]
    login_as(client, school_user)
    page = client.get(f"/candidates/photos/{job.id}").get_data(as_text=True)
    assert "未导入：「坏文件.zip」不是有效的 zip" in page
    # the sysadmin's to-do 近 7 天失败的后台任务 counts 失败 jobs only
    assert db.session.scalar(select(func.count(Job.id)).where(Job.state == JobState.FAILED)) == 0


def test_the_pages_upload_show_progress_result_and_filter(client, school_user):
    good, bad = add(school_user), add(school_user)
    login_as(client, school_user)
    index = client.get("/candidates/").get_data(as_text=True)
    assert 'data-testid="photos-link"' in index
    page = client.get("/candidates/photos").get_data(as_text=True)
    assert "证件号码" in page and "根目录" in page and "358×441" in page and "不超过 2500 万像素" in page
    data = make_zip({f"{good.id_number}.jpg": image(), f"{bad.id_number}.jpg": image((800, 600)),
                     "notes.txt": b"x"})
    response = client.post("/candidates/photos", data={"file": (io.BytesIO(data), "一班照片.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and "/candidates/photos/" in response.headers["Location"]
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "共 2 个照片文件：新上传 1，替换 0，未导入 1" in body and "一班照片.zip" in body
    assert 'data-testid="photos-others">另有 1 个非照片文件' in body
    assert "比例不符" in body and "notes.txt" in body
    filtered = client.get(response.headers["Location"] + "?q=比例").get_data(as_text=True)
    assert "比例不符" in filtered and "notes.txt" not in filtered
    db.session.refresh(good)
    served = client.get(f"/candidates/{good.id}/photo")
    served.close()
    assert good.photo_key and served.status_code == 200 and served.mimetype == "image/jpeg"


def test_the_page_shows_a_running_job_with_a_progress_bar(client, school_user):
    login_as(client, school_user)
    job = jobs.submit(school_user, "candidate_photos", {"school_id": school_user.school_id})
    jobs.JOB.move(job, "start", None)
    db.session.commit()
    body = client.get(f"/candidates/photos/{job.id}").get_data(as_text=True)
    assert 'data-reload-when-done="1"' in body and "progress-bar" in body


def test_the_page_refuses_a_zip_over_the_limit_with_a_message(client, school_user, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PHOTO_ZIP_MB", 1)
    login_as(client, school_user)
    response = client.post("/candidates/photos", data={"file": (io.BytesIO(bytes(2200 * 1024)), "big.zip")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "超过了 1 MB 的上限" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "candidate_photos")) == 0


def test_the_page_refuses_other_file_types_and_non_school_users(client, school_user):
    login_as(client, school_user)
    response = client.post("/candidates/photos", data={"file": (io.BytesIO(b"x"), "photos.rar")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "只支持 .zip" in response.get_data(as_text=True)
    login_as(client, make_user("org"))
    assert client.get("/candidates/photos").status_code == 403


def test_the_upload_still_needs_its_csrf_token(client, school_user, app, monkeypatch):
    # The view is exempt from CSRFProtect (to raise the body limit first); the form checks the token.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, school_user)
    data = make_zip({f"{add(school_user).id_number}.jpg": image()})
    response = client.post("/candidates/photos", data={"file": (io.BytesIO(data), "p.zip")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 400)
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "candidate_photos")) == 0
    page = client.get("/candidates/photos").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_another_users_job_page_is_not_found(client, school_user):
    job = _submit(school_user, make_zip({f"{add(school_user).id_number}.jpg": image()}))
    login_as(client, make_user("school"))
    assert client.get(f"/candidates/photos/{job.id}").status_code == 404


def test_cli_json_and_exit_codes(cli, school_user, tmp_path):
    school = db.session.get(type(school_user.school), school_user.school_id)
    good, other = add(school_user), add(school_user)
    db.session.commit()
    ok = tmp_path / "ok.zip"
    ok.write_bytes(make_zip({f"{good.id_number}.jpg": image(), "x.gif": b"x"}))
    result = cli.invoke(args=["candidates", "photos", "--school", school.code, "--json", str(ok)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {k: data[k] for k in ("files", "others", "attached", "replaced", "skipped")} == \
        {"files": 1, "others": 1, "attached": 1, "replaced": 0, "skipped": 0}
    assert data["errors"] == [{"file": "x.gif", "message": data["errors"][0]["message"]}]
    all_bad = tmp_path / "bad.zip"
    all_bad.write_bytes(make_zip({f"{other.id_number}.jpg": b"junk"}))
    refused = cli.invoke(args=["candidates", "photos", "--school", school.code, "--json", str(all_bad)])
    assert refused.exit_code == 1 and json.loads(refused.output)["attached"] == 0
    not_zip = tmp_path / "nz.zip"
    not_zip.write_bytes(b"nope")
    whole = cli.invoke(args=["candidates", "photos", "--school", school.code, "--json", str(not_zip)])
    assert whole.exit_code == 1
    assert json.loads(whole.output)["errors"][0]["file"] == "nz.zip"
    text = cli.invoke(args=["candidates", "photos", "--school", school.code, str(ok)])
    assert text.exit_code == 0 and "替换 1" in text.output
    assert cli.invoke(args=["candidates", "photos", str(ok)]).exit_code == 2
    assert cli.invoke(args=["candidates", "photos", "--school", school.code]).exit_code == 2
    unknown = cli.invoke(args=["candidates", "photos", "--school", "0000000000", str(ok)])
    assert unknown.exit_code == 1
