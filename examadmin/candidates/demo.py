"""Demo candidates of school 5150000001, and the candidate account linked to the first one."""
from __future__ import annotations

from sqlalchemy import select

from ..core import audit, idcard
from ..core.auth import User, find_user
from ..extensions import db
from . import services
from .models import Candidate

#: (name, birth date, male, major code, major name, class, kind)
PEOPLE = [
    ("陈同学", "20040315", False, "570116K", "心理健康教育", "心理2201", "本校考生"),
    ("刘明", "20031108", True, "570116K", "心理健康教育", "心理2201", "本校考生"),
    ("黄晓雯", "20040521", False, "570116K", "心理健康教育", "心理2202", "本校考生"),
    ("周杰", "20030930", True, "520201", "护理", "护理2203", "本校考生"),
    ("吴桐", "20040102", False, "520201", "护理", "护理2203", "本校考生"),
    ("郑海", "19900716", True, "", "", "", "社会考生"),
]


def demo_id(born: str, male: bool, index: int) -> str:
    first17 = f"500106{born}{(index * 2 + (1 if male else 0)) % 1000:03d}"
    return first17 + idcard.check_char(first17)


def portrait(name: str, male: bool) -> bytes:
    """A drawn ID-style portrait (JPEG): demo people have no real photo, and the
    verification refuses a candidate without one."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (358, 441), (236, 242, 250))
    draw = ImageDraw.Draw(image)
    tone = (196, 160, 130) if male else (214, 178, 150)
    draw.ellipse((64, 300, 294, 560), fill=(40, 70, 120) if male else (150, 60, 80))  # shoulders
    draw.rectangle((154, 250, 204, 320), fill=tone)  # neck
    draw.ellipse((109, 90, 249, 270), fill=tone)  # face
    draw.chord((101, 70, 257, 210), 180, 360, fill=(30, 30, 30))  # hair
    out = BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def give_photos(school_user) -> int:
    """Photos for the demo people who have none, through the real zip import."""
    import tempfile
    import zipfile

    from .photos import import_photos

    missing = db.session.scalars(select(Candidate).where(
        Candidate.school_id == school_user.school_id, Candidate.photo_key.is_(None),
        Candidate.name.in_([p[0] for p in PEOPLE]))).all()
    if not missing:
        return 0
    males = {p[0]: p[2] for p in PEOPLE}
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/photos.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for candidate in missing:
                zf.writestr(f"{candidate.id_number}.jpg", portrait(candidate.name, males[candidate.name]))
        report = import_photos(school_user, school_user.school_id, path, file_name="演示照片.zip")
    return len(missing) if report.ok else 0


def load_demo() -> None:
    school_user = find_user("school1")
    for index, (name, born, male, code, major, class_name, kind) in enumerate(PEOPLE, start=1):
        number = demo_id(born, male, index * 7)
        exists = db.session.scalar(select(Candidate).where(Candidate.school_id == school_user.school_id,
                                                           Candidate.id_number == number))
        if exists is None:
            services.add_candidate(school_user, {
                "name": name, "id_type": "居民身份证", "id_number": number, "ethnicity": "汉族",
                "phone": f"1380000{index:04d}", "kind": kind, "major_code": code, "major_name": major,
                "class_name": class_name, "student_number": f"2022{index:03d}" if code else "",
                "enrolment_year": "2022" if code else "",
            })
    account = db.session.scalar(select(User).where(User.username == "candidate"))
    first = db.session.scalar(select(Candidate).where(Candidate.school_id == school_user.school_id,
                                                      Candidate.name == PEOPLE[0][0]))
    if account is not None and account.candidate_id is None:
        account.candidate_id = first.id
        audit.record(None, "user.update", account, after={"candidate_id": first.id})
    give_photos(school_user)
