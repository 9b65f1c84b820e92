"""Scores are entered, imported and displayed only for an exam that is over (ExamSession.ends_at).

make_scored_setup(held=False) leaves the plan's sessions in 2030, as registration and
scheduling need them; hold_exam moves them into the past."""
from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from examadmin.core import clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.scores import importer, services
from examadmin.scores.models import Score
from examadmin.scores.states import PublicationStage
from tests.scores.factories import hold_exam, make_scored_setup


def _room(s, subject):
    return s.seat(s.registrations[0], subject).room_id


def _scores() -> int:
    return db.session.scalar(select(func.count(Score.id)))


def _session(s, subject):
    return next(x for x in s.plan.sessions if x.subject_id == subject.id)


def _sheet(tmp_path, rows):
    book = Workbook()
    book.active.append(["准考证号", "科目", "成绩", "缺考", "违纪"])
    for row in rows:
        book.active.append(list(row))
    path = tmp_path / "scores.xlsx"
    book.save(path)
    return path


def test_the_grid_refuses_a_score_before_the_exam_ended_row_by_row():
    s = make_scored_setup(people=2, subjects=1, held=False)
    subject = s.subjects[0]
    session = _session(s, subject)
    _, _, grid = services.entry_grid(s.org, s.plan.id, _room(s, subject))
    first, second = grid
    report, rows = services.save_grid(s.org, s.plan.id, _room(s, subject), {
        first.seat_id: {"score": "80"}, second.seat_id: {"score": "", "absent": True}})
    expected = (f"该科目考试（{session.date:%Y-%m-%d} {session.start_time:%H:%M}-{session.end_time:%H:%M}）"
                "尚未结束，不能登记成绩")
    assert report.saved == 0 and report.errors == {first.seat_id: expected, second.seat_id: expected}
    assert {r.seat_id: r.typed for r in rows if r.error} == {first.seat_id: "80", second.seat_id: ""}
    assert _scores() == 0


def test_a_blank_page_is_no_error_before_the_exam():
    s = make_scored_setup(people=2, subjects=1, held=False)
    _, _, grid = services.entry_grid(s.org, s.plan.id, _room(s, s.subjects[0]))
    report, _ = services.save_grid(s.org, s.plan.id, _room(s, s.subjects[0]),
                                   {r.seat_id: {"score": ""} for r in grid})
    assert report.errors == {} and report.saved == 0


def test_the_exam_is_over_at_its_end_time_not_before():
    s = make_scored_setup(people=1, subjects=1, held=False)
    session = _session(s, s.subjects[0])
    seat_id = services.entry_grid(s.org, s.plan.id, _room(s, s.subjects[0]))[2][0].seat_id
    end = datetime.combine(session.date, session.end_time)
    with mock.patch("examadmin.core.clock.now", return_value=end - timedelta(minutes=1)):
        report, _ = services.save_grid(s.org, s.plan.id, _room(s, s.subjects[0]), {seat_id: {"score": "75"}})
    assert "尚未结束" in report.errors[seat_id] and _scores() == 0
    with mock.patch("examadmin.core.clock.now", return_value=end):
        report, _ = services.save_grid(s.org, s.plan.id, _room(s, s.subjects[0]), {seat_id: {"score": "75"}})
    assert report.errors == {} and _scores() == 1


def test_the_import_reports_each_row_of_an_exam_not_over(tmp_path):
    s = make_scored_setup(people=2, subjects=2, held=False)
    a, b = s.registrations
    held, later = s.subjects
    # the first subject's exam was held; the second one's is still to come
    hold_exam(s.plan)
    _session(s, later).date = (clock.now() + timedelta(days=5)).date()
    db.session.flush()
    path = _sheet(tmp_path, [(s.ticket(a), held.name, 80, "", ""), (s.ticket(a), later.name, 70, "", ""),
                             (s.ticket(b), held.name, 65, "", ""), (s.ticket(b), later.name, "", "是", "")])
    report = importer.import_rows(s.org, s.plan.id, path)
    assert not report.imported and _scores() == 0
    assert [(p.row, p.column) for p in report.errors] == [(3, "成绩"), (5, "成绩")]
    assert all("尚未结束，不能登记成绩" in p.message for p in report.errors)
    valid = importer.import_rows(s.org, s.plan.id, path, valid_only=True)
    assert valid.imported and valid.changed == 2 and _scores() == 2


def test_the_display_cannot_open_while_a_session_has_not_ended():
    s = make_scored_setup(people=1, subjects=2, held=False)
    first, second = (_session(s, subject) for subject in s.subjects)
    after = datetime.combine(second.date, second.end_time) + timedelta(hours=1)
    with mock.patch("examadmin.core.clock.now", return_value=after):  # entered once the exam was over
        for subject in s.subjects:
            _, _, grid = services.entry_grid(s.org, s.plan.id, _room(s, subject))
            services.save_grid(s.org, s.plan.id, _room(s, subject), {r.seat_id: {"score": "80"} for r in grid})
    assert services.missing_count(s.plan.id) == 0
    between = datetime.combine(first.date, first.end_time) + timedelta(minutes=5)
    with mock.patch("examadmin.core.clock.now", return_value=between), \
            pytest.raises(DomainError, match="尚未结束，考试全部结束后才能开始公示成绩") as exc:
        services.open_display(s.org, s.plan.id, 5)
    assert s.subjects[1].name in exc.value.message
    assert services.stage_of(s.plan.id) == PublicationStage.ENTERING
    with mock.patch("examadmin.core.clock.now", return_value=after):
        assert services.open_display(s.org, s.plan.id, 5).stage == PublicationStage.DISPLAY
