"""The public score lookup: ID number + ticket number in the POST body, final results only,
one answer for every mismatch, a rate limit per address, no-store."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from examadmin.core import idcard
from examadmin.extensions import db
from examadmin.scores.lookup import lookup_score
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.scores.factories_stats import make_scored_plan, school_site
from tests.sites.factories import make_user

NOT_FOUND = 'data-testid="lookup-not-found"'


@pytest.fixture
def scored():
    plan = make_scored_plan(PublicationStage.FINAL)
    site, _ = school_site()
    passed = plan.add(site, [85.5, 60], name="李明")
    failed = plan.add(site, ["缺考", 90], name="王红")
    db.session.commit()  # a savepoint of the test's transaction: error pages roll the session back
    return plan, site, passed, failed


def _ask(client, id_number, ticket, **kw):
    return client.post("/scores/lookup", data={"id_number": id_number, "ticket_number": ticket}, **kw)


def _answer(response) -> str:
    """The part of the page after the form: the answer or the 未找到 (the form echoes the ticket)."""
    return response.get_data(as_text=True).split("</form>", 1)[1]


def test_the_right_pair_finds_the_final_result_and_nothing_else(client, scored):
    plan, site, passed, _ = scored
    response = _ask(client, passed.candidate.id_number, passed.ticket_number)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert 'data-testid="lookup-answer"' in body and "李明" in body
    assert idcard.mask(passed.candidate.id_number) in body
    assert passed.candidate.id_number not in body  # only masked, and not echoed in the form
    assert "85.5" in body and ">合格<" in body
    assert plan.subjects[0].name in body and plan.subjects[1].name in body
    # nothing else: not the school, the site, the plan or the other candidate
    assert site.school.name not in body and plan.plan.name not in body and "王红" not in body


def test_absence_shows_and_fails(client, scored):
    _, _, _, failed = scored
    answer = lookup_score(failed.candidate.id_number, failed.ticket_number)
    assert answer.passed is False and [s.shown for s in answer.subjects] == ["缺考", "90"]
    assert ">不合格<" in _answer(_ask(client, failed.candidate.id_number, failed.ticket_number))


def test_the_id_number_is_found_however_it_is_typed(scored):
    _, _, passed, _ = scored
    number = passed.candidate.id_number
    typed = " ".join(number[:6]) + number[6:].lower().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert lookup_score(typed, f" {passed.ticket_number} ").name == "李明"


def test_every_mismatch_answers_the_same_not_found(client, scored):
    plan, _, passed, failed = scored
    number, ticket = passed.candidate.id_number, passed.ticket_number
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    cases = {
        "wrong ID": (failed.candidate.id_number, ticket),       # another person's ID with this ticket
        "wrong ticket": (number, failed.ticket_number),         # this ID with another person's ticket
        "unknown ticket": (number, "999999999999"),
        "bad check digit": (wrong_check, ticket),               # malformed ID numbers answer the same
        "short ID": ("12345", ticket),
        "letters": ("abc'; drop table registration; --", ticket),
        "overlong": ("1" * 65, ticket),
    }
    answers = {name: _answer(_ask(client, *pair)) for name, pair in cases.items()}
    assert all(NOT_FOUND in a for a in answers.values()), answers
    # byte for byte the same answer, so the page never tells which half was wrong
    assert len({a.replace(pair[1], "") for a, pair in zip(answers.values(), cases.values())}) == 1
    for name, (id_number, ticket_number) in cases.items():
        assert lookup_score(id_number, ticket_number) is None, name


@pytest.mark.parametrize("stage", [PublicationStage.ENTERING, PublicationStage.DISPLAY])
def test_only_final_results_are_found(client, scored, stage):
    plan, _, passed, _ = scored
    plan.set_stage(stage)
    assert lookup_score(passed.candidate.id_number, passed.ticket_number) is None
    assert NOT_FOUND in _answer(_ask(client, passed.candidate.id_number, passed.ticket_number))


def test_an_incomplete_result_is_not_found(scored):
    plan, site, _, _ = scored
    incomplete = plan.add(site, [70, None])
    assert lookup_score(incomplete.candidate.id_number, incomplete.ticket_number) is None


def test_numbers_in_the_url_are_never_used(client, scored):
    _, _, passed, _ = scored
    response = client.get(f"/scores/lookup?id_number={passed.candidate.id_number}"
                          f"&ticket_number={passed.ticket_number}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "李明" not in body and NOT_FOUND not in body
    assert 'method="post"' in body


def test_after_the_limit_even_the_right_pair_is_refused(app, client, scored, monkeypatch):
    _, _, passed, _ = scored
    monkeypatch.setitem(app.config, "SCORE_LOOKUP_RATE_LIMIT", "3 per minute")
    for _ in range(3):
        assert _ask(client, "110101200001011234", "000000000000").status_code == 200
    refused = _ask(client, passed.candidate.id_number, passed.ticket_number)
    assert refused.status_code == 429
    assert "李明" not in refused.get_data(as_text=True)
    assert refused.headers["Cache-Control"] == "no-store"
    assert int(refused.headers["Retry-After"]) > 0
    # another address is not affected
    other = _ask(client, passed.candidate.id_number, passed.ticket_number,
                 environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200 and "李明" in other.get_data(as_text=True)


def test_the_lookup_needs_no_account_and_the_sign_in_page_links_it(client):
    response = client.get("/scores/lookup")
    assert response.status_code == 200 and "成绩查询" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/scores/lookup"' in client.get("/login").get_data(as_text=True)


def test_an_empty_form_asks_for_both_numbers(client):
    body = _ask(client, "", "").get_data(as_text=True)
    assert "请输入身份证件号码" in body and "请输入准考证号" in body and NOT_FOUND not in body


def test_a_signed_in_user_may_use_it_too(client, scored):
    _, _, passed, _ = scored
    login_as(client, make_user("school"))
    assert "李明" in _answer(_ask(client, passed.candidate.id_number, passed.ticket_number))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(id_number=st.text(max_size=80), ticket=st.text(max_size=80))
def test_any_input_answers_not_found_and_never_fails(scored, id_number, ticket):
    # NUL bytes, surrogates, full-width forms, huge strings: no error on either database
    assert lookup_score(id_number, ticket) is None


def test_control_characters_in_the_form_answer_not_found(client, scored):
    response = _ask(client, "5001\x0707200\u202e", "00\x1b1")
    assert response.status_code == 200 and NOT_FOUND in _answer(response)
    # a NUL is refused by the app for every form (core.web), before the lookup: never a 500
    assert _ask(client, "5001\x0007200", "001").status_code == 400


def test_a_lookup_takes_two_queries(scored):
    """The public lookup is a page of the rush (bench/rush.py): what the answer shows comes in one
    query, the subjects' scores in a second, whatever is already loaded."""
    from sqlalchemy import event

    _, _, passed, _ = scored
    id_number, ticket = passed.candidate.id_number, passed.ticket_number
    db.session.expunge_all()
    statements = []
    connection = db.session.connection()
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        answer = lookup_score(id_number, ticket)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert answer.name == "李明" and answer.passed and [s.shown for s in answer.subjects] == ["85.5", "60"]
    assert len(statements) == 2, "\n".join(statements)
