"""Factories of the tests of what follows issue (verification, downloads, paper, revocation,
renewals): a certificate record inserted directly in a given state, without going through the
three issuance stages each time.

An issued record is a row as stage three leaves it (a number with its check character, an
issue date, an Ed25519 signature over the data), but its stored "PDF" is one line of text: a
test that looks at the e-certificate itself issues through the services (test_issuance.py),
and so does the browser journey (tests/e2e/test_certificates_journey.py).
"""
from __future__ import annotations

import io
import itertools
import secrets
from datetime import date

from reportlab.pdfgen import canvas
from sqlalchemy import select

from examadmin.certificates import numbers, signing
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.states import CertificateState
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from examadmin.scores.models import Result, ScorePublication
from examadmin.scores.states import PublicationStage
from tests.conftest import make_user
from tests.exams.factories import make_plan, make_subject
from tests.scheduling.factories import make_candidate, make_registration
from tests.sites.factories import make_site

_seq = itertools.count(1)


def make_plan_and_site(school_user=None, level: Level = Level.JUNIOR):
    """A published plan whose scores are final, and an approved site of `school_user`'s school."""
    school_user = school_user or make_user("school")
    site = make_site(school_user, level)
    plan = make_plan([(make_subject(level, "机考"), "09:00", "11:00")])
    publication = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan.id))
    if publication is None:
        db.session.add(ScorePublication(plan_id=plan.id, stage=PublicationStage.FINAL, published_at=clock.now()))
    else:
        publication.stage = PublicationStage.FINAL
    db.session.flush()
    return plan, site, school_user


def new_number() -> str:
    """A well-formed number no issuance gives (certificate 9999), unique within the run."""
    return numbers.make_number(date.today().year, 9999, secrets.randbelow(99_000) * 1000 + next(_seq) % 1000 + 1)


def _pdf(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def make_record(plan, site, *, state: CertificateState = CertificateState.ISSUED, name: str | None = None,
                candidate=None, registration=None) -> CertificateRecord:
    """A passed final result and its certificate record; issued (number, PDF, signature) unless told."""
    if registration is not None:
        candidate = registration.candidate
    candidate = candidate or make_candidate(site.school_id, name=name)
    registration = registration or make_registration(candidate, plan, site)
    result = Result(registration_id=registration.id, plan_id=plan.id, school_id=site.school_id,
                    certificate_level_id=site.certificate_level_id, id_type=candidate.id_type,
                    id_number=candidate.id_number, passed=True)
    db.session.add(result)
    db.session.flush()
    record = CertificateRecord(
        result_id=result.id, registration_id=registration.id, candidate_id=candidate.id, plan_id=plan.id,
        school_id=site.school_id, site_id=site.id, certificate_level_id=site.certificate_level_id,
        name=candidate.name, gender=candidate.gender, id_type=candidate.id_type, id_number=candidate.id_number,
        verify_code=secrets.token_urlsafe(24), state=state)
    if state in (CertificateState.ISSUED, CertificateState.REVOKED, CertificateState.GENERATING):
        record.number = new_number()
        record.issue_date = clock.now().date()
    if state in (CertificateState.ISSUED, CertificateState.REVOKED):
        record.issued_at = clock.now()
        record.file_key = get_storage().save(get_storage().new_key("certificates", ".pdf"),
                                             _pdf(f"certificate {record.number}"))
        record.signature = signing.sign(record)
    if state == CertificateState.REVOKED:
        record.revoked_at = clock.now()
        record.revoke_reason = "测试撤销"
    db.session.add(record)
    db.session.flush()
    return record


def make_candidate_user(record: CertificateRecord):
    """A candidate account bound to the record's candidate."""
    user = make_user("candidate", school=record.school)
    user.candidate_id = record.candidate_id
    db.session.flush()
    return user
