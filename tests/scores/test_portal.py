"""The candidate's own scores and result (/scores/mine), once visible to candidates."""
from __future__ import annotations

import re

import pytest

from examadmin.core.permissions import ForbiddenAction
from examadmin.extensions import db
from examadmin.scores.mine import my_results
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.scores.factories_stats import make_scored_plan, school_site
from tests.sites.factories import make_user


@pytest.fixture
def mine():
    plan = make_scored_plan(PublicationStage.DISPLAY)
    site, _ = school_site()
    own = plan.add(site, [59.5, 88], name="赵敏")
    other = plan.add(site, [99, 99], name="钱多")
    user = make_user("candidate", school=site.school)
    user.candidate_id = own.candidate.id
    db.session.commit()
    return plan, own, other, user


def test_the_candidate_sees_own_scores_during_display(client, mine):
    plan, own, _, user = mine
    login_as(client, user)
    response = client.get("/scores/mine")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "59.5" in body and "88" in body and own.ticket_number in body
    scores = re.findall(r'data-testid="my-score">([^<]*)<', body)
    assert sorted(scores) == ["59.5", "88"] and "钱多" not in body  # another candidate's 99s are not here
    assert "不合格" in body and "公示中" in body  # 59.5 misses the pass mark of 60
    assert 'href="/scores/mine"' in body  # in the candidate's menu


def test_final_results_say_so(client, mine):
    plan, own, _, user = mine
    plan.set_stage(PublicationStage.FINAL)
    (result,) = my_results(user)
    assert result.final and result.passed is False
    assert [(s.name, s.shown, s.passed) for s in result.subjects] == [
        (plan.subjects[0].name, "59.5", False), (plan.subjects[1].name, "88", True)]


def test_nothing_is_shown_before_display(client, mine):
    plan, _, _, user = mine
    plan.set_stage(PublicationStage.ENTERING)
    db.session.commit()
    assert my_results(user) == []
    login_as(client, user)
    body = client.get("/scores/mine").get_data(as_text=True)
    assert 'data-testid="no-results"' in body and "59.5" not in body


def test_a_candidate_account_without_a_candidate_sees_nothing(mine):
    user = make_user("candidate")
    assert my_results(user) == []


@pytest.mark.parametrize("role", ["sysadmin", "org", "province", "city", "school"])
def test_the_page_is_for_candidates(client, role):
    user = make_user(role)
    with pytest.raises(ForbiddenAction):
        my_results(user)
    login_as(client, user)
    assert client.get("/scores/mine").status_code == 403
