"""Buttons of a plan's scores page that could only be refused are disabled and say why (the
services refuse all the same: tests/scores/test_services.py, test_exam_over.py)."""
from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

from sqlalchemy import select

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.scores import services
from examadmin.scores.models import Score
from tests.conftest import login_as
from tests.scores.factories import hold_exam, make_scored_setup
from tests.scores.test_services import _enter_all


def _tag(page: str, testid: str) -> str:
    found = re.search(r'<(?:a|button)[^>]*data-testid="' + testid + r'"[^>]*>', page)
    assert found, testid
    return found.group(0)


def _index(client, s) -> str:
    return client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)


def test_entry_and_import_wait_for_the_first_session_and_display_for_the_last(client):
    s = make_scored_setup(people=1, subjects=2, held=False)
    login_as(client, s.org)
    page = _index(client, s)
    for testid in ("entry-link", "import-link"):
        tag = _tag(page, testid)
        assert "disabled" in tag and 'aria-disabled="true"' in tag and "href" not in tag
        assert "结束后才能录入成绩" in tag  # its title
    assert 'data-testid="entry-reason"' in page
    assert " disabled" in _tag(page, "open-display") and "场考试尚未结束" in page

    # the first session is over, the second not: entry is open for the first, display is not
    hold_exam(s.plan)
    last = max(s.plan.sessions, key=lambda x: (x.date, x.start_time))
    last.date = clock.now().date() + timedelta(days=1)
    db.session.flush()
    page = _index(client, s)
    for testid in ("entry-link", "import-link"):
        assert "disabled" not in _tag(page, testid) and "href=" in _tag(page, testid)
    assert 'data-testid="entry-partly"' in page
    reason = re.search(r'data-testid="open-display-reason">([^<]+)<', page).group(1)
    assert reason.startswith("还有 1 场考试尚未结束") and f"{last.date:%Y-%m-%d}" in reason
    assert " disabled" in _tag(page, "open-display")


def test_display_waits_for_every_score_then_is_enabled(client):
    s = make_scored_setup(people=2, subjects=1)
    login_as(client, s.org)
    page = _index(client, s)
    assert " disabled" in _tag(page, "open-display")
    assert "还有 2 项科目成绩未登记" in re.search(r'data-testid="open-display-reason">([^<]+)<', page).group(1)
    assert "disabled" not in _tag(page, "entry-link")
    # a seat marked 缺考 at check-in is no reason: 开始公示 enters it as 缺考
    s.seat(s.registrations[0], s.subjects[0]).absent = True
    db.session.flush()
    assert "还有 1 项科目成绩未登记" in _index(client, s)
    _enter_all(s)
    page = _index(client, s)
    assert " disabled" not in _tag(page, "open-display") and 'data-testid="open-display-reason"' not in page
    r = client.post(f"/scores/plans/{s.plan.id}/display", data={"display_days": "3"}, follow_redirects=True)
    assert r.status_code == 200 and services.stage_of(s.plan.id).value == "成绩公示中"


def test_publish_waits_for_the_display_period_and_every_objection(client):
    s = make_scored_setup(people=1, subjects=1)
    _enter_all(s, "58")
    services.open_display(s.org, s.plan.id, 3)
    pub = services.publication(s.plan.id)
    login_as(client, s.org)
    page = _index(client, s)
    assert " disabled" in _tag(page, "publish")
    assert f"公示期至 {pub.display_ends_at:%Y-%m-%d %H:%M} 结束，公示期内不能发布成绩" in page
    score = db.session.scalar(select(Score).where(Score.registration_id == s.registrations[0].id))
    objection = services.raise_objection(s.school_user, score.id, "请复核")
    later = clock.now() + timedelta(days=4)
    with mock.patch("examadmin.core.clock.now", return_value=later):
        page = _index(client, s)
        assert " disabled" in _tag(page, "publish") and "还有 1 条成绩异议未答复，答复后才能发布成绩" in page
        services.answer_objection(s.org, objection.id, "复核无误")
        page = _index(client, s)
        assert " disabled" not in _tag(page, "publish") and 'data-testid="publish-reason"' not in page
