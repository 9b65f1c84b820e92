"""The registration rules (DOMAIN.md §6, issue 9 items 1-3): each refusal names the candidate
and the reason; school students who are not retakers take one place of their major's line."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.pilots.models import ApplicationLine
from examadmin.registrations import services
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.sites import services as sites
from tests.hours.factories import enough_hours
from tests.registrations.factories import later, open_plan, ready_school, verified
from tests.sites.factories import make_user

S = RegistrationState


def register(school, candidates, level=Level.JUNIOR, retakes=()):
    return services.register_candidates(school.user, school.plan.id, school.sites[level].id,
                                        [c.id for c in candidates], [c.id for c in retakes])


def used(line) -> int:
    return db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == line.id))


def test_a_student_takes_one_place_of_the_line_of_their_major_and_the_fee_of_the_level():
    school = ready_school()
    student = verified(school.user, major_name="护理")
    [reg_id] = register(school, [student])
    registration = db.session.get(Registration, reg_id)
    assert registration.state == S.UNPAID and registration.fee == 300
    assert registration.quota_line_id == school.lines["护理"].id
    assert used(school.lines["护理"]) == 1 and used(school.lines["心理健康教育"]) == 0
    assert (registration.id_number, registration.kind.value) == (student.id_number, "本校考生")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "registration",
                                                     AuditLog.entity_id == reg_id))
    assert entry.action == "registration.create" and student.id_number not in str(entry.after)
    assert [s.subject.level for s in services.level_subjects(school.plan, registration.certificate_level_id)] \
        == [Level.JUNIOR]


def test_a_candidate_not_yet_accurate_is_refused_with_the_platform_warning():
    school = ready_school()
    pending = verified(school.user, name="未认证生", state=CandidateState.PENDING)
    with pytest.raises(DomainError) as exc:
        register(school, [pending])
    assert "未认证生" in exc.value.message and "信息准确" in exc.value.message
    assert services.PLATFORM_WARNING in exc.value.message
    assert used(school.lines["心理健康教育"]) == 0


def test_outside_the_window_the_refusal_shows_the_window(monkeypatch):
    school = ready_school()
    student = verified(school.user)
    moment = later(11)
    monkeypatch.setattr(clock, "now", lambda: moment)
    with pytest.raises(DomainError) as exc:
        register(school, [student])
    plan = school.plan
    assert f"{plan.registration_start:%Y-%m-%d %H:%M} 至 {plan.registration_end:%Y-%m-%d %H:%M}" in exc.value.message


def test_a_disabled_site_or_another_schools_site_is_refused():
    school = ready_school()
    student = verified(school.user, name="站点生")
    sites.disable_site(make_user("org"), school.sites[Level.JUNIOR].id, "设备检修")
    with pytest.raises(DomainError) as exc:
        register(school, [student])
    assert "站点生" in exc.value.message and "已停用" in exc.value.message
    other = ready_school()
    with pytest.raises(DomainError) as exc:
        services.register_candidates(school.user, school.plan.id, other.sites[Level.MIDDLE].id, [student.id])
    assert "本校的考核站点" in exc.value.message


def test_a_level_the_plan_does_not_hold_is_refused():
    junior_only = open_plan(levels=(Level.JUNIOR,))
    school = ready_school(plan=junior_only)
    student = verified(school.user, name="中级生")
    with pytest.raises(DomainError) as exc:
        register(school, [student], level=Level.MIDDLE, retakes=[student])
    assert "中级生" in exc.value.message and "没有中级的考试" in exc.value.message


def test_one_registration_per_person_plan_and_level_across_schools_and_in_the_database():
    school = ready_school()
    other = ready_school(plan=school.plan)
    student = verified(school.user, name="双校生")
    same_person = verified(other.user, name="双校生", number=student.id_number)
    register(school, [student])
    with pytest.raises(DomainError) as exc:
        register(school, [student])
    assert "已在本校报考" in exc.value.message
    with pytest.raises(DomainError) as exc:
        register(other, [same_person])
    assert "双校生" in exc.value.message and "已在其他院校报考" in exc.value.message
    enough_hours(same_person)  # 中级 asks verified supervision and practice hours (tests/hours)
    register(other, [same_person], level=Level.MIDDLE, retakes=[same_person])  # another level is fine
    first = db.session.scalar(select(Registration).where(Registration.candidate_id == student.id))
    row = {c.name: getattr(first, c.name) for c in Registration.__table__.columns if c.name != "id"}
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(insert(Registration), [{**row, "school_id": other.school_id,
                                                       "candidate_id": same_person.id}])


def test_a_cancelled_registration_no_longer_blocks_a_new_one():
    school = ready_school()
    student = verified(school.user)
    [reg_id] = register(school, [student])
    services.cancel_registration(school.user, reg_id)
    register(school, [student])
    assert used(school.lines["心理健康教育"]) == 1


def test_a_major_without_an_approved_line_is_refused_saying_so():
    school = ready_school({"心理健康教育": 3})
    nurse = verified(school.user, name="护理生", major_name="护理")
    with pytest.raises(DomainError) as exc:
        register(school, [nurse])
    message = exc.value.message
    assert "护理生" in message and "专业代码、版本号、名称、层次" in message and "社会考生" in message


def test_no_place_left_refuses_the_students_beyond_by_name_and_registers_nobody():
    school = ready_school({"心理健康教育": 2})
    a, b, c = (verified(school.user, name=n) for n in ("甲生", "乙生", "丙生"))
    with pytest.raises(DomainError) as exc:
        register(school, [a, b, c])
    assert "丙生" in exc.value.message and "指标已用完" in exc.value.message and "社会考生" in exc.value.message
    assert "甲生" not in exc.value.message
    assert db.session.scalar(select(Registration.id).where(Registration.school_id == school.school_id)) is None
    assert used(school.lines["心理健康教育"]) == 0


def test_retakers_and_social_candidates_take_no_place():
    school = ready_school({"心理健康教育": 1})
    first, retaker = verified(school.user), verified(school.user, name="补考生")
    social = verified(school.user, name="社会生", kind="社会考生")
    ids = register(school, [first, retaker, social], retakes=[retaker])
    rows = {r.candidate_id: r for r in db.session.scalars(select(Registration).where(Registration.id.in_(ids)))}
    assert used(school.lines["心理健康教育"]) == 1
    assert rows[retaker.id].is_retake and rows[retaker.id].retake_basis.value == "学校标记"
    assert rows[retaker.id].quota_line_id is None and rows[social.id].quota_line_id is None
    assert rows[social.id].kind.value == "社会考生" and not rows[social.id].is_retake


def test_a_failed_result_known_to_the_system_makes_a_retake(monkeypatch):
    school = ready_school({"心理健康教育": 1})
    known = verified(school.user, name="曾未通过")
    monkeypatch.setattr(services, "RETAKE_SOURCES",
                        [lambda plan, level_id, persons: {(known.id_type, known.id_number)}])
    [reg_id] = register(school, [known])
    registration = db.session.get(Registration, reg_id)
    assert registration.is_retake and registration.retake_basis.value == "成绩记录"
    assert registration.quota_line_id is None and used(school.lines["心理健康教育"]) == 0


def test_cancelling_gives_the_place_back_and_is_audited():
    school = ready_school({"心理健康教育": 1})
    student = verified(school.user)
    [reg_id] = register(school, [student])
    assert used(school.lines["心理健康教育"]) == 1
    services.cancel_registration(school.user, reg_id, "考生放弃")
    registration = db.session.get(Registration, reg_id)
    assert registration.state == S.CANCELLED and registration.quota_line_id is None
    assert registration.cancel_reason == "考生放弃" and registration.ended_at is not None
    assert used(school.lines["心理健康教育"]) == 0
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.entity_type == "registration",
                                                           AuditLog.entity_id == reg_id,
                                                           AuditLog.action == "registration.cancel"))
    with pytest.raises(DomainError):
        services.cancel_registration(school.user, reg_id)


def test_after_scheduling_only_the_org_cancels_and_must_give_a_reason():
    school = ready_school({"心理健康教育": 1})
    student = verified(school.user)
    [reg_id] = register(school, [student])
    registration = db.session.get(Registration, reg_id)
    registration.state = S.SCHEDULED  # seat scheduling (issue 10) moves it there
    db.session.flush()
    with pytest.raises(DomainError) as exc:
        services.cancel_registration(school.user, reg_id, "想取消")
    assert "只有评价组织" in exc.value.message
    org = make_user("org")
    with pytest.raises(DomainError) as exc:
        services.cancel_registration(org, reg_id, "")
    assert "原因" in exc.value.message
    services.cancel_registration(org, reg_id, "考生身体原因，经审核同意")
    assert db.session.get(Registration, reg_id).state == S.CANCELLED
    assert used(school.lines["心理健康教育"]) == 0


def test_another_school_cannot_cancel_or_see_a_registration():
    school, other = ready_school(), ready_school()
    [reg_id] = register(school, [verified(school.user)])
    from werkzeug.exceptions import NotFound

    with pytest.raises(NotFound):
        services.cancel_registration(other.user, reg_id)
    with pytest.raises(NotFound):
        services.register_candidates(other.user, school.plan.id, other.sites[Level.JUNIOR].id,
                                     [db.session.get(Registration, reg_id).candidate_id])


def test_a_deleted_candidate_cannot_be_registered():
    from examadmin.candidates import services as candidates

    school = ready_school()
    gone = verified(school.user, name="已删除生")
    candidates.hide_candidate(school.user, gone.id)
    with pytest.raises(DomainError) as exc:
        register(school, [gone])
    assert "已删除生" in exc.value.message and "本校没有该考生" in exc.value.message


def test_a_registration_in_an_open_payment_order_is_cancelled_only_after_the_order_is_withdrawn():
    from examadmin.registrations.models import PaymentKind, PaymentOrder
    from examadmin.registrations.states import PaymentState

    school = ready_school()
    [reg_id] = register(school, [verified(school.user, name="订单生")])
    order = PaymentOrder(reference="JFTEST0001", plan_id=school.plan.id, school_id=school.school_id,
                         kind=PaymentKind.SCHOOL, amount=300, state=PaymentState.SUBMITTED)
    db.session.add(order)
    db.session.flush()
    db.session.get(Registration, reg_id).payment_order_id = order.id
    db.session.flush()
    with pytest.raises(DomainError) as exc:
        services.cancel_registration(school.user, reg_id)
    assert "JFTEST0001" in exc.value.message and "撤销" in exc.value.message
    order.state = PaymentState.WITHDRAWN
    db.session.flush()
    assert services.cancel_registration(school.user, reg_id).state == S.CANCELLED


def test_a_draft_plan_is_not_found_by_a_school():
    from werkzeug.exceptions import NotFound

    from tests.exams.factories import make_plan

    school = ready_school()
    draft = make_plan(publish=False)
    with pytest.raises(NotFound):
        services.register_candidates(school.user, draft.id, school.sites[Level.JUNIOR].id,
                                     [verified(school.user).id])


def test_a_site_approved_for_another_certificates_level_is_refused_naming_the_site():
    from examadmin.catalog import services as catalog
    from examadmin.core.auth import SYSTEM
    from tests.sites.factories import make_site

    school = ready_school()
    other = catalog.save_certificate(SYSTEM, {"code": "T-R3", "name": "别的证书", "org_name": "某组织"})
    catalog.add_level(SYSTEM, other.id, "初级")
    foreign = make_site(school.user, certificate=other)  # approved and enabled, but for the other certificate
    student = verified(school.user, name="别证书生")
    with pytest.raises(DomainError) as exc:
        services.register_candidates(school.user, school.plan.id, foreign.id, [student.id])
    assert "别证书生" in exc.value.message
    assert f"考核站点「{foreign.name}」不是考试计划「{school.plan.name}」的证书的站点" in exc.value.message
    assert used(school.lines["心理健康教育"]) == 0
    assert db.session.scalar(select(Registration.id).where(Registration.candidate_id == student.id)) is None
