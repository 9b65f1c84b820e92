"""The list pages stay usable with 500 sites and 2,000 rooms: paginated, and the number of
SQL queries does not grow with the rows (no N+1)."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import event, insert, select

from examadmin.catalog.models import City, Level, School, SchoolType
from examadmin.exams.models import ExamPlan, ExamRoom, ExamSession, PlanFee
from examadmin.exams.states import PlanState
from examadmin.extensions import db
from examadmin.sites.models import ExamSite
from examadmin.sites.states import SiteState
from tests.conftest import login_as
from tests.exams.factories import make_plan, make_room, make_subject
from tests.sites.factories import level_of, make_city, make_site, make_user

#: the most queries any of these pages may take, whatever the number of rows
BOUND = 12


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def _queries(client, url: str) -> int:
    counter = QueryCounter()
    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(connection, "before_cursor_execute", counter)
    assert response.status_code == 200, url
    return counter.count


def _bulk(plan, junior, middle, city: City, own_site: ExamSite, schools: int = 170) -> None:
    """Set-based: 170 schools with a site for each level (510 sites), 2,000 rooms at the
    初级 sites, 25 more rooms at the school's own site, 60 more plans with sessions and fees."""
    first = 7_000_000_000
    db.session.execute(insert(School), [
        {"code": str(first + n), "name": f"批量职业学院{n}", "type": SchoolType.HIGHER_VOCATIONAL,
         "province_id": city.province_id, "city_id": city.id} for n in range(schools)])
    school_ids = db.session.scalars(select(School.id).where(School.name.like("批量职业学院%"))).all()
    levels = [level_of(lv) for lv in Level]
    db.session.execute(insert(ExamSite), [
        {"school_id": sid, "certificate_level_id": lv.id, "name": f"批量站点{sid}-{lv.level.value}",
         "address": "某地", "contact_name": "某人", "contact_phone": "13800000000", "computer_rooms": 2,
         "seats": 100, "state": SiteState.APPROVED if sid % 2 else SiteState.PENDING,
         "submitted_at": datetime(2030, 1, 1)}
        for sid in school_ids for lv in levels])
    junior_sites = db.session.scalars(select(ExamSite.id).where(
        ExamSite.name.like("批量站点%"), ExamSite.certificate_level_id == levels[0].id)).all()
    rooms = [{"plan_id": plan.id, "site_id": site_id, "subject_id": junior.id, "school_id": school_id,
              "name": f"R{n}", "seats": 30}
             for site_id, school_id in zip(junior_sites, school_ids) for n in range(12)][:2000]
    rooms += [{"plan_id": plan.id, "site_id": own_site.id, "subject_id": junior.id, "school_id": own_site.school_id,
               "name": f"本校{n:02d}", "seats": 40} for n in range(25)]
    db.session.execute(insert(ExamRoom), rooms)
    db.session.execute(insert(ExamPlan), [
        {"name": f"批量计划{n}", "certificate_id": plan.certificate_id, "state": PlanState.PUBLISHED,
         "registration_start": datetime(2029, 1, 1), "registration_end": datetime(2029, 1, 2),
         "payment_deadline": datetime(2029, 1, 3), "ticket_start": datetime(2029, 1, 4),
         "ticket_end": datetime(2029, 1, 6)} for n in range(60)])
    plan_ids = db.session.scalars(select(ExamPlan.id).where(ExamPlan.name.like("批量计划%"))).all()
    db.session.execute(insert(ExamSession), [
        {"plan_id": pid, "subject_id": subject.id, "date": date(2029, 1, 5), "start_time": start,
         "end_time": end} for pid in plan_ids for subject, start, end in
        ((junior, time(9), time(11)), (middle, time(14), time(16)))])
    db.session.execute(insert(PlanFee), [{"plan_id": pid, "level": lv, "amount": 100}
                                         for pid in plan_ids for lv in (Level.JUNIOR, Level.MIDDLE)])


@pytest.mark.parametrize("role,page", [
    ("org", "/sites/"),
    ("org", "/sites/?state=待审核&province_id={province}"),
    ("school", "/sites/"),
    ("school", "/exams/rooms?plan_id={plan}"),
    ("school", "/exams/rooms"),
    ("org", "/exams/rooms?plan_id={plan}"),
    ("org", "/exams/plans"),
    ("school", "/exams/plans"),
])
def test_list_pages_take_a_bounded_number_of_queries(client, role, page):
    junior, middle = make_subject(Level.JUNIOR), make_subject(Level.MIDDLE)
    plan = make_plan([(junior, "09:00", "11:00"), (middle, "14:00", "16:00")])
    school_user = make_user("school")
    own_site = make_site(school_user)
    make_room(school_user, plan, own_site, junior, "本校首个考场")
    user = school_user if role == "school" else make_user(role)
    login_as(client, user)
    url = page.format(plan=plan.id, province=own_site.school.province_id)

    few = _queries(client, url)
    _bulk(plan, junior, middle, make_city("50"), own_site)
    assert db.session.scalar(select(db.func.count(ExamSite.id))) >= 500
    assert db.session.scalar(select(db.func.count(ExamRoom.id))) >= 2000
    login_as(client, user)
    many = _queries(client, url)
    assert many <= BOUND, f"{url}: {many} queries"
    # +2 at most: with everything on one page the pager needs no count query (core.web), and
    # the signed-in user's school is read again after the bulk insert's commit expired it
    assert few <= many <= few + 2, f"{url}: {few} queries with a few rows, {many} with many"
    if url != "/sites/" or role != "school":  # a school has one site; every other list is long
        assert "下一页" in client.get(url).get_data(as_text=True), url
