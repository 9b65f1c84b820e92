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
