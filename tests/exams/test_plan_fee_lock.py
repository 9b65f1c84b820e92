"""A published plan's fee per level, and its certificate, are fixed once anyone registered for
it (a change would charge two prices for one exam); a ticket window that misses the last session
is saved with a warning."""
from __future__ import annotations

from decimal import Decimal

import pytest

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core.errors import DomainError
from examadmin.exams.models import ExamPlan
from examadmin.exams.services import plans
from examadmin.extensions import db
from examadmin.registrations import services as registrations
from examadmin.registrations.models import Registration
from tests.conftest import login_as
from tests.exams.factories import make_plan, make_subject
from tests.registrations.factories import ready_school, verified
from tests.sites.factories import make_user

J, M = Level.JUNIOR, Level.MIDDLE


def _data(plan: ExamPlan, **overrides) -> dict:
    fee = {lv: plan.fee_for(lv) for lv in Level}
    return {"name": plan.name, "certificate_id": plan.certificate_id,
            "registration_start": plan.registration_start.strftime("%Y-%m-%d %H:%M"),
            "registration_end": plan.registration_end.strftime("%Y-%m-%d %H:%M"),
            "payment_deadline": plan.payment_deadline.strftime("%Y-%m-%d %H:%M"),
            "ticket_start": plan.ticket_start.strftime("%Y-%m-%d %H:%M"),
            "ticket_end": plan.ticket_end.strftime("%Y-%m-%d %H:%M"),
            "fee_junior": str(fee[J] or ""), "fee_middle": str(fee[M] or ""),
            "fee_senior": str(fee[Level.SENIOR] or ""), **overrides}


def _registered(names=("费甲",)):
    school = ready_school()
    people = [verified(school.user, name=n) for n in names]
    ids = registrations.register_candidates(school.user, school.plan.id, school.sites[J].id, [p.id for p in people])
    return school, [db.session.get(Registration, i) for i in ids]


def test_a_registered_levels_fee_cannot_change_and_names_the_level_and_count():
    school, [reg, _] = _registered(("费甲", "费乙"))
    org = make_user("org")
    with pytest.raises(DomainError, match=r"初级已有 2 条报考.*报考费用不能再修改（当前 300.00 元）") as exc:
        plans.save_plan(org, _data(school.plan, fee_junior="350"), school.plan.id)
    assert exc.value.field == "fee_junior"
    with pytest.raises(DomainError, match="初级已有 2 条报考"):
        plans.save_plan(org, _data(school.plan, fee_junior=""), school.plan.id)  # removing it is a change too
    db.session.refresh(school.plan)
    assert school.plan.fee_for(J) == Decimal("300.00") and reg.fee == Decimal("300.00")
    # the same amount written differently, another level's fee and the windows still save
    saved = plans.save_plan(org, _data(school.plan, fee_junior="300.0", fee_middle="450"), school.plan.id)
    assert saved.fee_for(J) == Decimal("300.00") and saved.fee_for(M) == Decimal("450.00")


def test_a_cancelled_registration_still_fixes_the_fee():
    school, [reg] = _registered()
    registrations.cancel_registration(school.user, reg.id)
    with pytest.raises(DomainError, match="初级已有 1 条报考（含已取消、已放弃）"):
        plans.save_plan(make_user("org"), _data(school.plan, fee_junior="1"), school.plan.id)


def test_the_certificate_cannot_change_once_registered():
    school, _ = _registered()
    other = catalog.save_certificate(make_user("sysadmin"), {"code": "XX-2", "name": "另一职业技能等级证书",
                                                             "org_name": "某评价组织"})
    with pytest.raises(DomainError, match=r"已有 1 条报考，不能更换证书") as exc:
        plans.save_plan(make_user("org"), _data(school.plan, certificate_id=other.id), school.plan.id)
    assert exc.value.field == "certificate_id"


def test_without_registrations_the_fee_still_changes():
    plan = make_plan([(make_subject(J), "09:00", "11:00")])
    saved = plans.save_plan(make_user("org"), _data(plan, fee_junior="350"), plan.id)
    assert saved.fee_for(J) == Decimal("350.00")


def test_the_plan_form_shows_the_registered_fee_locked_with_the_reason(client):
    school, _ = _registered(("表甲", "表乙", "表丙"))
    db.session.commit()
    login_as(client, make_user("org"))
    body = client.get(f"/exams/plans/{school.plan.id}/edit").get_data(as_text=True)
    junior = body.split('id="fee_junior"', 1)[0].rsplit("<input", 1)[1] + body.split('id="fee_junior"', 1)[1].split(">", 1)[0]
    assert "readonly" in junior
    assert "初级已有 3 条报考，报考费用已锁定" in body
    middle = body.split('id="fee_middle"', 1)[1].split(">", 1)[0]
    assert "readonly" not in middle
    response = client.post(f"/exams/plans/{school.plan.id}/edit", data=_data(school.plan, fee_junior="350"))
    assert "初级已有 3 条报考" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ExamPlan, school.plan.id).fee_for(J) == Decimal("300.00")


# ---- C: the ticket window against the last session --------------------------------------

def test_a_ticket_window_ending_before_the_last_session_day_saves_with_a_warning(client):
    plan = make_plan([(make_subject(J), "09:00", "11:00")], publish=False)  # exam 2030-06-20
    org = make_user("org")
    warnings: list[str] = []
    saved = plans.save_plan(org, _data(plan, ticket_end="2030-06-19 18:00"), plan.id, warnings)
    assert saved.ticket_end.day == 19
    assert len(warnings) == 1 and "准考证下载截止时间（2030-06-19 18:00）早于最后一场考试的日期" in warnings[0]
    warnings.clear()
    plans.save_plan(org, _data(plan, ticket_end="2030-06-20 08:00"), plan.id, warnings)
    assert warnings == []  # ends on the exam day: nothing to say
    db.session.commit()
    login_as(client, org)
    response = client.post(f"/exams/plans/{plan.id}/edit", data=_data(plan, ticket_end="2030-06-18 18:00"),
                           follow_redirects=True)
    assert "提醒：准考证下载截止时间（2030-06-18 18:00）早于最后一场考试的日期" in response.get_data(as_text=True)


def test_adding_a_session_after_the_ticket_window_warns():
    plan = make_plan([(make_subject(J), "09:00", "11:00")], publish=False)  # tickets until 2030-06-22
    warnings: list[str] = []
    plans.add_session(make_user("org"), plan.id, {"date": "2030-06-25", "start_time": "09:00", "end_time": "11:00",
                                                  "subject_id": make_subject(M).id}, warnings)
    assert len(warnings) == 1 and "早于最后一场考试的日期" in warnings[0] and "2030-06-25" in warnings[0]


def test_a_ticket_window_starting_after_the_last_session_day_is_named():
    plan = make_plan([(make_subject(J), "09:00", "11:00")], publish=False)
    found = plans.ticket_window_warnings({"ticket_start": plan.ticket_start.replace(day=21),
                                          "ticket_end": plan.ticket_end}, plan.sessions)
    assert len(found) == 1 and "准考证下载开始时间" in found[0] and "晚于最后一场考试的日期" in found[0]
