"""The demo's hours: the `candidate` account (陈同学) has recorded hours in the portal, one verified
by school1, one returned by the org with a reason, one waiting, so that 我的学时 and 学时审核 show
each state. School 5150000001 gets an approved 中级 site, so that 报考 for 中级 on the open plan shows
the hours rule: 吴桐 (no verified 督导 or 实践 hours) is refused naming the missing hours. 郑海, the social
candidate who passed 初级, has a training provider's list of his 督导 and 实践 hours imported by school1
(enough for 中级), so that the registration demo registers him for 中级 on the open plan. Through the
services (and their rules); idempotent. (Holders with enough hours for re-registration
come with the renewal demo.)"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..core import clock
from ..core.auth import User, find_user
from ..extensions import db
from . import services
from .models import HoursRecord

#: a one-page PDF standing in for a scanned certificate of attendance
EVIDENCE = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def load_demo() -> dict[str, int]:
    done = _holder_records()
    done["middle_site"] = _middle_site()
    done["provider_list"] = _provider_list()
    return done


def _holder_records() -> dict[str, int]:
    holder = db.session.scalar(select(User).where(User.username == "candidate"))
    school_user, org = find_user("school1"), find_user("org")
    if holder is None or holder.candidate_id is None:
        return {}
    if db.session.scalar(select(HoursRecord.id).where(HoursRecord.candidate_id == holder.candidate_id)):
        return {"hours": 0}
    today = clock.now().date()

    def day(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    verified = services.record_hours(holder, "督导", day(30), "重庆市心理咨询师协会督导中心", "3", "督导记录.pdf", EVIDENCE)
    services.verify_records(school_user, [verified.id])
    returned = services.record_hours(holder, "实践", day(20), "沙坪坝区社区心理服务站", "8", "实践证明.pdf", EVIDENCE)
    services.return_record(org, returned.id, "证明材料缺少服务站盖章，请补充后重新提交")
    # 继续教育 must fall in the current cycle of an issued certificate: 陈同学's was issued today by the
    # certificates demo (the renewals demo dates it back later), so the waiting record is dated today.
    services.record_hours(holder, "继续教育", day(0), "中国心理学会继续教育部", "6", "结业证书.pdf", EVIDENCE)
    return {"hours": 3}


def _middle_site() -> int:
    """An approved 中级 site of school 5150000001, so that 报考 for 中级 on the open plan exercises the
    hours rule (the school already has an approved 中级 application, hence places)."""
    from ..catalog.models import Level, School
    from ..sites import services as sites
    from ..sites.models import ExamSite

    school_user, org = find_user("school1"), find_user("org")
    school = db.session.get(School, school_user.school_id) if school_user and school_user.school_id else None
    junior = db.session.scalar(select(ExamSite).where(ExamSite.school_id == getattr(school, "id", None))
                               .where(ExamSite.certificate_level.has(level=Level.JUNIOR)))
    if school is None or junior is None:
        return 0
    middle = next((lv for lv in junior.certificate_level.certificate.levels if lv.level == Level.MIDDLE), None)
    if middle is None or db.session.scalar(select(ExamSite.id).where(
            ExamSite.school_id == school.id, ExamSite.certificate_level_id == middle.id)):
        return 0
    site = sites.apply_site(school_user, {
        "certificate_level_id": middle.id, "address": junior.address, "contact_name": "张老师",
        "contact_phone": "023-65001234", "computer_rooms": 2, "seats": 80, "has_cameras": True,
        "has_computers": True, "has_network": True, "has_headsets": True, "has_microphones": True,
        "has_partitions": True})
    sites.approve_site(org, site.id)
    return 1


#: 郑海's hours on a training provider's list: (kind, provider, days ago, hours); 督导 50 and 实践 125
#: in all, the standard's minimum for 中级
PROVIDER_LIST_PERSON = "郑海"
PROVIDER_LIST = ([("督导", "重庆市心理咨询师协会督导中心", 200 - 30 * n, "10") for n in range(5)]
                 + [("实践", "沙坪坝区社区心理服务站", 190 - 14 * n, "10") for n in range(12)]
                 + [("实践", "沙坪坝区社区心理服务站", 15, "5")])


def _provider_list() -> int:
    """school1 imports the provider's list of 郑海's hours through the hours import (arriving 已核验)."""
    import tempfile
    from pathlib import Path

    from openpyxl import Workbook

    from ..candidates.models import Candidate
    from .importer import HEADERS, import_rows

    school_user = find_user("school1")
    person = db.session.scalar(select(Candidate).where(
        Candidate.school_id == getattr(school_user, "school_id", None), Candidate.name == PROVIDER_LIST_PERSON,
        Candidate.hidden.is_(False)))
    if person is None or db.session.scalar(select(HoursRecord.id).where(HoursRecord.id_number == person.id_number)):
        return 0
    today = clock.now().date()
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for kind, provider, days_ago, hours in PROVIDER_LIST:
        sheet.append([person.id_number, person.name, kind, (today - timedelta(days=days_ago)).isoformat(),
                      provider, hours])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "学时名单.xlsx"
        book.save(path)
        report = import_rows(school_user, path, file_name="社区心理服务站学时名单.xlsx")
    return report.created if report.imported else 0
