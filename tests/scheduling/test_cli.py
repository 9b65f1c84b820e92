"""`examadmin schedule`: JSON output and exit status."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from examadmin.extensions import db
from examadmin.scheduling.models import Seat
from tests.scheduling.factories import make_setup, register_many


def test_schedule_prints_placed_and_already_placed(cli):
    s = make_setup(rooms=(5,))
    register_many(s.plan, s.site, 3)
    db.session.commit()
    result = cli.invoke(args=["schedule", "--plan", str(s.plan.id), "--site", str(s.site.id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"placed": 3, "already_placed": 0, "shortfall": []}
    register_many(s.plan, s.site, 1)
    db.session.commit()
    again = cli.invoke(args=["schedule", "--plan", str(s.plan.id), "--json"])
    assert json.loads(again.output) == {"placed": 1, "already_placed": 3, "shortfall": []}
    nothing = cli.invoke(args=["schedule", "--plan", str(s.plan.id)])
    assert nothing.exit_code == 0 and "没有需要排考的已缴费考生" in nothing.output


def test_a_shortfall_exits_1_with_site_session_and_missing(cli):
    s = make_setup(rooms=(2,))
    register_many(s.plan, s.site, 5)
    db.session.commit()
    result = cli.invoke(args=["schedule", "--plan", str(s.plan.id), "--json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["placed"] == 0 and out["shortfall"] == [
        {"site": s.site.name, "session": s.plan.sessions[0].label, "missing": 3}]
    assert "还差 3 个" in result.stderr
    assert db.session.scalar(select(func.count(Seat.id)).where(Seat.plan_id == s.plan.id)) == 0


def test_an_unknown_plan_or_a_user_outside_the_scope_is_a_message_not_a_traceback(cli):
    s = make_setup(rooms=(2,))
    db.session.commit()
    result = cli.invoke(args=["schedule", "--plan", "999999"])
    assert result.exit_code == 1 and "找不到" in result.stderr
    other = cli.invoke(args=["schedule", "--plan", str(s.plan.id), "--site", "999999"])
    assert other.exit_code == 1 and "找不到" in other.stderr
