"""Lapse (视为自动放弃): unpaid registrations past their plan's payment deadline, their places,
the on-demand check, the CLI command and the scheduled job."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from examadmin.candidates.models import CandidateKind
from examadmin.core import audit, clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.registrations import lapse, lapse_tasks, payments
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from tests.registrations.factories_payment import (AFTER_DEADLINE, BEFORE_DEADLINE, DEADLINE, make_world,
                                                   register, used)

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def world():
    return make_world(places=10)


def paid(world, name="已缴费学生"):
    reg = register(world, name=name)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)
    payments.confirm_order(world.org, order.id)
    return reg


def test_unpaid_registrations_lapse_at_the_deadline_and_give_their_places_back(world):
    students = [register(world, name=f"学生{i}") for i in range(3)]
    social = register(world, kind=CandidateKind.SOCIAL, name="社会人")
    retake = register(world, name="补考生", retake=True)
    keep = paid(world)
    assert used(world) == 4  # three unpaid students and the paid one; the retaker and social take none

    result = lapse.lapse_overdue(at=AFTER_DEADLINE)

    assert result.as_dict() == {"lapsed": 5, "places_returned": 3}
    assert used(world) == 1
    for reg in [*students, social, retake]:
        assert reg.state == RegistrationState.LAPSED and reg.ended_at == AFTER_DEADLINE
        assert reg.quota_line_id is None
    assert keep.state == RegistrationState.PAID and keep.quota_line_id == world.line.id
    entry = audit.history(students[0])[-1]
    assert entry.action == "registration.lapse" and entry.actor_name == "系统" and entry.actor_role == "system"
    assert entry.before == {"state": "待缴费"} and entry.after["state"] == "已放弃（未缴费）"
    assert "2030-05-31 17:00" in entry.after["reason"]
    assert entry.entity_label == students[0].name == f"学生0 报考 {world.level.label}"
    assert entry.school_id == world.school_id and entry.province_id is not None  # the school sees it in its log


def test_one_school_only_when_asked(world):
    other = make_world(places=5)
    mine, theirs = register(world), register(other)
    assert lapse.lapse_overdue(school_id=other.school_id, at=AFTER_DEADLINE).as_dict() == {
        "lapsed": 1, "places_returned": 1}
    assert theirs.state == RegistrationState.LAPSED and mine.state == RegistrationState.UNPAID
    assert used(world) == 1 and used(other) == 0


def test_nothing_lapses_before_or_at_the_deadline(world):
    reg = register(world)
    assert lapse.lapse_overdue(at=BEFORE_DEADLINE).lapsed == 0
    assert lapse.lapse_overdue(at=DEADLINE).lapsed == 0  # 17:00 itself is still in time
    assert reg.state == RegistrationState.UNPAID and used(world) == 1


def test_a_second_run_finds_nothing_and_returns_no_place_twice(world):
    register(world)
    register(world)
    assert lapse.lapse_overdue(at=AFTER_DEADLINE).as_dict() == {"lapsed": 2, "places_returned": 2}
    assert lapse.lapse_overdue(at=AFTER_DEADLINE).as_dict() == {"lapsed": 0, "places_returned": 0}
    assert used(world) == 0


def test_one_plan_only_when_asked(world):
    mine = register(world)
    later = make_world(places=5, payment_deadline="2030-06-15 17:00", ticket_start="2030-06-16 09:00",
                       ticket_end="2030-06-22 16:00")
    other = register(later)
    assert lapse.lapse_overdue(plan_id=later.plan.id, at=AFTER_DEADLINE).lapsed == 0
    assert lapse.lapse_overdue(at=AFTER_DEADLINE).lapsed == 1  # the other plan's deadline is later
    assert mine.state == RegistrationState.LAPSED and other.state == RegistrationState.UNPAID
    assert lapse.lapse_overdue(plan_id=later.plan.id, at=datetime(2030, 6, 16)).lapsed == 1


def test_pages_see_an_overdue_registration_as_lapsed_before_the_run(world, monkeypatch):
    reg = register(world)
    assert not lapse.is_overdue(reg)
    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    assert lapse.is_overdue(reg)
    overdue = db.session.scalars(db.select(Registration.id).where(lapse.overdue_clause())).all()
    assert reg.id in overdue
    assert reg.state == RegistrationState.UNPAID  # nothing written by looking


def test_services_apply_the_lapse_on_demand(world, monkeypatch):
    """The outcome never depends on the scheduled job: creating an order after the deadline lapses first."""
    reg = register(world)
    other = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [other.id])
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)
    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    with pytest.raises(DomainError, match="因未缴费视为自动放弃"):
        payments.confirm_order(world.org, order.id)
    # the service lapsed them itself (the caller's rollback would undo it; the next run redoes it)
    assert reg.state == RegistrationState.LAPSED and other.state == RegistrationState.LAPSED


# ---- the command ------------------------------------------------------------------------------

def test_the_command_prints_json(world, cli, monkeypatch):
    register(world)
    register(world, kind=CandidateKind.SOCIAL)
    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    result = cli.invoke(args=["registrations", "lapse", "--plan", str(world.plan.id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"lapsed": 2, "places_returned": 1}
    result = cli.invoke(args=["registrations", "lapse"])
    assert result.exit_code == 0 and "0 条" in result.output and used(world) == 0


def test_the_command_refuses_an_unknown_plan(cli):
    result = cli.invoke(args=["registrations", "lapse", "--plan", "999999", "--json"])
    assert result.exit_code == 1 and json.loads(result.output) == {"error": "考试计划 999999 不存在"}
    result = cli.invoke(args=["registrations", "lapse", "--plan", str(2**40)])
    assert result.exit_code == 1 and "不存在" in result.output


# ---- the scheduled job ------------------------------------------------------------------------

def test_the_job_runs_every_ten_minutes():
    task = lapse_tasks.lapse_overdue_registrations.s()  # the task as the scheduler sees it
    assert task.validate_datetime(datetime(2030, 6, 1, 9, 10))
    assert task.validate_datetime(datetime(2030, 6, 1, 9, 0))
    assert not task.validate_datetime(datetime(2030, 6, 1, 9, 5))


def test_the_job_lapses_and_commits(world, monkeypatch):
    reg = register(world)
    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    assert lapse_tasks.lapse_overdue_registrations.call_local() == {"lapsed": 1, "places_returned": 1}
    db.session.refresh(reg)
    assert reg.state == RegistrationState.LAPSED and used(world) == 0


# ---- a quota line covers a year: every plan of that year draws on it ---------------------------

def _two_plans_one_place():
    """A line of 1 place, plan A (deadline in 20 days) and plan B (open for 30 days, deadline in 35)."""
    from datetime import timedelta

    from examadmin.catalog.models import Level
    from tests.exams.factories import make_plan, make_subject
    from tests.registrations.factories import ready_school, verified

    school = ready_school({"心理健康教育": 1})

    def at(days):
        return (clock.now() + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")

    plan_b = make_plan([(make_subject(Level.JUNIOR), "09:00", "11:00", (clock.now() + timedelta(days=50)).date())],
                       registration_start=at(-1), registration_end=at(30), payment_deadline=at(35),
                       ticket_start=at(36), ticket_end=at(60))
    first = verified(school.user, name="甲同学")
    second = verified(school.user, name="乙同学")
    return school, plan_b, first, second


def _register_in_b(how, school, plan_b, candidate, tmp_path):
    from examadmin.catalog.models import Level
    from examadmin.registrations import services
    from examadmin.registrations.importer import import_rows
    from tests.registrations.helpers import row, write_sheet

    site = school.sites[Level.JUNIOR]
    if how == "list":
        return len(services.register_candidates(school.user, plan_b.id, site.id, [candidate.id]))
    report = import_rows(school.user, school.school_id, plan_b.id,
                         write_sheet(tmp_path / "b.xlsx", [row(candidate, site)]))
    assert not report.errors, report.as_dict()
    return report.created


@pytest.mark.parametrize("how", ["list", "import"])
def test_a_place_held_past_another_plans_deadline_goes_back_before_registering_in_a_later_plan(
        how, monkeypatch, tmp_path):
    from examadmin.catalog.models import Level
    from examadmin.registrations import lists, services
    from tests.registrations.factories import later

    school, plan_b, first, second = _two_plans_one_place()
    line = school.lines["心理健康教育"]
    [held] = services.register_candidates(school.user, school.plan.id, school.sites[Level.JUNIOR].id, [first.id])
    assert lists.places_by_line([line.id]) == {line.id: 1}
    moment = later(25)  # plan A's payment deadline has passed; plan B's window is open
    monkeypatch.setattr(clock, "now", lambda: moment)
    # the ledger's 其中报考占用 no longer counts the overdue registration, before any lapse is written
    assert lists.places_by_line([line.id]) == {}

    assert _register_in_b(how, school, plan_b, second, tmp_path) == 1

    held = db.session.get(Registration, held)
    assert held.state == RegistrationState.LAPSED and held.quota_line_id is None
    db.session.refresh(line)
    assert line.used == 1
    assert lists.places_by_line([line.id]) == {line.id: 1}
