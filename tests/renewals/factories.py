"""Factories of the renewal tests: an issued certificate of a given issue date, its holder's account,
verified continuing-education hours (part A's model), and the city and province of the holder's school."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from examadmin.catalog.models import School
from examadmin.certificates import signing
from examadmin.core import clock
from examadmin.extensions import db
from examadmin.hours.models import HoursKind, HoursRecord
from examadmin.hours.states import HoursState
from tests.certificates.factories_issued import make_candidate_user, make_plan_and_site, make_record
from tests.conftest import make_user


@dataclass
class Holder:
    record: object
    user: object
    school: School
    city_user: object
    province_user: object


def make_holder(issue_date: date, *, state=None) -> Holder:
    """An issued certificate dated `issue_date` (signature renewed), its holder, city and province staff."""
    plan, site, school_user = make_plan_and_site()
    kwargs = {"state": state} if state is not None else {}
    record = make_record(plan, site, **kwargs)
    record.issue_date = issue_date
    record.signature = signing.sign(record)
    db.session.flush()
    school = db.session.get(School, record.school_id)
    user = make_candidate_user(record)
    city_user = make_user("city", city=school.city)
    province_user = make_user("province", province_code=school.province.code)
    return Holder(record, user, school, city_user, province_user)


def add_hours(record, hours: str, day: date, *, kind: HoursKind = HoursKind.CONTINUING,
              state: HoursState = HoursState.VERIFIED) -> HoursRecord:
    row = HoursRecord(id_type=record.id_type, id_number=record.id_number, candidate_id=record.candidate_id,
                      school_id=record.school_id, kind=kind, date=day, provider="测试培训机构",
                      hours=Decimal(hours), state=state, reviewed_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row
