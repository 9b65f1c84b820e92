"""Results are computed from scores: every subject must reach its pass mark; marks fail; retakers."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from examadmin.extensions import db
from examadmin.scores import results, services
from examadmin.scores.models import Result
from examadmin.scores.states import PublicationStage
from tests.scores.factories import make_scored_setup, set_stage


def _enter(s, registration, values):
    """values: one (score, absent, violation) per subject of the setup."""
    changes = [services.Change(registration.id, subject.id, registration.school_id,
                               None if v[0] is None else Decimal(v[0]), v[1], v[2])
               for subject, v in zip(s.subjects, values)]
    services._write(s.org, s.plan.id, changes, None, reason="", source="测试")


def _result(registration) -> Result | None:
    return db.session.scalar(select(Result).where(Result.registration_id == registration.id))


@pytest.mark.parametrize("values, passed, total", [
    ([("60", False, False), ("100", False, False)], True, Decimal("160.0")),      # pass mark reached exactly
    ([("59.9", False, False), ("100", False, False)], False, Decimal("159.9")),   # one subject below its pass mark
    ([(None, True, False), ("90", False, False)], False, None),                  # 缺考 fails it
    ([("95", False, True), ("90", False, False)], False, None),                  # 违纪 fails it, whatever the score
    ([("80", False, False), (None, False, False)], None, None),                  # a subject not entered: open
])
def test_a_level_is_passed_when_every_subject_reaches_its_pass_mark(values, passed, total):
    s = make_scored_setup(people=1)
    _enter(s, s.registrations[0], values)
    result = _result(s.registrations[0])
    assert result is not None
    assert result.passed is passed
    assert result.total == total
    assert result.id_number == s.registrations[0].id_number


def test_an_absence_marked_at_check_in_counts_before_anything_is_entered():
    s = make_scored_setup(people=1)
    s.seat(s.registrations[0], s.subjects[0]).absent = True
    _enter(s, s.registrations[0], [(None, False, False), ("99", False, False)])
    assert _result(s.registrations[0]).passed is False


def test_a_correction_recomputes_the_result_in_place():
    s = make_scored_setup(people=1)
    _enter(s, s.registrations[0], [("50", False, False), ("70", False, False)])
    first = _result(s.registrations[0])
    assert first.passed is False
    _enter(s, s.registrations[0], [("65", False, False), ("70", False, False)])
    again = _result(s.registrations[0])
    assert again.id == first.id and again.passed is True and again.total == Decimal("135.0")


def test_recompute_is_set_based_over_many_registrations():
    s = make_scored_setup(people=4)
    for reg in s.registrations:
        _enter(s, reg, [("70", False, False), ("70", False, False)])
    db.session.execute(Result.__table__.delete())
    assert results.recompute(r.id for r in s.registrations) == 4
    assert all(_result(r).passed for r in s.registrations)


def test_only_a_failed_result_of_a_final_plan_makes_a_retaker():
    s = make_scored_setup(people=2)
    failed, passed = s.registrations
    _enter(s, failed, [("10", False, False), ("70", False, False)])
    _enter(s, passed, [("70", False, False), ("70", False, False)])
    level = failed.certificate_level_id
    assert results.is_retaker(failed.id_type, failed.id_number, level) is False   # still 成绩登记中
    set_stage(s.plan.id, PublicationStage.DISPLAY)
    assert results.is_retaker(failed.id_type, failed.id_number, level) is False   # display is not final
    set_stage(s.plan.id, PublicationStage.FINAL)
    assert results.is_retaker(failed.id_type, failed.id_number, level) is True
    assert results.is_retaker(passed.id_type, passed.id_number, level) is False
    other_level = level + 1
    assert results.is_retaker(failed.id_type, failed.id_number, other_level) is False
