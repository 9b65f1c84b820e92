"""The demo's re-registration: two holders whose window is open, one with enough hours and one short.

The demo's certificates are issued the day the demo loads, so none would reach its window
for years. Two of them are dated back as if issued 34 months ago (two months into the
three-month window): 陈同学 (the `candidate` account) with 96 verified continuing-education
hours, and a classmate with 60 (short of 90), whose portal account is opened and activated
with the demo password. Dating back gives the record a number of its issue year, re-signs it
and redraws its e-certificate, so
public verification still answers 有效 with a valid signature. The reminders run once, so
the portal shows its notice and the sysadmin's outbox the e-mail. Idempotent.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select

from ..catalog.models import School
from ..certificates import signing
from ..certificates.models import CertificateRecord
from ..certificates.states import CertificateState
from ..core import auth, clock
from ..core.auth import SYSTEM, User
from ..core.storage import get_storage
from ..extensions import db
from .models import HolderContact
from .reminders import send_due_reminders
from .validity import add_months

DEMO_SCHOOL = "5150000001"
DEMO_PASSWORD = "demo1234"
#: the portal account of the holder short of hours (also signs in at /login)
HOLDER_USERNAME = "holder2"
#: months between the demo's backdated issue and today: two months into the three-month window
MONTHS_BACK = 34
#: (provider, months after issue, hours) of the verified continuing-education records
ENOUGH = [("重庆市心理学会继续教育中心", 6, "24"), ("中国社会心理学会培训部", 15, "24"),
          ("重庆示范职业技术学院继续教育学院", 22, "24"), ("中国社会心理学会培训部", 27, "24")]
SHORT = [("重庆市心理学会继续教育中心", 8, "24"), ("中国社会心理学会培训部", 20, "24"),
         ("重庆示范职业技术学院继续教育学院", 26, "12")]
EMAILS = ("chen.demo@example.com", "holder2.demo@example.com")


def _backdate(record: CertificateRecord, issue_day: date) -> None:
    """Date the record's issue back, sign it again and redraw its e-certificate with that date."""
    from ..certificates.pdf import CertificatePage, render_to_file
    from ..certificates.demo import demo_base_url
    from ..certificates.services import seal_of, verify_url

    from ..certificates.services import take_numbers

    record.issue_date = issue_day
    record.issued_at = datetime.combine(issue_day, time(10, 0))
    if record.number and not record.number.startswith(f"{issue_day:%Y}"):
        # the number carries the year of issue: a new one of that year (the old one is never reused)
        (record.number,) = take_numbers(record.certificate_level.certificate_id, issue_day.year, 1)
    record.signature = signing.sign(record)
    storage = get_storage()
    level = record.certificate_level
    seal = seal_of(level.certificate_id)
    photo = record.candidate.photo_key
    if record.file_key and seal is not None and storage.exists(seal.image_key):
        render_to_file(CertificatePage(
            name=record.name, gender=record.gender, id_type=record.id_type.value, id_number=record.id_number,
            certificate_name=level.certificate.name, level=level.level.value, number=record.number,
            issue_date=issue_day, org_name=level.certificate.org_name, verify_url=verify_url(record, demo_base_url()),
            photo_path=str(storage.path(photo)) if photo and storage.exists(photo) else None,
            seal_path=str(storage.path(seal.image_key))), str(storage.path(record.file_key)))


def _hours(record: CertificateRecord, holder: User, rows: list[tuple[str, int, str]], verifier: User) -> int:
    """The holder records continuing-education hours with evidence, the school verifies them (part A's services)."""
    from ..certificates.pdf import demo_seal_png
    from ..hours import services as hours
    from ..hours.models import HoursKind, HoursRecord

    from ..hours.states import HoursState

    # Run before: the holder has verified continuing education (the hours demo adds others of 陈同学's)
    if db.session.scalar(select(HoursRecord.id).where(
            HoursRecord.id_number == record.id_number, HoursRecord.kind == HoursKind.CONTINUING,
            HoursRecord.state == HoursState.VERIFIED)) is not None:
        return 0
    evidence = demo_seal_png("学时证明")  # a PNG: the evidence is checked by its first bytes
    made = [hours.record_hours(holder, HoursKind.CONTINUING, add_months(record.issue_date, months), provider,
                               amount, "学时证明.png", evidence) for provider, months, amount in rows]
    hours.verify_records(verifier, [r.id for r in made])
    return len(made)


def _portal_account(record: CertificateRecord, school_user: User, done: dict[str, Any]) -> User:
    from ..portal import services as portal
    from ..portal.models import PortalAccount

    account = db.session.scalar(select(PortalAccount).where(PortalAccount.candidate_id == record.candidate_id))
    if account is not None:
        return account.user
    # A named demo account (`holder2`), so that `examadmin demo` still knows every account as its own.
    user = db.session.scalar(select(User).where(User.username == HOLDER_USERNAME))
    if user is None:
        user = auth.create_user(SYSTEM, username=HOLDER_USERNAME, name=record.name, role="candidate",
                                password=DEMO_PASSWORD, school_id=record.school_id, must_change_password=False)
        done["users"] += 1
    user.candidate_id = record.candidate_id
    db.session.flush()
    (slip,) = portal.open_accounts(school_user, [record.candidate_id])
    portal.activate(slip.candidate.id_number, slip.code, DEMO_PASSWORD, DEMO_PASSWORD)
    return user


def load_demo() -> dict[str, Any]:
    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    school_user = db.session.scalar(select(User).where(User.username == "school1"))
    holder_user = db.session.scalar(select(User).where(User.username == "candidate"))
    if school is None or school_user is None or holder_user is None:
        return {}
    records = db.session.scalars(select(CertificateRecord).where(
        CertificateRecord.school_id == school.id, CertificateRecord.state == CertificateState.ISSUED)
        .order_by(CertificateRecord.id)).all()
    enough = next((r for r in records if r.candidate_id == holder_user.candidate_id), None)
    short = next((r for r in records if r.candidate_id != holder_user.candidate_id), None)
    if enough is None or short is None:
        return {}
    issue_day = add_months(clock.now().date(), -MONTHS_BACK)
    done: dict[str, Any] = {"backdated": 0, "hours": 0, "users": 0}
    for record in (enough, short):
        if record.issue_date and record.issue_date > add_months(clock.now().date(), -12):
            _backdate(record, issue_day)
            done["backdated"] += 1
    short_user = _portal_account(short, school_user, done)
    done["hours"] += _hours(enough, holder_user, ENOUGH, school_user) + _hours(short, short_user, SHORT, school_user)
    for record, email in zip((enough, short), EMAILS):
        if db.session.scalar(select(HolderContact.id).where(HolderContact.candidate_id == record.candidate_id)) is None:
            db.session.add(HolderContact(candidate_id=record.candidate_id, school_id=record.school_id, email=email))
    db.session.flush()
    done["reminded"] = send_due_reminders().reminded
    done["enough_id_number"], done["short_id_number"] = enough.id_number, short.id_number
    done["short_name"] = short.name
    return done
