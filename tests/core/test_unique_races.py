"""Unique-constraint races in every area answer the message of the sequential case.

Six requests at once create the same thing (a username, a site for one level, an
application for one level, a subject name, a school code); one succeeds, the others read the Chinese
message a second request one minute later would read. On PostgreSQL every request passes
the check before any writes (tests/threads.py), so the unique constraint is what refuses
them; on SQLite writers take turns and the check does.
"""
from __future__ import annotations

import pytest

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core import auth
from examadmin.core.auth import User
from examadmin.exams.services import plans
from examadmin.extensions import db
from examadmin.sites import services as sites
from tests.conftest import PASSWORD, make_user, province
from tests.pilots.conftest import apply, make_plan
from tests.sites.factories import level_of, site_data
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture
RACERS = 6


def _setup_user(role: str, **kw) -> int:
    user = make_user(role, **kw)
    db.session.commit()
    return user.id


def _actor(user_id: int) -> User:
    return db.session.get(User, user_id)


def case_username():
    admin = _setup_user("sysadmin")
    return (lambda: auth.create_user(_actor(admin), username="same.name", name="重名", role="org",
                                     password=PASSWORD),
            "用户名「same.name」已被使用")


def case_site():
    school = _setup_user("school")
    data = site_data(Level.JUNIOR)
    return lambda: sites.apply_site(_actor(school), data), "的考核站点（待审核），请在原申报上修改"


def case_application():
    school = _setup_user("school")
    plan = make_plan(year=2032)
    db.session.commit()
    plan_id = plan.id

    def create():
        from examadmin.pilots.models import ApplicationPlan

        apply(_actor(school), db.session.get(ApplicationPlan, plan_id))
    return create, "请在原申报上修改"


def case_subject():
    org = _setup_user("org")
    level_id = level_of(Level.MIDDLE).id
    return (lambda: plans.save_subject(_actor(org), {"certificate_level_id": level_id, "name": "同名科目",
                                                     "mode": "笔试", "full_mark": 100, "pass_mark": 60}),
            "已有科目「同名科目」")


def case_school():
    admin = _setup_user("sysadmin")
    data = {"code": "5888888888", "name": "同码职业学院", "type": "高职专科院校", "province_id": province("50").id}
    return lambda: catalog.save_school(_actor(admin), data), "学校标识码 5888888888 已被使用"


@pytest.mark.parametrize("case", [case_username, case_site, case_application, case_subject, case_school],
                         ids=lambda c: c.__name__)
def test_parallel_creations_of_one_unique_thing(app, case):
    with app.app_context():
        action, message = case()
        db.session.commit()
        db.session.remove()
    answers = race(app, action, RACERS)
    assert answers.count("ok") == 1, answers
    assert all(message in a for a in answers if a != "ok"), answers


# ---- first saves of a one-per-parent record: the later requests update it, none answers 500 ----

def case_renewal_policy():
    from examadmin.renewals import services as renewals
    from examadmin.renewals.models import RenewalPolicy
    from tests.conftest import the_certificate

    org, certificate_id = _setup_user("org"), the_certificate().id
    data = {"validity_years": "3", "window_months": "3", "hours_required": "60", "late_hours_required": "80",
            "grace_months": "12"}
    return (lambda: renewals.save_policy(_actor(org), certificate_id, data),
            lambda: db.session.query(RenewalPolicy).filter_by(certificate_id=certificate_id).count())


def case_hours_requirement():
    from examadmin.hours import requirements
    from examadmin.hours.models import HoursRequirement

    org, level_id = _setup_user("org"), level_of(Level.MIDDLE).id
    return (lambda: requirements.save_requirement(_actor(org), level_id, "40", "100", "拒绝"),
            lambda: db.session.query(HoursRequirement).filter_by(certificate_level_id=level_id).count())


@pytest.mark.parametrize("case", [case_renewal_policy, case_hours_requirement], ids=lambda c: c.__name__)
def test_parallel_first_saves_of_a_setting_all_succeed_with_one_row(app, case):
    with app.app_context():
        action, rows = case()
        db.session.commit()
        db.session.remove()
    answers = race(app, action, RACERS)
    assert answers == ["ok"] * RACERS, answers
    with app.app_context():
        assert rows() == 1


