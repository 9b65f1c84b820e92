"""A score whose result has a certificate record (not 已撤销) cannot change: the record would
otherwise stay 已发放 and verify as 有效 while the person fails and becomes a retaker.

The scores are entered and published through the real scores services; the certificate
records are made by certificates.services.make_records and then brought to 已发放 as stage
three leaves them (number, issue date, signature)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from examadmin.certificates import numbers, revocation, services as certificates, signing, verification
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.states import CertificateState
from examadmin.core import clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.scores import importer, results, services
from examadmin.scores.models import Result, Score
from tests.scores.factories import make_scored_setup

REASON = "复核发现漏判"


def _room(s):
    return s.seat(s.registrations[0], s.subjects[0]).room_id


def _published(people: int = 2):
    """A held exam, every score 80 (passed), display run, results final, certificate records made."""
    s = make_scored_setup(people=people, subjects=1)
    _, _, grid = services.entry_grid(s.org, s.plan.id, _room(s))
    services.save_grid(s.org, s.plan.id, _room(s), {r.seat_id: {"score": "80"} for r in grid})
    services.open_display(s.org, s.plan.id, 1)
    with mock.patch("examadmin.core.clock.now", return_value=clock.now() + timedelta(days=2)):
        services.publish_final(s.org, s.plan.id)
    assert certificates.make_records(s.plan.id, s.org) == people
    return s


def _issue(record: CertificateRecord) -> None:
    """As stage three leaves a record: 已发放 with a number, an issue date and its signature."""
    record.state = CertificateState.ISSUED
    record.number = numbers.make_number(clock.now().year, 9998, record.id)
    record.issue_date, record.issued_at = clock.now().date(), clock.now()
    record.signature = signing.sign(record)
    db.session.flush()


def _record(registration) -> CertificateRecord:
    return db.session.scalar(select(CertificateRecord).where(CertificateRecord.registration_id == registration.id))


def _score(registration) -> Decimal:
    return db.session.scalar(select(Score.score).where(Score.registration_id == registration.id))


def _passed(registration) -> bool | None:
    return db.session.scalar(select(Result.passed).where(Result.registration_id == registration.id))


def test_a_score_with_an_issued_certificate_cannot_be_corrected_in_the_grid():
    s = _published()
    holder, other = s.registrations
    record = _record(holder)
    _issue(record)
    seats = {r.registration_id: r.seat_id for r in services.entry_grid(s.org, s.plan.id, _room(s))[2]}
    report, rows = services.save_grid(s.org, s.plan.id, _room(s), {
        seats[holder.id]: {"score": "40"}, seats[other.id]: {"score": "80"}}, reason=REASON)
    name = holder.candidate.name
    assert report.saved == 0
    assert report.errors == {seats[holder.id]: f"{name}的成绩已生成证书（状态：已发放；证书编号：{record.number}），"
                                                "须先撤销证书后再更正成绩"}
    row = next(r for r in rows if r.seat_id == seats[holder.id])
    assert row.typed == "40" and "撤销证书" in row.error
    assert _score(holder) == Decimal("80.0") and _passed(holder) is True
    assert record.state == CertificateState.ISSUED
    assert verification.verify_by_code(record.verify_code).status == verification.VALID
    assert not results.is_retaker(holder.id_type, holder.id_number, holder.certificate_level_id)


def test_a_record_still_being_signed_also_holds_the_score():
    s = _published(people=1)
    holder = s.registrations[0]
    assert _record(holder).state == CertificateState.ORG_SIGNING
    seat_id = services.entry_grid(s.org, s.plan.id, _room(s))[2][0].seat_id
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {seat_id: {"score": "", "violation": True}},
                                   reason=REASON)
    assert "状态：待评价组织签发）" in report.errors[seat_id] and "证书编号" not in report.errors[seat_id]
    assert _score(holder) == Decimal("80.0")


def test_in_the_import_it_is_a_row_error_and_an_unchanged_row_is_none(tmp_path):
    s = _published()
    holder, other = s.registrations
    _issue(_record(holder))
    _issue(_record(other))
    subject = s.subjects[0].name
    book = Workbook()
    book.active.append(["准考证号", "科目", "成绩", "缺考", "违纪"])
    book.active.append([s.ticket(other), subject, "80", "", ""])   # as stored: no change
    book.active.append([s.ticket(holder), subject, "55", "", ""])  # a change
    path = tmp_path / "scores.xlsx"
    book.save(path)
    report = importer.import_rows(s.org, s.plan.id, path, reason=REASON)
    assert not report.imported
    assert [(p.row, p.column) for p in report.errors] == [(3, "成绩")]
    assert "须先撤销证书后再更正成绩" in report.errors[0].message
    assert holder.candidate.name in report.errors[0].message
    assert _score(holder) == Decimal("80.0")


def test_the_service_itself_refuses_whatever_calls_it():
    s = _published(people=1)
    holder = s.registrations[0]
    _issue(_record(holder))
    change = services.Change(holder.id, s.subjects[0].id, holder.school_id, Decimal("30.0"), False, False)
    with pytest.raises(DomainError, match="须先撤销证书"):
        services._write(s.org, s.plan.id, [change], None, reason=REASON, source="测试")
    assert _score(holder) == Decimal("80.0")


def test_after_revoking_the_certificate_the_score_can_be_corrected():
    s = _published(people=1)
    holder = s.registrations[0]
    record = _record(holder)
    _issue(record)
    revocation.revoke(s.org, record.id, "阅卷错误，成绩须更正")
    seat_id = services.entry_grid(s.org, s.plan.id, _room(s))[2][0].seat_id
    report, _ = services.save_grid(s.org, s.plan.id, _room(s), {seat_id: {"score": "40"}}, reason=REASON)
    assert report.errors == {} and report.saved == 1
    assert _score(holder) == Decimal("40.0") and _passed(holder) is False
    assert verification.verify_by_code(record.verify_code).status == verification.REVOKED
    assert results.is_retaker(holder.id_type, holder.id_number, holder.certificate_level_id)
