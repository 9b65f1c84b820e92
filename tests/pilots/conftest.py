from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from examadmin.catalog.models import Level, Major, SchoolType
from examadmin.core import clock
from examadmin.pilots import services
from examadmin.pilots.services import LineInput
from tests.conftest import make_user, the_certificate


_batches = itertools.count(1)


def make_plan(province_code="50", *, open_now=True, city_review=False, requires_majors=True, year=2026,
              batch=None):
    """A plan of the province; each of its own batch (one plan per province, year and batch)."""
    batch = batch or f"第{next(_batches)}批"
    now = clock.now()
    start, end = (now - timedelta(days=5), now + timedelta(days=5)) if open_now else \
        (now - timedelta(days=30), now - timedelta(days=1))
    actor = make_user("province", province_code=province_code)
    return services.save_plan(actor, {"year": year, "batch": batch, "window_start": start, "window_end": end,
                                      "requires_majors": requires_majors, "requires_city_review": city_review,
                                      "all_levels": True})


def level(name=Level.JUNIOR):
    return next(lv for lv in the_certificate().levels if lv.level == name)


def major(name="心理健康教育", school_type=SchoolType.HIGHER_VOCATIONAL):
    from examadmin.extensions import db

    return db.session.scalar(select(Major).where(Major.name == name, Major.school_type == school_type))


def apply(school_user, plan, *, lvl=None, lines=None, submit=False):
    lines = lines if lines is not None else [LineInput(major().id, 100, 5, 50, 1)]
    return services.save_application(school_user, plan_id=plan.id, certificate_level_id=(lvl or level()).id,
                                     explanation="测试", lines=lines, submit=submit)

