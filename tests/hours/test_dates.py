"""When hours may be dated (issue 14 "Bad input": dated … outside the cycle). 继续教育 hours serve
re-registration: they must fall in the holder's current cycle of an issued certificate (the
renewals area's cycles, registered in hours.services.CYCLE_SOURCES); without a certificate they
cannot be recorded. 督导 and 实践 belong to no cycle but may not be older than 5 years. The same
rules in the import, by row."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from examadmin.certificates.states import CertificateState
from examadmin.core import clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours import services
from examadmin.hours.importer import import_rows
from examadmin.hours.models import HoursRecord
from examadmin.hours.states import HoursState
from examadmin.renewals.validity import add_months
from tests.hours.factories import PDF, add_hours, days_ago, holder, write_hours_sheet
from tests.renewals.factories import make_holder
from tests.sites.factories import make_user


def today() -> date:
    return clock.now().date()


def record(user, kind, day: date, hours="2"):
    return services.record_hours(user, kind, day.isoformat(), "中国心理学会继续教育部", hours, "证明.pdf", PDF)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(HoursRecord))


def test_the_renewals_area_registers_its_cycles_with_hours():
    from examadmin.renewals import hooks_hours

    assert hooks_hours.cycle_spans in services.CYCLE_SOURCES


def test_continuing_education_needs_an_issued_certificate():
    _, user = holder()
    with pytest.raises(DomainError) as refused:
        record(user, "继续教育", days_ago(3))
    assert refused.value.message == "继续教育学时用于证书再登记，您尚无已发放的证书"
    assert refused.value.field == "date" and count() == 0


def test_continuing_education_is_dated_in_the_current_cycle():
    issued = today() - timedelta(days=400)
    h = make_holder(issued)
    for day in (date(2019, 1, 1), issued - timedelta(days=1)):
        with pytest.raises(DomainError) as refused:
            record(h.user, "继续教育", day)
        assert f"日期 {day:%Y-%m-%d} 不在证书当前有效期内" in refused.value.message
        assert f"{issued:%Y-%m-%d} 至" in refused.value.message
    assert record(h.user, "继续教育", issued).state == HoursState.PENDING  # the first valid day counts
    assert record(h.user, "继续教育", days_ago(2)).state == HoursState.PENDING
    assert count() == 2


def test_after_expiry_late_re_registration_takes_hours_up_to_today():
    issued = add_months(today(), -38)  # expired two months ago: 未再登记, 补办 possible
    h = make_holder(issued)
    assert record(h.user, "继续教育", days_ago(1)).state == HoursState.PENDING
    with pytest.raises(DomainError, match="不在证书当前有效期内"):
        record(h.user, "继续教育", issued - timedelta(days=1))


def test_a_revoked_certificate_takes_no_continuing_education():
    h = make_holder(today() - timedelta(days=100), state=CertificateState.REVOKED)
    with pytest.raises(DomainError, match="均已失效或已撤销"):
        record(h.user, "继续教育", days_ago(2))


@pytest.mark.parametrize("kind", ["督导", "实践"])
def test_supervision_and_practice_are_not_older_than_five_years(kind):
    _, user = holder()
    bound = services.earliest_practice_day()
    assert bound == add_months(today(), -60)
    with pytest.raises(DomainError) as refused:
        record(user, kind, bound - timedelta(days=1))
    assert f"早于 5 年前（{bound:%Y-%m-%d}）" in refused.value.message and refused.value.field == "date"
    assert record(user, kind, bound).state == HoursState.PENDING  # no certificate needed, no cycle


def test_a_resubmitted_record_is_dated_by_the_same_rules():
    candidate, user = holder()
    returned = add_hours(candidate, "督导", "2", state=HoursState.RETURNED)
    with pytest.raises(DomainError, match="尚无已发放的证书"):
        services.resubmit_hours(user, returned.id, "继续教育", days_ago(3).isoformat(), "机构", "2", "证明.pdf", PDF)


def test_the_import_applies_the_date_rules_by_row(tmp_path):
    issued = today() - timedelta(days=400)
    h = make_holder(issued)
    certified = h.record.candidate
    plain, _ = holder()
    path = write_hours_sheet(tmp_path / "dates.xlsx", [
        [certified.id_number, certified.name, "继续教育", days_ago(5).isoformat(), "机构", 6],   # 2: in the cycle
        [certified.id_number, certified.name, "继续教育", "2019-01-01", "机构", 6],              # 3: before it
        [plain.id_number, plain.name, "继续教育", days_ago(5).isoformat(), "机构", 6],           # 4: no certificate
        [plain.id_number, plain.name, "实践", (today() - timedelta(days=6 * 366)).isoformat(), "机构", 6],  # 5
        [plain.id_number, plain.name, "督导", days_ago(5).isoformat(), "机构", 6],               # 6: fine
    ])
    report = import_rows(make_user("org"), path)
    assert not report.imported and count() == 0
    problems = {(p.row, p.column): p.message for p in report.errors}
    assert set(problems) == {(3, "日期"), (4, "日期"), (5, "日期")}
    assert "不在证书当前有效期内" in problems[(3, "日期")]
    assert problems[(4, "日期")] == "继续教育学时用于证书再登记，该持证人尚无已发放的证书"
    assert "早于 5 年前" in problems[(5, "日期")]
    kept = import_rows(make_user("org"), path, valid_only=True)
    assert kept.imported and kept.created == 2 and count() == 2