# ---- one action on one record, clicked twice at once: one does it, the other is told why --------

def case_portal_accounts():
    from examadmin.portal import services as portal
    from tests.scheduling.factories import make_candidate

    school_user = make_user("school")
    candidate_id = make_candidate(school_user.school_id).id
    db.session.commit()
    user_id = school_user.id
    return lambda: portal.open_accounts(_actor(user_id), [candidate_id]), "所选考生都已开通账号"


def case_score_display():
    from examadmin.scores import services as scores
    from tests.scores.factories import make_scored_setup

    s = make_scored_setup(people=1, subjects=1)
    room_id = s.seat(s.registrations[0], s.subjects[0]).room_id
    seat_id = s.seat(s.registrations[0], s.subjects[0]).id
    scores.save_grid(s.org, s.plan.id, room_id, {seat_id: {"score": "70"}})
    db.session.commit()
    org_id, plan_id = s.org.id, s.plan.id
    return lambda: scores.open_display(_actor(org_id), plan_id, 5), "成绩公示中"


def case_one_person_registered_at_once():
    from examadmin.catalog.models import Level
    from examadmin.registrations import services as registrations
    from tests.registrations.factories import ready_school, verified

    school = ready_school()
    person = verified(school.user, name="并发考生", kind="社会考生")
    db.session.commit()
    user_id, plan_id, site_id, candidate_id = school.user.id, school.plan.id, school.sites[Level.JUNIOR].id, person.id
    # every refusal names the person, whether the check or the database's unique index saw it
    return (lambda: registrations.register_candidates(_actor(user_id), plan_id, site_id, [candidate_id]),
            "并发考生")


def case_site_disable():
    from examadmin.sites import services as site_services
    from tests.sites.factories import make_site

    school_user, org = make_user("school"), make_user("org")
    site_id = make_site(school_user).id
    db.session.commit()
    org_id = org.id
    return lambda: site_services.disable_site(_actor(org_id), site_id, "整改"), "已停用"


def case_proctor_password():
    from examadmin.scheduling.services import proctors
    from tests.candidates.helpers import id_number

    school_user = make_user("school")
    proctor = proctors.save_proctor(school_user, {"name": "并发老师", "phone": "13900000009",
                                                  "id_number": id_number("19800109")})
    proctors.create_account(school_user, proctor.id)
    db.session.commit()
    user_id, proctor_id = school_user.id, proctor.id
    return lambda: proctors.reset_account_password(_actor(user_id), proctor_id), "重置过密码"


@pytest.mark.parametrize("case", [case_portal_accounts, case_score_display, case_one_person_registered_at_once,
                                  case_site_disable,
                                  case_proctor_password], ids=lambda c: c.__name__)
def test_one_action_clicked_twice_at_once_is_done_once(app, case):
    with app.app_context():
        action, message = case()
        db.session.commit()
        db.session.remove()
    answers = race(app, action, RACERS)
    assert answers.count("ok") == 1, answers
    assert all(message in a for a in answers if a != "ok"), answers


def test_certificate_records_made_twice_at_once_are_made_once(app):
    """Two 生成证书记录 at once: the second waited for nothing and failed on the unique
    result_id with a 500 (PostgreSQL); now it waits for the plan's lock and finds them made."""
    from sqlalchemy import func, select

    from examadmin.certificates import services as certificates
    from examadmin.certificates.models import CertificateRecord
    from tests.certificates.factories import make_setup

    with app.app_context():
        s = make_setup(passed=3, failed=0)
        plan_id, org_id = s.plan.id, s.org.id
        db.session.commit()
        db.session.remove()
    answers = race(app, lambda: certificates.make_records(plan_id, _actor(org_id)), RACERS)
    assert answers == ["ok"] * RACERS, answers
    with app.app_context():
        made = db.session.scalar(select(func.count(CertificateRecord.id)).where(CertificateRecord.plan_id == plan_id))
    assert made == 3
