"""A failed final result makes the person a retaker (第二次报考) at registration: no quota
place is taken and nobody has to mark 是否补考 (issue 11 item 2, issue 9's retake field)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.core.errors import DomainError

from examadmin.catalog.models import Level
from examadmin.extensions import db
from examadmin.pilots.models import ApplicationLine
from examadmin.registrations import services
from examadmin.registrations.models import Registration
from examadmin.scores.models import Result
from examadmin.scores.states import PublicationStage
from tests.registrations.factories import open_plan, ready_school, verified
from tests.scores.factories import set_stage


def _earlier_result(school, candidate, *, passed: bool, stage: PublicationStage) -> None:
    earlier = open_plan()
    [reg_id] = services.register_candidates(school.user, earlier.id, school.sites[Level.JUNIOR].id, [candidate.id], [])
    reg = db.session.get(Registration, reg_id)
    db.session.add(Result(registration_id=reg.id, plan_id=earlier.id, school_id=reg.school_id,
                          certificate_level_id=reg.certificate_level_id, id_type=reg.id_type,
                          id_number=reg.id_number, passed=passed))
    set_stage(earlier.id, stage)


def _register_again(school, candidate) -> Registration:
    [reg_id] = services.register_candidates(school.user, school.plan.id, school.sites[Level.JUNIOR].id,
                                            [candidate.id], [])
    return db.session.get(Registration, reg_id)


def test_a_failed_final_result_registers_as_a_retake_without_a_place():
    school = ready_school({"心理健康教育": 5})
    student = verified(school.user)
    _earlier_result(school, student, passed=False, stage=PublicationStage.FINAL)
    line = school.lines["心理健康教育"]
    used_before = db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == line.id))
    again = _register_again(school, student)
    assert again.is_retake and again.retake_basis.value == "成绩记录" and again.quota_line_id is None
    assert db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == line.id)) == used_before


@pytest.mark.parametrize("passed,stage", [(True, PublicationStage.DISPLAY), (False, PublicationStage.DISPLAY)])
def test_a_result_not_yet_final_does_not_make_a_retake(passed, stage):
    school = ready_school({"心理健康教育": 5})
    student = verified(school.user)
    _earlier_result(school, student, passed=passed, stage=stage)
    again = _register_again(school, student)
    assert not again.is_retake and again.quota_line_id is not None


def test_a_final_pass_refuses_registering_the_same_level_again():
    school = ready_school({"心理健康教育": 5})
    student = verified(school.user, name="已通过者")
    _earlier_result(school, student, passed=True, stage=PublicationStage.FINAL)
    with pytest.raises(DomainError, match="已通过者.*已通过初级考核"):
        _register_again(school, student)
