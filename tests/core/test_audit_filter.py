"""The audit page's 操作 filter: every label once, and a school offered only what its own log holds."""
from __future__ import annotations

import re

from examadmin.core import audit
from tests.conftest import login_as, make_user


def _options(page: str) -> list[tuple[str, str]]:
    select = page[page.index('name="action"'):].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)[1:]  # past 全部操作


def test_the_org_gets_every_action_each_label_once(client):
    login_as(client, make_user("org"))
    options = _options(client.get("/audit/").get_data(as_text=True))
    labels = [label for _, label in options]
    assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]
    assert {value for value, _ in options} == set(audit.ACTION_LABELS)
    # the two 排考 are told apart
    assert dict(options)["registration.schedule"] != dict(options)["schedule_run.create"]


def test_a_school_is_offered_the_actions_of_its_own_log_only(client):
    school_user = make_user("school")
    other = make_user("school")
    audit.record(school_user, "candidate.create", school_user.school, after={"name": "张三"})
    audit.record(other, "candidate.hide", other.school, after={})
    login_as(client, school_user)
    page = client.get("/audit/").get_data(as_text=True)
    values = {value for value, _ in _options(page)}
    assert "candidate.create" in values
    assert "candidate.hide" not in values  # another school's
    assert "application_plan.create" not in values and "province.create" not in values  # the province's, the admin's
    # an action chosen by hand stays chosen, even with nothing of it in the log
    chosen = client.get("/audit/?action=exam_plan.publish").get_data(as_text=True)
    assert '<option value="exam_plan.publish" selected>' in chosen
    assert "<option value=\"nonsense\"" not in client.get("/audit/?action=nonsense").get_data(as_text=True)
