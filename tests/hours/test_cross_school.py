"""Security review (issue 14): another school cannot give a person hours, or see their evidence,
through a candidate record it made with that person's ID number (unique only per school).

The rule (README, 学时): hours count only when their candidate record is 信息准确; a school
imports and verifies hours only for its candidates that are 信息准确; hours towards
re-registration count only when recorded at the certificate's school or verified by the org;
a candidate account sees the hours of its own candidate record only.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.candidates.states import CandidateState
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours import services as hours
from examadmin.hours.importer import import_rows
from examadmin.hours.models import HoursRecord
from examadmin.hours.requirements import verified_by_kind
from examadmin.hours.states import HoursState
from examadmin.portal.services import _new_user
from tests.conftest import login_as
from tests.hours.factories import PDF, add_hours, days_ago, holder, write_hours_sheet
from tests.registrations.factories import verified
from tests.sites.factories import make_user


def line(candidate, kind="继续教育", hours=6):
    return [candidate.id_number, candidate.name, kind, days_ago(5).isoformat(), "某培训机构", hours]


def twin(school_user, of, state=CandidateState.PENDING):
    """Another school's candidate record with the same name and ID number."""
    return verified(school_user, name=of.name, number=of.id_number, state=state)


def test_another_school_cannot_import_hours_through_an_unverified_twin(tmp_path):
    real, _ = holder()
    school3 = make_user("school")
    twin(school3, real)
    path = write_hours_sheet(tmp_path / "x.xlsx", [line(real, "督导", 20)])
    report = import_rows(school3, path, file_name="x.xlsx")
    assert not report.created and report.errors, report.as_dict()
    assert db.session.scalar(select(HoursRecord.id)) is None


def test_hours_of_a_candidate_record_that_is_not_accurate_do_not_count(tmp_path):
    real, _ = holder()
    fake = twin(make_user("school"), real)
    add_hours(fake, "督导", 20)
    add_hours(fake, "继续教育", 20)
    assert hours.verified_hours(real.id_type, real.id_number) == 0
    assert verified_by_kind([(real.id_type, real.id_number)], list({r.kind for r in db.session.scalars(
        select(HoursRecord))})) == {}
    fake.state = CandidateState.ACCURATE
    db.session.flush()
    assert hours.verified_hours(real.id_type, real.id_number) == 40


def test_a_school_cannot_verify_hours_of_a_candidate_that_is_not_accurate():
    school = make_user("school")
    candidate, user = holder(school)
    record = hours.record_hours(user, "督导", days_ago(3), "某培训机构", "5", "a.pdf", PDF)
    candidate.state = CandidateState.NEEDS_REVIEW
    db.session.flush()
    with pytest.raises(DomainError, match="信息准确"):
        hours.verify_records(school, [record.id])
    assert record.state == HoursState.PENDING


def test_renewal_hours_count_only_from_the_certificates_school_or_the_org():
    real, _ = holder()
    other_school = make_user("school")
    fake = twin(other_school, real, state=CandidateState.ACCURATE)
    from_other = add_hours(fake, "继续教育", 20)
    from_other.reviewer_id = other_school.id
    db.session.flush()
    assert hours.verified_hours(real.id_type, real.id_number, school_id=real.school_id) == 0
    assert hours.verified_hours(real.id_type, real.id_number, school_id=fake.school_id) == 20
    from_other.reviewer_id = make_user("org").id
    db.session.flush()
    assert hours.verified_hours(real.id_type, real.id_number, school_id=real.school_id) == 20


def test_a_candidate_account_sees_only_its_own_candidate_records_hours(client):
    real, real_user = holder()
    record = hours.record_hours(real_user, "督导", days_ago(3), "某培训机构", "5", "证书.pdf", PDF)
    fake = twin(make_user("school"), real)
    fake_user = _new_user(fake)
    db.session.add(fake_user)
    db.session.flush()
    assert hours.own_records(fake_user) == []
    assert hours.own_totals(fake_user)["督导"] == 0
    login_as(client, fake_user)
    assert client.get(f"/hours/{record.id}/evidence").status_code == 404
    mine = client.get("/hours/mine")
    assert mine.status_code == 200 and "某培训机构" not in mine.get_data(as_text=True)


@pytest.mark.parametrize("raw", ["1_0", "2_4", "_5"])
def test_hours_with_underscores_are_refused(raw):
    with pytest.raises(DomainError, match="不是数字"):
        hours.parse_hours(raw)


@pytest.mark.parametrize("raw, expected", [
    ("\u202e构机训培", "构机训培"), ("中国\u200b心理学会", "中国心理学会"), ("某机构\x07", "某机构")])
def test_control_and_format_characters_are_dropped_from_provider_names(raw, expected):
    assert hours.parse_provider(raw) == expected


def test_a_provider_of_only_zero_width_characters_is_refused():
    with pytest.raises(DomainError, match="请填写培训或实践机构"):
        hours.parse_provider("\u200b\u200c\u200d\ufeff")
