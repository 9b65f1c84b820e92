"""Score entry, publication stages, objections and the reason for a change after display."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from examadmin.core import audit, clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.scores import services
from examadmin.scores.models import Result, Score
from examadmin.scores.states import ObjectionState, PublicationStage
from tests.conftest import make_user
from tests.scores.factories import make_scored_setup, set_stage


@pytest.mark.parametrize("raw, expected", [
    ("0", Decimal("0.0")), ("100", Decimal("100.0")), ("85.5", Decimal("85.5")), (72.5, Decimal("72.5")),
    (" 60 ", Decimal("60.0")), ("", None), (None, None), ("85.50", Decimal("85.5")),
    ("８５．５", Decimal("85.5")), (".5", Decimal("0.5")),
])
def test_a_score_is_a_number_from_0_to_the_full_mark_with_one_decimal(raw, expected):
    assert services.parse_score(raw, 100) == expected


@pytest.mark.parametrize("raw, message", [
    ("100.5", "满分 100"), ("-1", "0 到满分"), ("85.25", "一位小数"), (85.25, "一位小数"), ("八十", "不是数字"),
    ("NaN", "不是数字"), ("1e400", "不是数字"), (True, "须为数字"), ("1_0", "不是数字"), ("1e1", "不是数字"),
    ("Infinity", "不是数字"), ("\u0668\u0665", "不是数字"), ("0x10", "不是数字"), (1e20, "不是数字"),
])
def test_bad_scores_are_refused_with_a_chinese_message(raw, message):
    with pytest.raises(DomainError) as exc:
        services.parse_score(raw, 100)
    assert message in exc.value.message


@pytest.mark.parametrize("raw", ["-0", "-0.0", "+0", -0.0])
def test_minus_zero_is_stored_as_zero(raw):
    value = services.parse_score(raw, 100)
    assert value == 0 and str(value) == "0.0" and not value.is_signed()


def test_a_score_together_with_absent_is_refused():
    s = make_scored_setup(people=1, subjects=1)
    with pytest.raises(DomainError, match="缺考"):
        services.check_entry(s.subjects[0], "80", True, False)


def test_absent_and_violation_together_are_refused_in_the_grid():
    s = make_scored_setup(people=2, subjects=1)
    with pytest.raises(DomainError, match="缺考和违纪不能同时标记"):
        services.check_entry(s.subjects[0], "", True, True)
    room = _room_id(s, s.subjects[0])
    both, alone = services.entry_grid(s.org, s.plan.id, room)[2]
    report, rows = services.save_grid(s.org, s.plan.id, room, {
        both.seat_id: {"score": "", "absent": True, "violation": True},
        alone.seat_id: {"score": "", "violation": True}})
    assert report.errors == {both.seat_id: "缺考和违纪不能同时标记"} and report.saved == 1
    refused = next(r for r in rows if r.seat_id == both.seat_id)
    assert refused.absent and refused.violation  # what was ticked stays on screen
    stored = dict(db.session.execute(select(Score.registration_id, Score.violation)).all())
    assert stored == {alone.registration_id: True}


def _room_id(s, subject):
    return s.seat(s.registrations[0], subject).room_id


def test_the_grid_saves_good_rows_and_keeps_a_bad_row_with_its_message():
    s = make_scored_setup(people=3, subjects=1)
    subject = s.subjects[0]
    _, _, grid = services.entry_grid(s.org, s.plan.id, _room_id(s, subject))
    assert [r.ticket_number for r in grid] == sorted(r.ticket_number for r in grid)
    entries = {grid[0].seat_id: {"score": "88"}, grid[1].seat_id: {"score": "120"},
               grid[2].seat_id: {"score": "", "absent": True}}
    report, rows = services.save_grid(s.org, s.plan.id, _room_id(s, subject), entries)
    assert report.saved == 2 and list(report.errors) == [grid[1].seat_id]
    by_seat = {r.seat_id: r for r in rows}
    assert by_seat[grid[0].seat_id].score == Decimal("88.0")
    assert by_seat[grid[1].seat_id].typed == "120" and "满分" in by_seat[grid[1].seat_id].error
    assert by_seat[grid[2].seat_id].absent is True
    assert db.session.scalar(select(Score.score).where(Score.registration_id == grid[1].registration_id)) is None


def test_absentees_from_check_in_arrive_pre_marked_and_are_stored_at_display():
    s = make_scored_setup(people=2, subjects=1)
    absent_reg, present = s.registrations
    s.seat(absent_reg, s.subjects[0]).absent = True
    _, _, grid = services.entry_grid(s.org, s.plan.id, _room_id(s, s.subjects[0]))
    row = next(r for r in grid if r.registration_id == absent_reg.id)
    assert row.absent and row.pre_marked
    services.save_grid(s.org, s.plan.id, _room_id(s, s.subjects[0]),
                       {next(r for r in grid if r.registration_id == present.id).seat_id: {"score": "75"}})
    services.open_display(s.org, s.plan.id, 5)
    stored = db.session.scalar(select(Score).where(Score.registration_id == absent_reg.id))
    assert stored.absent is True and stored.score is None
    assert db.session.scalar(select(Result.passed).where(Result.registration_id == absent_reg.id)) is False


def test_only_the_org_enters_scores():
    s = make_scored_setup(people=1, subjects=1)
    with pytest.raises(Forbidden):
        services.entry_grid(s.school_user, s.plan.id, _room_id(s, s.subjects[0]))
    with pytest.raises(NotFound):
        services.entry_grid(s.org, s.plan.id, 2 ** 70)


def _enter_all(s, value="80"):
    for subject in s.subjects:
        _, _, grid = services.entry_grid(s.org, s.plan.id, _room_id(s, subject))
        services.save_grid(s.org, s.plan.id, _room_id(s, subject), {r.seat_id: {"score": value} for r in grid})


def test_display_needs_every_score_and_a_sane_period():
    s = make_scored_setup(people=2, subjects=2)
    with pytest.raises(DomainError, match="未登记"):
        services.open_display(s.org, s.plan.id, 5)
    _enter_all(s)
    for days in ("0", "31", "abc"):
        with pytest.raises(DomainError, match="公示天数"):
            services.open_display(s.org, s.plan.id, days)
    pub = services.open_display(s.org, s.plan.id, "7")
    assert pub.stage == PublicationStage.DISPLAY
    assert pub.display_ends_at - pub.display_started_at == timedelta(days=7)
    with pytest.raises(DomainError, match="成绩公示中"):
        services.open_display(s.org, s.plan.id, 5)


def test_schools_see_scores_only_from_display_on():
    s = make_scored_setup(people=1, subjects=1)
    _enter_all(s)
    school_scores = lambda: db.session.scalars(services.list_scores(s.school_user, s.plan.id)[1]).all()  # noqa: E731
    other_school = make_user("school")
    assert school_scores() == []
    services.open_display(s.org, s.plan.id, 5)
    assert len(school_scores()) == 1
    assert db.session.scalars(services.list_scores(other_school, s.plan.id)[1]).all() == []


def test_a_change_after_display_needs_a_reason_and_is_in_the_score_history():
    s = make_scored_setup(people=1, subjects=1)
    _enter_all(s, "50")
    services.open_display(s.org, s.plan.id, 5)
    room = _room_id(s, s.subjects[0])
    seat_id = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    with pytest.raises(DomainError, match="修改原因"):
        services.save_grid(s.org, s.plan.id, room, {seat_id: {"score": "65"}}, reason="  ")
    assert db.session.scalar(select(Score.score)) == Decimal("50.0")
    services.save_grid(s.org, s.plan.id, room, {seat_id: {"score": "65"}}, reason="复核发现漏计第 3 题")
    score = db.session.scalar(select(Score).where(Score.registration_id == s.registrations[0].id))
    assert score.score == Decimal("65.0")
    entries = services.score_history(s.org, score)
    assert [e.action for e in entries] == ["score.enter", "score.correct"]
    assert entries[-1].before["score"] == "50.0" and entries[-1].after["score"] == "65.0"
    assert entries[-1].after["reason"] == "复核发现漏计第 3 题"
    assert db.session.scalar(select(Result.passed)) is True


def test_objection_during_display_answered_with_a_change_then_publish():
    s = make_scored_setup(people=1, subjects=1)
    _enter_all(s, "58")
    score = db.session.scalar(select(Score).where(Score.registration_id == s.registrations[0].id))
    with pytest.raises(NotFound):  # before display the school does not even see the score
        services.raise_objection(s.school_user, score.id, "请复核")
    services.open_display(s.org, s.plan.id, 3)
    with pytest.raises(DomainError, match="异议理由"):
        services.raise_objection(s.school_user, score.id, " ")
    with pytest.raises(NotFound):
        services.raise_objection(make_user("school"), score.id, "别校的异议")
    objection = services.raise_objection(s.school_user, score.id, "实操第二题评分有误")
    with pytest.raises(DomainError, match="待答复"):
        services.raise_objection(s.school_user, score.id, "再提一次")
    with pytest.raises(Forbidden):
        services.answer_objection(s.school_user, objection.id, "自己答复")
    later = clock.now() + timedelta(days=4)
    with mock.patch("examadmin.core.clock.now", return_value=later), pytest.raises(DomainError, match="未答复"):
        services.publish_final(s.org, s.plan.id)
    with pytest.raises(DomainError, match="答复理由"):
        services.answer_objection(s.org, objection.id, "")
    services.answer_objection(s.org, objection.id, "复核后第二题加 4 分", change=True, score="62")
    assert objection.state == ObjectionState.ANSWERED
    db.session.refresh(score)
    assert score.score == Decimal("62.0")
    assert audit.history(score)[-1].after["reason"] == "答复成绩异议：复核后第二题加 4 分"
    with pytest.raises(DomainError, match="公示期内不能发布"):
        services.publish_final(s.org, s.plan.id)
    with mock.patch("examadmin.core.clock.now", return_value=later):
        with pytest.raises(DomainError, match="不能再提出异议"):
            services.raise_objection(s.school_user, score.id, "过期异议")
        pub = services.publish_final(s.org, s.plan.id)
    assert pub.stage == PublicationStage.FINAL and pub.published_at == later


def test_publishing_skips_no_stage():
    s = make_scored_setup(people=1, subjects=1)
    _enter_all(s)
    with pytest.raises(DomainError, match="成绩登记中"):
        services.publish_final(s.org, s.plan.id)
    set_stage(s.plan.id, PublicationStage.FINAL)
    with pytest.raises(DomainError, match="成绩已发布"):
        services.publish_final(s.org, s.plan.id)


def test_a_score_saved_by_someone_else_meanwhile_is_a_message_not_a_500(monkeypatch):
    s = make_scored_setup(people=1, subjects=1)
    room = _room_id(s, s.subjects[0])
    seat_id = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    services.save_grid(s.org, s.plan.id, room, {seat_id: {"score": "70"}})
    # the other writer's row exists, but this save read the scores before it was there
    monkeypatch.setattr(services, "_existing", lambda *a, **k: {})
    with pytest.raises(DomainError, match="他人录入"):
        services.save_grid(s.org, s.plan.id, room, {seat_id: {"score": "71"}})
    assert db.session.scalar(select(Score.score)) == Decimal("70.0")  # the transaction is still usable


def test_the_summary_counts_every_kind_of_missing_and_entered_seat_exactly():
    """No score row, a row with nothing in it: missing; a score, 缺考, 违纪: entered (one statement)."""
    s = make_scored_setup(people=3, subjects=2)
    kinds = [None, dict(), dict(score=Decimal("0")), dict(absent=True), dict(violation=True), dict(score=Decimal("88"))]
    pairs = [(r, subject) for r in s.registrations for subject in s.subjects]
    for (registration, subject), kind in zip(pairs, kinds):
        if kind is not None:
            db.session.add(Score(registration_id=registration.id, subject_id=subject.id, plan_id=s.plan.id,
                                 school_id=registration.school_id, **kind))
    db.session.flush()
    counts = services.summary(s.plan.id)
    assert (counts["seats"], counts["missing"], counts["entered"]) == (6, 2, 4)
    assert (counts["passed"], counts["failed"]) == (0, 0)
    assert services.missing_count(s.plan.id) == 2
    # the results' figures agree with the result rows themselves, whatever recompute made of them
    services.results.recompute([r.id for r in s.registrations])
    db.session.flush()
    rows = list(db.session.scalars(select(Result.passed).where(Result.plan_id == s.plan.id)))
    counts = services.summary(s.plan.id)
    assert (counts["passed"], counts["not_passed"]) == (rows.count(True), rows.count(False))
    assert counts["failed"] + counts["absent"] + counts["violation"] == counts["not_passed"]
    assert rows.count(True) + rows.count(False) > 0


def test_the_summary_counts_absent_and_violation_apart_from_failed():
    """The plan's page said 不合格 2 where the registration pages read 不合格 1 and 缺考 1."""
    s = make_scored_setup(people=4, subjects=1)
    room = _room_id(s, s.subjects[0])
    passer, failer, absentee, cheat = services.entry_grid(s.org, s.plan.id, room)[2]
    services.save_grid(s.org, s.plan.id, room, {
        passer.seat_id: {"score": "80"}, failer.seat_id: {"score": "40"},
        absentee.seat_id: {"score": "", "absent": True}, cheat.seat_id: {"score": "", "violation": True}})
    services.results.recompute([r.id for r in s.registrations])
    db.session.flush()
    counts = services.summary(s.plan.id)
    assert (counts["passed"], counts["failed"], counts["absent"], counts["violation"], counts["not_passed"]) == \
        (1, 1, 1, 1, 3)
