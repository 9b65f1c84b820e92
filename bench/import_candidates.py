"""Benchmark of the candidate imports: an N-row sheet and an M-photo zip, end to end.

    python bench/import_candidates.py [--rows N] [--photos M]   (defaults 10000 and 2000)

Builds everything in a temporary directory: a fresh SQLite database (migrations, reference
data, the demo schools), a sheet of N valid, distinct candidates written as the template
writes it (the ID column as text) and a zip of M photos (600×800 JPEGs of about 100 KB).
Then it times, each including its commit:
  - importer.import_rows: read the sheet, check every row, insert, audit;
  - photos.import_photos: read the zip, decode and re-encode on both cores, store, update, audit.
Targets on the 2-core machine (issue 5): 10,000 rows < 3 s; 2,000 photos < 15 s.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW_TARGET = (10_000, 3.0)
PHOTO_TARGET = (2_000, 15.0)


def id_numbers(count: int) -> list[str]:
    """Valid, distinct 居民身份证 numbers: one birth date per row over ten years, then the next sequence."""
    from examadmin.core import idcard

    regions = ["500106", "500107", "510104", "110101"]
    numbers = []
    for i in range(count):
        born = date(1996, 1, 1) + timedelta(days=i % 3650)
        first17 = f"{regions[i % len(regions)]}{born:%Y%m%d}{700 + i // 3650:03d}"
        numbers.append(first17 + idcard.check_char(first17))
    return numbers


def write_sheet(path: Path, numbers: list[str]) -> None:
    import xlsxwriter

    headers = ["姓名", "证件类型", "证件号码", "性别", "民族", "手机号码", "考生类型", "专业代码", "专业名称", "班级",
               "学号", "入学年份"]
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("考生信息")
    text = workbook.add_format({"num_format": "@"})
    sheet.set_column(2, 2, 22, text)
    sheet.write_row(0, 0, headers)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
    for r, number in enumerate(numbers, start=1):
        name = surnames[r % 20] + given[(r * 7) % 20] + given[(r * 13) % 20]
        sheet.write_row(r, 0, [name, "居民身份证"])
        sheet.write_string(r, 2, number)
        sheet.write_row(r, 3, ["", "汉族", f"138{r:08d}", "本校考生", "570116K", "心理健康教育",
                               f"心理{2201 + r % 8}", f"2022{r:05d}", "2022"])
    workbook.close()


def base_photos(count: int = 16) -> list[bytes]:
    """A few distinct colour-noise portraits, 600×800, about 100 KB as JPEG."""
    from PIL import Image

    rng = random.Random(5)
    out = []
    for _ in range(count):
        channels = [Image.effect_noise((120, 160), rng.randint(35, 60)) for _ in range(3)]
        portrait = Image.merge("RGB", channels).resize((600, 800), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        portrait.save(buffer, "JPEG", quality=75)
        out.append(buffer.getvalue())
    return out


def write_zip(path: Path, numbers: list[str]) -> float:
    """The photos named by ID number; each file differs (a JPEG comment) though a few images repeat."""
    bases = base_photos()
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, number in enumerate(numbers):
            base = bases[i % len(bases)]
            comment = f"photo {i}".encode()
            data = base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]
            total += len(data)
            zf.writestr(f"{number}.jpg", data)
    return total / max(len(numbers), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROW_TARGET[0])
    parser.add_argument("--photos", type=int, default=PHOTO_TARGET[0])
    args = parser.parse_args()
    if args.photos > args.rows:
        parser.error("--photos cannot exceed --rows (each photo belongs to an imported candidate)")

    tmp = Path(tempfile.mkdtemp(prefix="examadmin-bench-"))
    os.environ["EXAMADMIN_INSTANCE"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from examadmin import create_app
    from examadmin.candidates.importer import import_rows
    from examadmin.candidates.models import Candidate
    from examadmin.candidates.photos import import_photos
    from examadmin.catalog.services import seed_reference_data
    from examadmin.core.auth import SYSTEM, User
    from examadmin.demo import load_demo
    from examadmin.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "STORAGE_DIR": str(tmp / "storage"), "HUEY_SQLITE_PATH": str(tmp / "huey.db"),
                      "MAX_PHOTO_FILES": max(5000, args.photos), "MAX_PHOTO_ZIP_MB": max(300, args.photos // 5),
                      "MAX_IMPORT_ROWS": max(50000, args.rows)})
    numbers = id_numbers(args.rows)
    sheet, archive = tmp / "candidates.xlsx", tmp / "photos.zip"
    started = time.perf_counter()
    write_sheet(sheet, numbers)
    average = write_zip(archive, numbers[:args.photos])
    print(f"generated {args.rows} rows ({sheet.stat().st_size / 1e6:.1f} MB) and {args.photos} photos "
          f"(zip {archive.stat().st_size / 1e6:.1f} MB, {average / 1024:.0f} KB each) in "
          f"{time.perf_counter() - started:.1f} s")

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_reference_data(SYSTEM, ROOT / "sample_data")
        load_demo()
        db.session.commit()
        user = db.session.scalar(select(User).where(User.username == "school1"))
        school_id = user.school_id
        before = db.session.scalar(select(func.count()).select_from(Candidate))

        started = time.perf_counter()
        report = import_rows(user, school_id, sheet, file_name=sheet.name)
        db.session.commit()
        rows_s = time.perf_counter() - started
        assert report.imported and report.created == args.rows, report.as_dict()["errors"][:3]
        assert db.session.scalar(select(func.count()).select_from(Candidate)) == before + args.rows

        started = time.perf_counter()
        photos = import_photos(user, school_id, archive, file_name=archive.name)
        db.session.commit()
        photos_s = time.perf_counter() - started
        assert photos.attached == args.photos and not photos.errors, photos.as_dict()["errors"][:3]
        db.session.remove()

    ok_rows = rows_s * ROW_TARGET[0] / max(args.rows, 1) < ROW_TARGET[1]
    ok_photos = photos_s * PHOTO_TARGET[0] / max(args.photos, 1) < PHOTO_TARGET[1]
    print(f"rows:   {args.rows} in {rows_s:.2f} s = {args.rows / rows_s:,.0f} rows/s   "
          f"(target {ROW_TARGET[0]:,} in < {ROW_TARGET[1]:.0f} s: {'met' if ok_rows else 'MISSED'})")
    print(f"photos: {args.photos} in {photos_s:.2f} s = {args.photos / photos_s:,.0f} photos/s   "
          f"(target {PHOTO_TARGET[0]:,} in < {PHOTO_TARGET[1]:.0f} s: {'met' if ok_photos else 'MISSED'})")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if ok_rows and ok_photos else 1


if __name__ == "__main__":
    sys.exit(main())
