"""The application form: a searchable major picker, rows that keep what was typed, totals,
and a bounded ?more= (GET .../edit?more=200000 once built a 1.2 GB page)."""
from __future__ import annotations

import re
import time

from examadmin.extensions import db
from examadmin.pilots import services
from examadmin.pilots.views import MAX_LINES, major_label
from tests.conftest import login_as, make_user
from tests.pilots.conftest import apply, level, major, make_plan


def _rows(page: str) -> int:
    return len(re.findall(r'name="students-\d+"', page))


def test_more_rows_are_bounded(client):
    school_user = make_user("school")
    application = apply(school_user, make_plan())
    login_as(client, school_user)
    started = time.monotonic()
    response = client.get(f"/pilots/applications/{application.id}/edit?more=200000")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and time.monotonic() - started < 5
    assert _rows(page) == MAX_LINES and len(page) < 2_000_000
    for odd in ("-5", "abc", "99999999999999999999999"):
        response = client.get(f"/pilots/applications/{application.id}/edit?more={odd}")
        assert response.status_code == 200 and 1 <= _rows(response.get_data(as_text=True)) <= MAX_LINES
    # A forged row count is bounded the same way.
    plan = make_plan(year=2027)
    response = client.post(f"/pilots/applications/new?plan_id={plan.id}", data={
        "certificate_level_id": level().id, "rows": "10000000000"})
    assert response.status_code == 200 and _rows(response.get_data(as_text=True)) <= MAX_LINES


def test_the_major_is_picked_by_its_label_or_code_and_typed_text_stays_after_an_error(client):
    school_user = make_user("school")
    plan = make_plan()
    psych = major()
    login_as(client, school_user)
    page = client.get(f"/pilots/applications/new?plan_id={plan.id}").get_data(as_text=True)
    # One list of majors for the whole table, searched as the school types (datalist).
    assert page.count('<datalist id="major-options">') == 1 and f'value="{major_label(psych)}"' in page
    assert 'list="major-options"' in page and "<script>" not in page and "/static/application_form.js" in page
    assert 'id="line-template"' in page and 'data-testid="add-row"' in page

    bad = client.post(f"/pilots/applications/new?plan_id={plan.id}", data={
        "certificate_level_id": level().id, "rows": 3,
        "major-0": major_label(psych), "students-0": "100", "teachers-0": "5", "requested-0": "20",
        "major-1": "没有这个专业", "students-1": "30", "teachers-1": "2", "requested-1": "10"})
    body = bad.get_data(as_text=True)
    assert "第 2 行：请从专业目录中选择专业" in body
    assert 'value="没有这个专业"' in body and f'value="{major_label(psych)}"' in body
    assert 'data-testid="total-students">130<' in body and 'data-testid="total-requested">30<' in body
    assert not db.session.scalars(services.list_applications(school_user)).all()

    good = client.post(f"/pilots/applications/new?plan_id={plan.id}", data={
        "certificate_level_id": level().id, "rows": 1,
        "major-0": psych.code, "students-0": "100", "teachers-0": "5", "requested-0": "20"})
    assert good.status_code == 302
    saved = db.session.scalars(services.list_applications(school_user)).one()
    assert [line.major_id for line in saved.lines] == [psych.id]
    edit = client.get(f"/pilots/applications/{saved.id}/edit").get_data(as_text=True)
    assert f'value="{major_label(psych)}"' in edit and 'data-testid="total-requested">20<' in edit
