"""A final failed score that a 补考 registration in another plan rests on cannot be corrected to a
pass while that registration is live: the registration would stay a retake (no quota place)
although registering the person again would be refused as 已通过 (the demo's 刘明, 52 → 70).

Scores are entered and published through the real scores services; the second registration is
made by the real registration service, which marks it 补考 from the final failed result."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.registrations import services as registrations
from examadmin.registrations.models import Registration, RetakeBasis
from examadmin.registrations.states import RegistrationState
from examadmin.scores import importer, results, services
from examadmin.scores.models import Result, Score
from examadmin.scores.states import PublicationStage
from tests.registrations.factories import open_plan
from tests.scores.factories import make_scored_setup, set_stage

REASON = "复核发现漏判"


def _room(s):
    return s.seat(s.registrations[0], s.subjects[0]).room_id


def _seats(s) -> dict[int, int]:
    return {r.registration_id: r.seat_id for r in services.entry_grid(s.org, s.plan.id, _room(s))[2]}


def _published(first: dict | None = None):
    """A held exam of one subject (pass mark 60): the first person failed (52 unless told), the
    second passed with 80; display run and results final."""
    s = make_scored_setup(people=2, subjects=1)
    failed, passed = s.registrations
    seats = _seats(s)
    services.save_grid(s.org, s.plan.id, _room(s), {seats[failed.id]: first or {"score": "52"},
                                                     seats[passed.id]: {"score": "80"}})
    services.open_display(s.org, s.plan.id, 1)
    with mock.patch("examadmin.core.clock.now", return_value=clock.now() + timedelta(days=2)):
        services.publish_final(s.org, s.plan.id)
    return s


def _retake_elsewhere(s, registration) -> Registration:
    """The school registers the failed person for a later plan: 补考 on the basis of the result."""
    later = open_plan(levels=(Level.JUNIOR,), name="2030年第4次全国统考")
    [reg_id] = registrations.register_candidates(s.school_user, later.id, s.site.id, [registration.candidate_id])
    again = db.session.get(Registration, reg_id)
    assert again.is_retake and again.retake_basis == RetakeBasis.RESULT and again.quota_line_id is None
    return again


def _score(registration) -> Decimal:
    return db.session.scalar(select(Score.score).where(Score.registration_id == registration.id))


def _passed(registration) -> bool | None:
    return db.session.scalar(select(Result.passed).where(Result.registration_id == registration.id))


def _message(s, failed, who="院校") -> str:
    return (f"{failed.candidate.name}已凭本次成绩以补考报考「2030年第4次全国统考」初级：更正后该科目将及格，"
            f"请先由{who}取消该报考再更正成绩")


def test_a_correction_to_a_pass_is_refused_in_the_grid_while_the_retake_registration_lives():
    s = _published()
    failed, passed = s.registrations
    _retake_elsewhere(s, failed)
    seats = _seats(s)
    report, rows = services.save_grid(s.org, s.plan.id, _room(s), {
        seats[failed.id]: {"score": "70"}, seats[passed.id]: {"score": "85"}}, reason=REASON)
    assert report.errors == {seats[failed.id]: _message(s, failed)}
    assert report.saved == 1  # the other row is written
    row = next(r for r in rows if r.seat_id == seats[failed.id])
    assert row.typed == "70" and "取消该报考" in row.error
    assert _score(failed) == Decimal("52.0") and _passed(failed) is False
    assert _score(passed) == Decimal("85.0")
    assert results.is_retaker(failed.id_type, failed.id_number, failed.certificate_level_id)


def test_a_correction_that_stays_failing_is_allowed():
    s = _published()
    failed = s.registrations[0]
    _retake_elsewhere(s, failed)
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "55"}},
                                   reason=REASON)
    assert report.errors == {} and report.saved == 1
    assert _score(failed) == Decimal("55.0") and _passed(failed) is False


def test_a_passer_corrected_down_is_not_held_by_this_lock():
    s = _published()
    failed, passed = s.registrations
    _retake_elsewhere(s, failed)
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[passed.id]: {"score": "40"}},
                                   reason=REASON)
    assert report.errors == {} and _passed(passed) is False


def test_an_absent_mark_corrected_to_a_pass_is_refused_too():
    s = _published(first={"absent": True})
    failed = s.registrations[0]
    _retake_elsewhere(s, failed)
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "90"}},
                                   reason=REASON)
    assert list(report.errors.values()) == [_message(s, failed)]
    assert _passed(failed) is False


def test_once_the_school_cancelled_the_retake_the_correction_goes_through():
    s = _published()
    failed = s.registrations[0]
    again = _retake_elsewhere(s, failed)
    registrations.cancel_registration(s.school_user, again.id)
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "70"}},
                                   reason=REASON)
    assert report.errors == {} and _passed(failed) is True
    assert not results.is_retaker(failed.id_type, failed.id_number, failed.certificate_level_id)


def test_a_scheduled_retake_names_the_org_who_alone_may_cancel_it():
    s = _published()
    failed = s.registrations[0]
    again = _retake_elsewhere(s, failed)
    again.state = RegistrationState.SCHEDULED  # as payment and scheduling leave it (tested in their areas)
    db.session.flush()
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "70"}},
                                   reason=REASON)
    assert list(report.errors.values()) == [_message(s, failed, who="评价组织")]


def test_a_registration_the_school_marked_as_retake_does_not_hold_the_score():
    """Basis 学校标记: the school's own mark, not the result; a later pass does not contradict it."""
    s = _published()
    failed = s.registrations[0]
    again = _retake_elsewhere(s, failed)
    again.retake_basis = RetakeBasis.MARKED
    db.session.flush()
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "70"}},
                                   reason=REASON)
    assert report.errors == {} and _passed(failed) is True


def test_the_import_reports_it_as_a_row_error(tmp_path):
    s = _published()
    failed, passed = s.registrations
    _retake_elsewhere(s, failed)
    wb = Workbook()
    ws = wb.active
    ws.append(["准考证号", "科目", "成绩", "缺考", "违纪"])
    ws.append([s.ticket(passed), s.subjects[0].name, 85, "", ""])
    ws.append([s.ticket(failed), s.subjects[0].name, 70, "", ""])
    path = tmp_path / "scores.xlsx"
    wb.save(path)
    report = importer.import_rows(s.org, s.plan.id, path, reason=REASON)
    assert [(p.row, p.column, p.message) for p in report.errors] == [(3, "成绩", _message(s, failed))]
    assert not report.imported and _score(passed) == Decimal("80.0")
    report = importer.import_rows(s.org, s.plan.id, path, reason=REASON, valid_only=True)
    assert report.changed == 1 and _score(passed) == Decimal("85.0") and _score(failed) == Decimal("52.0")


def test_the_service_itself_refuses_a_direct_write():
    s = _published()
    failed = s.registrations[0]
    _retake_elsewhere(s, failed)
    change = services.Change(failed.id, s.subjects[0].id, failed.school_id, Decimal("70"), False, False)
    with pytest.raises(DomainError, match="取消该报考"):
        services._write(s.org, s.plan.id, [change], None, reason=REASON, source="测试")
    assert _score(failed) == Decimal("52.0")


def test_before_the_results_are_final_nothing_rests_on_them():
    """During the display a correction to a pass is free: registration reads final results only."""
    s = _published()
    failed = s.registrations[0]
    _retake_elsewhere(s, failed)
    set_stage(s.plan.id, PublicationStage.DISPLAY)
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {_seats(s)[failed.id]: {"score": "70"}},
                                   reason=REASON)
    assert report.errors == {} and _passed(failed) is True
