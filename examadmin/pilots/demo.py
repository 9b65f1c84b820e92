"""Demo data of pilot applications: the 2023 provincial windows moved around today, and
one approved application of the first demo school so that the quota ledger has rows."""
from __future__ import annotations

import csv
from datetime import date, datetime

from sqlalchemy import select

from ..catalog.models import Level, Major, Province
from ..config import ROOT
from ..core import clock
from ..core.auth import User, find_user
from ..extensions import db
from . import services
from .models import Application, ApplicationPlan
from .services import LineInput

#: the day of 2023 that the demo's "today" corresponds to: Chongqing's window is open then,
#: Sichuan's opens the next day and Shanxi's has weeks to run
ANCHOR = date(2023, 3, 1)
BATCH = "第一批"


def load_plans() -> None:
    today = clock.now().date()
    shift = today - ANCHOR
    provinces = {p.authority: p for p in db.session.scalars(select(Province))}
    with open(ROOT / "sample_data" / "pilot-windows-2023.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            province = provinces.get(row["authority"])
            if province is None:
                continue
            exists = db.session.scalar(select(ApplicationPlan).where(
                ApplicationPlan.province_id == province.id, ApplicationPlan.year == today.year,
                ApplicationPlan.batch == BATCH))
            if exists:
                continue
            start = datetime.fromisoformat(row["window_start"]) + shift
            end = datetime.fromisoformat(row["window_end"]) + shift
            actor = _province_actor(province)
            services.save_plan(actor, {
                "year": today.year, "batch": BATCH, "window_start": start, "window_end": end,
                "requires_majors": True, "requires_city_review": province.code == "50", "all_levels": True,
            })


class _ProvinceActor:
    """A province's own staff publishes its plans; provinces without a demo account get this."""

    role = "province"
    id = None
    name = "省级教育行政部门（演示）"
    city_id = school_id = None

    def __init__(self, province: Province):
        self.province_id = province.id
        self.is_authenticated = True


def _province_actor(province: Province):
    user = db.session.scalar(select(User).where(User.role == "province", User.province_id == province.id,
                                                User.active.is_(True)).order_by(User.id))
    return user or _ProvinceActor(province)


def load_approved_application() -> None:
    """School 5150000001: an approved 中级 application with two majors."""
    school_user = find_user("school1")
    plan = db.session.scalar(select(ApplicationPlan).where(
        ApplicationPlan.province_id == school_user.province_id, ApplicationPlan.batch == BATCH)
        .order_by(ApplicationPlan.year.desc()))
    level = next(lv for lv in services.open_levels(plan) if lv.level == Level.MIDDLE)
    if db.session.scalar(select(Application).where(Application.school_id == school_user.school_id,
                                                   Application.year == plan.year,
                                                   Application.certificate_level_id == level.id)):
        return
    majors = {m.name: m for m in db.session.scalars(select(Major).where(
        Major.school_type == school_user.school.type))}
    app = services.save_application(
        school_user, plan_id=plan.id, certificate_level_id=level.id,
        explanation="心理健康教育、护理专业学生参加中级培训。", submit=True,
        lines=[LineInput(majors["心理健康教育"].id, 120, 8, 60, 1), LineInput(majors["护理"].id, 300, 15, 40, 2)])
    services.pass_to_province(find_user("cq_city"), app.id)
    services.approve_application(find_user("cq_province"), app.id,
                                 {app.lines[0].id: 50, app.lines[1].id: 40})


def load_demo() -> None:
    load_plans()
    db.session.flush()
    load_approved_application()
