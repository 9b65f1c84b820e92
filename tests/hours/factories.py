"""Holders with portal accounts, and hours records in a given state. Plain callables."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.hours.models import HoursKind, HoursRecord, HoursSource
from examadmin.hours.states import HoursState
from examadmin.portal.services import _new_user
from tests.registrations.factories import verified
from tests.sites.factories import make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def days_ago(n: int) -> date:
    return clock.now().date() - timedelta(days=n)


def holder(school_user=None, **kw):
    """(candidate, candidate user) of a school; the school user is made when not given."""
    school_user = school_user or make_user("school")
    candidate = verified(school_user, **kw)
    user = _new_user(candidate)
    db.session.add(user)
    db.session.flush()
    return candidate, user


def add_hours(candidate, kind: HoursKind | str, hours, *, on: date | None = None,
              state: HoursState = HoursState.VERIFIED, provider: str = "重庆心理督导中心") -> HoursRecord:
    """A stored record as an import would leave it (the rules themselves are tested through the services)."""
    record = HoursRecord(id_type=candidate.id_type, id_number=candidate.id_number, candidate_id=candidate.id,
                         school_id=candidate.school_id, kind=HoursKind(kind), date=on or days_ago(10),
                         provider=provider, hours=Decimal(str(hours)), source=HoursSource.IMPORT, state=state,
                         return_reason="", created_at=clock.now())
    db.session.add(record)
    db.session.flush()
    return record


def write_hours_sheet(path: Path, rows: list[list], headers=("证件号码", "姓名", "类别", "日期", "机构", "学时")) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for values in rows:
        sheet.append(values)
    for cell in sheet["A"]:
        cell.number_format = "@"
    workbook.save(path)
    return path


def enough_hours(candidate, supervision=100, practice=250):
    """Verified 督导 and 实践 hours enough for 中级 and 高级 (the standard's defaults)."""
    add_hours(candidate, "督导", supervision)
    add_hours(candidate, "实践", practice, on=days_ago(11))
