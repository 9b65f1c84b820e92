"""The demo shows the hours rule at 中级 registration: school 5150000001 has an approved 中级 site and 吴桐
no verified 督导 or 实践 hours; 报考 for 中级 on the open plan refuses 吴桐 naming the missing hours, and
registers once the org sets 中级 to 提醒."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examadmin.candidates.models import Candidate
from examadmin.catalog.models import Level
from examadmin.core.auth import find_user
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours.models import HoursRecord
from examadmin.registrations import services as registrations
from examadmin.sites.models import ExamSite


def test_the_demo_lets_a_newcomer_see_the_hours_rule_at_middle_registration(cli):
    assert cli.invoke(args=["demo"]).exit_code == 0
    school = find_user("school1")
    plan = registrations.open_plans(school)[0]
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.school_id,
                                                    ExamSite.certificate_level.has(level=Level.MIDDLE)))
    assert site is not None and site.usable
    assert site in registrations.usable_sites(school)
    people = {c.name: c for c in db.session.scalars(select(Candidate).where(Candidate.school_id == school.school_id))}
    with pytest.raises(DomainError) as refused:
        registrations.register_candidates(school, plan.id, site.id, [people["吴桐"].id])
    assert "吴桐" in refused.value.message
    assert "督导学时已核验 0 小时，中级报考要求 50 小时，尚差 50 小时" in refused.value.message
    assert "实践学时已核验 0 小时，中级报考要求 125 小时，尚差 125 小时" in refused.value.message
    from examadmin.hours import requirements

    requirements.save_requirement(find_user("org"), site.certificate_level_id, "", "", "提醒")
    warnings: list[str] = []
    assert len(registrations.register_candidates(school, plan.id, site.id, [people["吴桐"].id],
                                                 warnings=warnings)) == 1
    assert "尚差 50 小时" in warnings[0]
    rows = db.session.scalar(select(func.count()).select_from(HoursRecord))
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent: no second site, no hours twice
    assert db.session.scalar(select(func.count()).select_from(HoursRecord)) == rows
    assert db.session.scalar(select(func.count()).select_from(ExamSite).where(
        ExamSite.school_id == school.school_id, ExamSite.certificate_level.has(level=Level.MIDDLE))) == 1
