"""The demo's open plan (第4次) obeys the registration rules as of the day it loads: the past plan's
results are final, so those who passed 初级 are not registered for it again, those who failed or
were absent register as retakes (no place), the social candidate who passed moves on to 中级 and
his order waits for the org; some paid, some unpaid, 吴桐 left to register."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.candidates.models import Candidate
from examadmin.core.auth import find_user
from examadmin.extensions import db
from examadmin.registrations import services
from examadmin.registrations.models import Registration, RetakeBasis
from examadmin.registrations.services import Entry
from examadmin.registrations.states import LIVE, PaymentState, RegistrationState


def test_the_open_plans_registrations_obey_the_rules_as_of_now(cli):
    assert cli.invoke(args=["demo"]).exit_code == 0
    school = find_user("school1")
    plan = services.open_plans(school)[0]
    assert "第4次" in plan.name
    rows = db.session.scalars(select(Registration).where(Registration.plan_id == plan.id)
                              .order_by(Registration.id)).all()
    shown = {r.candidate.name: r for r in rows}
    assert set(shown) == {"刘明", "黄晓雯", "郑海"}  # 陈同学 and 周杰 passed 初级; 吴桐 is left for you

    for name in ("刘明", "黄晓雯"):  # failed and absent in 第2次: retakes the results make known
        r = shown[name]
        assert r.certificate_level.level.value == "初级" and r.is_retake and r.retake_basis == RetakeBasis.RESULT
        assert r.quota_line_id is None
    assert shown["刘明"].state == RegistrationState.PAID
    assert shown["黄晓雯"].state == RegistrationState.UNPAID and shown["黄晓雯"].payment_order_id is None
    zheng = shown["郑海"]  # passed 初级 as a social candidate: 中级, his own order waiting for the org
    assert zheng.certificate_level.level.value == "中级" and zheng.quota_line_id is None
    assert zheng.state == RegistrationState.UNPAID and zheng.payment_order.state == PaymentState.SUBMITTED
    assert zheng.payment_order.kind.value == "社会考生个人缴费"

    # every live registration of the plan would pass the rules again today but for being registered
    people = {c.name: c for c in db.session.scalars(select(Candidate).where(Candidate.school_id == school.school_id))}
    passers = [people["陈同学"], people["周杰"]]
    junior = shown["刘明"].site
    checked = services.check_entries(school, school.school, plan, [Entry(c, junior, row=i)
                                                                   for i, c in enumerate(passers)])
    assert len(checked.problems) == 2 and all("已通过初级考核" in p.message for p in checked.problems)
    assert not any(r.state in LIVE and r.candidate.name in ("陈同学", "周杰") for r in rows)
    # 吴桐 can still be registered against quota at the 初级 site
    checked = services.check_entries(school, school.school, plan, [Entry(people["吴桐"], junior, row=1)])
    assert not checked.problems and checked.good[0]["quota_line_id"] is not None

    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent: nothing registered or paid twice
    assert db.session.scalar(select(db.func.count()).select_from(Registration)
                             .where(Registration.plan_id == plan.id)) == 3
