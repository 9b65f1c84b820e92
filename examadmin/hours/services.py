"""Hours (学时): recording by the holder, review by the holder's school or the org, and what a
person has verified (DOMAIN.md §12).

Every rule on a single entry (kind, date, hours, provider) lives in `check_entry`, which the
portal form and the Excel import both use; the day's total of a person is checked against the
records already stored (待审核 and 已核验; a returned one counts again once resubmitted).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import case, func, or_, select, text
from sqlalchemy.orm import joinedload

from ..candidates.corrections import MAX_LETTER_BYTES, MIME_BY_SUFFIX, letter_type
from ..candidates.models import Candidate, IdType
from ..candidates.states import CandidateState
from ..core import audit, clock, idcard, permissions
from ..core.errors import DomainError
from ..core.excel import plain_text
from ..core.numbers import plain_decimal, plain_number_text
from ..core.locks import lock_row
from ..core.storage import delete_after_rollback, get_storage, upload_name
from ..extensions import db
from .models import HoursKind, HoursRecord, HoursSource
from .states import HOURS, HoursState

#: the most hours one person can spend in a day, per record and for the day's total
MAX_PER_DAY = Decimal(24)
MAX_PROVIDER = 100
MAX_REASON = 500
#: rows one bulk 核验 may carry
MAX_SELECTED = 500
#: states whose hours count toward the day's total (a returned record is out until resubmitted)
COUNTED = (HoursState.PENDING, HoursState.VERIFIED)

audit.ACTION_LABELS.update({
    "hours_record.create": "填报学时", "hours_record.verify": "核验学时", "hours_record.return": "退回学时",
    "hours_record.resubmit": "修改后重新提交学时", "hours_record.update": "修改学时记录",
    "hours_record.import": "批量导入学时",
    "hours_requirement.save": "设置报考学时要求",
})
audit.ENTITY_LABELS.setdefault("hours_record", "学时记录")
audit.ENTITY_LABELS.setdefault("hours_requirement", "报考学时要求")


def counting_clause():
    """The verified records that count at all: those matched to a candidate record that is 信息准确
    (a school cannot give someone hours through a candidate record it made up with their ID number)."""
    return HoursRecord.candidate_id.in_(select(Candidate.id).where(Candidate.state == CandidateState.ACCURATE))


def vouched_for_school(school_id: int):
    """Records recorded at or imported/verified by the given school, or verified by the org."""
    from ..core.auth import User
    from ..core.roles import Role

    return (HoursRecord.school_id == school_id) | HoursRecord.reviewer_id.in_(
        select(User.id).where(User.role == Role.ORG))


def verified_hours(id_type: IdType | str, id_number: str, kinds: Iterable[HoursKind | str] | None = None,
                   since: date | None = None, until: date | None = None, *, school_id: int | None = None) -> Decimal:
    """The sum of a person's 已核验 hours that count (counting_clause), optionally of the given kinds,
    dated since..until inclusive; with `school_id`, only those vouched for by that school or the org."""
    query = select(func.coalesce(func.sum(HoursRecord.hours), 0)).where(
        HoursRecord.id_type == IdType(id_type), HoursRecord.id_number == id_number,
        HoursRecord.state == HoursState.VERIFIED, counting_clause())
    if school_id is not None:
        query = query.where(vouched_for_school(school_id))
    if kinds is not None:
        query = query.where(HoursRecord.kind.in_([HoursKind(k) for k in kinds]))
    if since is not None:
        query = query.where(HoursRecord.date >= since)
    if until is not None:
        query = query.where(HoursRecord.date <= until)
    return Decimal(db.session.scalar(query)).quantize(Decimal("0.1"))


# ---- when hours may be dated ------------------------------------------------------------------
#
# 继续教育 hours serve re-registration (DOMAIN.md §12): they count only within a validity cycle of
# an issued certificate, so they must be dated in the holder's current cycle of one of their
# certificates (from its first valid day to its last; for a late re-registration, 补办, to today).
# A person without an issued, still renewable certificate cannot record them. The cycles are the
# renewals area's rule: a later area, it registers its source in CYCLE_SOURCES (renewals/
# hooks_hours.py); hours never imports renewals. 督导 and 实践 hours prepare the higher levels and
# belong to no cycle; they may not be older than PRACTICE_YEARS years.

#: how many years back 督导 and 实践 hours may be dated
PRACTICE_YEARS = 5


@dataclass(frozen=True)
class CycleSpan:
    """One certificate's current cycle as hours see it: the days its 继续教育 hours may be dated."""

    certificate: str
    first_day: date
    last_day: date
    #: False when the certificate can no longer be re-registered (失效 or 撤销): no hours count for it
    renewable: bool = True


#: (persons [(id_type, id_number)], today) -> person -> the cycles of their issued certificates
CYCLE_SOURCES: list[Callable[[list[tuple], date], dict[tuple, list[CycleSpan]]]] = []


def cycle_spans(persons: Iterable[tuple], today: date | None = None) -> dict[tuple, list[CycleSpan]]:
    today = today or clock.now().date()
    persons = list(set(persons))
    found: dict[tuple, list[CycleSpan]] = {}
    for source in CYCLE_SOURCES:
        for person, spans in source(persons, today).items():
            found.setdefault(person, []).extend(spans)
    return found


def earliest_practice_day(today: date | None = None) -> date:
    today = today or clock.now().date()
    try:
        return today.replace(year=today.year - PRACTICE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - PRACTICE_YEARS, day=28)


def check_dated(kind: HoursKind, day: date, spans: list[CycleSpan] | None, *, own: bool = True) -> None:
    """The date rule of a kind: 继续教育 within a current cycle (`spans`: the person's cycles, None when
    no area reports cycles), 督导 and 实践 not older than PRACTICE_YEARS. `own`: the holder's own entry
    (您) or another's (the import: 该持证人)."""
    if kind != HoursKind.CONTINUING:
        bound = earliest_practice_day()
        if day < bound:
            raise DomainError(f"{kind.value}学时的日期 {day:%Y-%m-%d} 早于 {PRACTICE_YEARS} 年前（{bound:%Y-%m-%d}），"
                              f"超过 {PRACTICE_YEARS} 年的{kind.value}学时不再记录，请核对日期", field="date")
        return
    if spans is None:
        return
    who = "您" if own else "该持证人"
    live = [s for s in spans if s.renewable]
    if not spans:
        raise DomainError(f"继续教育学时用于证书再登记，{who}尚无已发放的证书", field="date")
    if not live:
        raise DomainError(f"继续教育学时用于证书再登记，{who}的证书均已失效或已撤销，不能再登记", field="date")
    if any(s.first_day <= day <= s.last_day for s in live):
        return
    cycles = "；".join(f"{s.certificate} {s.first_day:%Y-%m-%d} 至 {s.last_day:%Y-%m-%d}" for s in live[:3])
    raise DomainError(f"日期 {day:%Y-%m-%d} 不在证书当前有效期内（{cycles}）：继续教育学时只计入当前有效期，"
                      "用于再登记", field="date")


def _check_person_dates(person: tuple, entry: "Entry") -> None:
    spans = cycle_spans([person]).get(person, []) if CYCLE_SOURCES else None
    check_dated(entry.kind, entry.date, spans)


# ---- the rules of one entry ---------------------------------------------------------------

@dataclass
class Entry:
    kind: HoursKind
    date: date
    provider: str
    hours: Decimal


def parse_kind(raw: Any) -> HoursKind:
    text = str(raw or "").strip()
    for kind in HoursKind:
        if kind.value == text:
            return kind
    if not text:
        raise DomainError("请选择学时类别（继续教育、督导或实践）", field="kind")
    raise DomainError(f"学时类别「{text[:20]}」无效，应为继续教育、督导或实践", field="kind")


def parse_hours(raw: Any) -> Decimal:
    """Hours as a number greater than 0, at most 24, with at most one decimal."""
    text = plain_number_text(raw)  # 2.5 stays 2.5; ２．５ typed full-width too
    if not text:
        raise DomainError("请填写学时", field="hours")
    value = plain_decimal(text)  # 1_0, 2e1, ٣ and Infinity are not what a person means by hours
    if value is None:
        raise DomainError(f"学时「{text[:20]}」不是数字（请填写如 2 或 2.5 的数）", field="hours")
    if value <= 0:
        raise DomainError("学时须大于 0", field="hours")
    if value > MAX_PER_DAY:
        raise DomainError(f"学时 {value} 小时超过一天 24 小时，请按天分别填报", field="hours")
    if value != value.quantize(Decimal("0.1")):
        raise DomainError(f"学时 {text[:20]} 最多保留一位小数（如 2.5）", field="hours")
    return value.quantize(Decimal("0.1"))


def parse_date(raw: Any) -> date:
    """A date not later than today (Beijing time): a date value, or text 2026-03-01 / 2026/3/1 / 2026.3.1."""
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not text:
            raise DomainError("请填写日期", field="date")
        value = None
        for sep in ("-", "/", "."):
            parts = text.split(" ")[0].split(sep)
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                try:
                    value = date(int(parts[0]), int(parts[1]), int(parts[2]))
                except ValueError:
                    value = None
                break
        if value is None:
            raise DomainError(f"日期「{text[:20]}」无效，请按 2026-03-01 的格式填写", field="date")
    if value > clock.now().date():
        raise DomainError(f"日期 {value:%Y-%m-%d} 晚于今天，不能填报尚未发生的学时", field="date")
    if value.year < 2000:
        raise DomainError(f"日期 {value:%Y-%m-%d} 过早，请核对", field="date")
    return value


def parse_provider(raw: Any) -> str:
    text = " ".join(plain_text(raw).split())
    if not text:
        raise DomainError("请填写培训或实践机构", field="provider")
    if len(text) > MAX_PROVIDER:
        raise DomainError(f"机构名称过长（最多 {MAX_PROVIDER} 个字）", field="provider")
    return text


def check_entry(kind: Any, day: Any, provider: Any, hours: Any) -> Entry:
    """Every rule of one entry; the first broken rule is raised (the form shows it on its field)."""
    return Entry(parse_kind(kind), parse_date(day), parse_provider(provider), parse_hours(hours))


def day_totals(persons: Iterable[tuple], days: Iterable[date], *, exclude_id: int | None = None) -> dict[tuple, Decimal]:
    """((id_type, id_number), date) -> the hours already counted that day (待审核 and 已核验)."""
    persons, days = list(set(persons)), sorted(set(days))
    totals: dict[tuple, Decimal] = {}
    numbers = sorted({number for _, number in persons})
    for start in range(0, len(numbers), 900):  # SQLite's bound-parameter limit
        query = (select(HoursRecord.id_type, HoursRecord.id_number, HoursRecord.date, func.sum(HoursRecord.hours))
                 .where(HoursRecord.id_number.in_(numbers[start:start + 900]), HoursRecord.state.in_(COUNTED),
                        HoursRecord.date.in_(days) if len(days) <= 900 else HoursRecord.date.is_not(None))
                 .group_by(HoursRecord.id_type, HoursRecord.id_number, HoursRecord.date))
        if exclude_id is not None:
            query = query.where(HoursRecord.id != exclude_id)
        for id_type, number, day, total in db.session.execute(query):
            totals[((id_type, number), day)] = Decimal(total)
    return totals


def day_total_message(day: date, already: Decimal, adding: Decimal) -> str:
    return (f"{day:%Y-%m-%d} 已记录 {already:.1f} 小时，加上本条 {adding:.1f} 小时共 {already + adding:.1f} 小时，"
            f"超过每天 24 小时")


def lock_persons(persons: Iterable[tuple]) -> None:
    """Serialise writers of the same persons' hours until the transaction ends, so that two requests
    cannot both read a day's total and then both add to it. PostgreSQL: a transaction-scoped advisory
    lock per person (in a fixed order, so two imports cannot deadlock); SQLite lets one writer in at a
    time (BEGIN IMMEDIATE) already."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(hashlib.sha256(f"hours:{IdType(t).value}:{n}".encode()).digest()[:8], "big",
                                  signed=True) for t, n in persons})
    for key in keys:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _check_day_total(person: tuple, entry: Entry, exclude_id: int | None = None) -> None:
    lock_persons([person])
    already = day_totals([person], [entry.date], exclude_id=exclude_id).get((person, entry.date), Decimal(0))
    if already + entry.hours > MAX_PER_DAY:
        raise DomainError(day_total_message(entry.date, already, entry.hours), field="hours")


def _store_evidence(name: str, data: bytes) -> tuple[str, str]:
    """Check the evidence by its first bytes (PDF, JPEG or PNG) and store it; (key, shown name)."""
    if not data:
        raise DomainError("请上传证明材料（PDF、JPEG 或 PNG）", field="evidence")
    if len(data) > MAX_LETTER_BYTES:
        raise DomainError(f"证明材料「{upload_name(name, None, '证明材料')[:50]}」超过 {MAX_LETTER_BYTES // (1024 * 1024)} MB，"
                          "请压缩后再上传", field="evidence")
    kind = letter_type(data)
    if kind is None:
        raise DomainError(f"证明材料「{upload_name(name, None, '证明材料')[:50]}」不是 PDF、JPEG 或 PNG 文件"
                          "（按文件内容判断，与扩展名无关）", field="evidence")
    suffix, _ = kind
    storage = get_storage()
    key = storage.save(storage.new_key("hours", suffix), data)
    delete_after_rollback(db.session, key, storage)
    return key, upload_name(name, suffix, "证明材料")


# ---- the holder ---------------------------------------------------------------------------

def _holder(actor: Any) -> Candidate:
    permissions.require(actor, "hours.record")
    return permissions.get_for(actor, Candidate, actor.candidate_id)


def _snapshot(record: HoursRecord) -> dict[str, Any]:
    return {"kind": record.kind.value, "date": record.date.isoformat(), "provider": record.provider,
            "hours": str(record.hours), "id_number": idcard.mask(record.id_number),
            "evidence": record.evidence_filename or ""}


def record_hours(actor: Any, kind: Any, day: Any, provider: Any, hours: Any, evidence_name: str,
                 evidence: bytes) -> HoursRecord:
    """The holder records hours with evidence; it waits (待审核) for their school or the org."""
    candidate = _holder(actor)
    entry = check_entry(kind, day, provider, hours)
    person = (candidate.id_type, candidate.id_number)
    _check_person_dates(person, entry)
    _check_day_total(person, entry)
    key, shown = _store_evidence(evidence_name, evidence)
    record = HoursRecord(id_type=candidate.id_type, id_number=candidate.id_number, candidate_id=candidate.id,
                         school_id=candidate.school_id, kind=entry.kind, date=entry.date, provider=entry.provider,
                         hours=entry.hours, evidence_key=key, evidence_filename=shown, source=HoursSource.SELF,
                         state=HoursState.PENDING, return_reason="", created_at=clock.now(),
                         created_by_id=getattr(actor, "id", None))
    record.candidate = candidate
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "hours_record.create", record, after=_snapshot(record))
    return record


def resubmit_hours(actor: Any, record_id: Any, kind: Any, day: Any, provider: Any, hours: Any,
                   evidence_name: str = "", evidence: bytes = b"") -> HoursRecord:
    """A returned record, corrected by the holder, goes back to 待审核 (the same record)."""
    _holder(actor)
    record = permissions.get_for(actor, HoursRecord, record_id)
    lock_row(record)  # a resubmit twice at once moves once
    if record.state != HoursState.RETURNED:
        raise DomainError(f"该学时记录的状态为「{record.state.value}」，只有已退回的记录可以修改后重新提交")
    before = _snapshot(record)
    entry = check_entry(kind, day, provider, hours)
    _check_person_dates((record.id_type, record.id_number), entry)
    _check_day_total((record.id_type, record.id_number), entry, exclude_id=record.id)
    if evidence:
        record.evidence_key, record.evidence_filename = _store_evidence(evidence_name, evidence)
    elif not record.evidence_key:
        raise DomainError("请上传证明材料（PDF、JPEG 或 PNG）", field="evidence")
    record.kind, record.date, record.provider, record.hours = entry.kind, entry.date, entry.provider, entry.hours
    HOURS.move(record, "resubmit", actor)
    audit.record(actor, "hours_record.update", record, before=before, after=_snapshot(record))
    record.return_reason = ""
    db.session.flush()
    return record


def own_records(actor: Any) -> list[HoursRecord]:
    """The holder's own records (of their own candidate record), newest date first."""
    permissions.require(actor, "hours.record")
    return list(db.session.scalars(
        select(HoursRecord).where(permissions.scope_clause(actor, HoursRecord))
        .order_by(HoursRecord.date.desc(), HoursRecord.id.desc())))


def own_totals(actor: Any) -> dict[str, Decimal]:
    """kind -> the holder's verified hours, for the portal's summary."""
    candidate = _holder(actor)
    rows = dict(db.session.execute(
        select(HoursRecord.kind, func.sum(HoursRecord.hours)).where(
            HoursRecord.candidate_id == candidate.id, HoursRecord.state == HoursState.VERIFIED, counting_clause())
        .group_by(HoursRecord.kind)).all())
    return {kind.value: Decimal(rows.get(kind) or 0).quantize(Decimal("0.1")) for kind in HoursKind}


def get_record(actor: Any, record_id: Any) -> HoursRecord:
    """One record in the actor's scope (404 outside)."""
    if not (permissions.can(actor, "hours.view") or permissions.can(actor, "hours.record")):
        raise permissions.ForbiddenAction()
    return permissions.get_for(actor, HoursRecord, record_id)


def evidence_file(actor: Any, record_id: Any) -> tuple[str, str, str]:
    """(storage path, MIME type, download name) of a record's evidence, through the scope check."""
    record = get_record(actor, record_id)
    storage = get_storage()
    if not record.evidence_key or not storage.exists(record.evidence_key):
        raise permissions.NotInScope()
    suffix = "." + record.evidence_key.rsplit(".", 1)[-1]
    return str(storage.path(record.evidence_key)), MIME_BY_SUFFIX.get(suffix, "application/octet-stream"), \
        upload_name(record.evidence_filename, suffix, "证明材料")  # also names stored before the rule


# ---- review by the school or the org ---------------------------------------------------------

#: the list's state filter; "" shows every state
STATE_FILTERS = [s.value for s in HoursState]


#: the list's default tab: what waits for the reviewer
DEFAULT_STATE = HoursState.PENDING.value
#: the longest search text kept (a name or an ID number is far shorter)
MAX_SEARCH = 50


def list_records(actor: Any, *, state: str = "", kind: str = "", provider: str = "", q: str = "",
                 school_id: int | None = None, province_id: int | None = None):
    """The records in the actor's scope, filtered, as a select for pagination: 待审核 first, the
    longest waiting first; then the others, newest first. `q`: the holder's name (part of it) or
    their ID number (whole); `school_id` and `province_id` narrow a national reviewer's list (within
    a school's scope they can only narrow further)."""
    from ..catalog.models import School

    permissions.require(actor, "hours.view")
    pending = HoursRecord.state == HoursState.PENDING
    query = (select(HoursRecord).where(permissions.scope_clause(actor, HoursRecord))
             .options(joinedload(HoursRecord.candidate), joinedload(HoursRecord.school))
             .order_by(case((pending, 0), else_=1), case((pending, HoursRecord.created_at), else_=None).asc(),
                       case((pending, HoursRecord.id), else_=None).asc(),
                       HoursRecord.created_at.desc(), HoursRecord.id.desc()))
    if state in STATE_FILTERS:
        query = query.where(HoursRecord.state == HoursState(state))
    if kind in {k.value for k in HoursKind}:
        query = query.where(HoursRecord.kind == HoursKind(kind))
    provider = " ".join((provider or "").split())[:MAX_PROVIDER]
    if provider:
        escaped = provider.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(HoursRecord.provider.like(f"%{escaped}%", escape="\\"))
    q = " ".join((q or "").split())[:MAX_SEARCH]
    if q:
        number = idcard.normalise(q)
        by_name = select(Candidate.id).where(Candidate.name.contains(q, autoescape=True))
        query = query.where(or_(HoursRecord.candidate_id.in_(by_name), HoursRecord.id_number == number))
    if school_id:
        query = query.where(HoursRecord.school_id == school_id)
    if province_id:
        query = query.where(HoursRecord.school_id.in_(select(School.id).where(School.province_id == province_id)))
    return query


def filter_choices(actor: Any) -> tuple[list, list]:
    """(schools, provinces) the list's filters offer a national reviewer: the schools that have hours
    records in the actor's scope, and their provinces. Empty for a school (its list is its own)."""
    from ..catalog.models import Province, School

    permissions.require(actor, "hours.view")
    if getattr(actor, "school_id", None):
        return [], []
    with_records = select(HoursRecord.school_id).where(permissions.scope_clause(actor, HoursRecord)).distinct()
    schools = list(db.session.scalars(select(School).where(School.id.in_(with_records))
                                      .order_by(School.code).limit(2000)))
    provinces = list(db.session.scalars(select(Province).where(Province.id.in_({s.province_id for s in schools}))
                                        .order_by(Province.code))) if schools else []
    return schools, provinces


def count_by_state(actor: Any) -> dict[str, int]:
    permissions.require(actor, "hours.view")
    rows = db.session.execute(select(HoursRecord.state, func.count()).where(
        permissions.scope_clause(actor, HoursRecord)).group_by(HoursRecord.state))
    counts = {s.value: 0 for s in HoursState}
    for state, n in rows:
        counts[state.value] = n
    return counts


def _reviewed(record: HoursRecord, actor: Any) -> None:
    record.reviewer_id = getattr(actor, "id", None)
    record.reviewed_at = clock.now()


def verify_records(actor: Any, record_ids: Iterable[Any]) -> list[HoursRecord]:
    """核验 the selected records (all or none): each must be 待审核 and in the actor's scope."""
    permissions.require(actor, "hours.review")
    ids = sorted({permissions.MAX_ID + 1 if not str(i).isdigit() or len(str(i)) > 10 else int(i)
                  for i in record_ids})
    if not ids:
        raise DomainError("请至少选择一条学时记录")
    if len(ids) > MAX_SELECTED:
        raise DomainError(f"一次最多核验 {MAX_SELECTED} 条学时记录")
    if any(not 0 < i <= permissions.MAX_ID for i in ids):
        raise permissions.NotInScope()
    records = list(db.session.scalars(
        select(HoursRecord).where(HoursRecord.id.in_(ids), permissions.scope_clause(actor, HoursRecord))
        .options(joinedload(HoursRecord.candidate)).with_for_update(of=HoursRecord)))
    if len(records) != len(ids):
        raise permissions.NotInScope()
    waiting = [r for r in records if r.state != HoursState.PENDING]
    if waiting:
        raise DomainError("以下学时记录不是待审核状态，未核验任何记录：" + "；".join(
            f"{r.candidate.name} {r.label}（{r.state.value}）" for r in waiting[:10]))
    unverified = [r for r in records if r.candidate.state != CandidateState.ACCURATE]
    if unverified:
        raise DomainError("以下学时记录所属考生的信息尚未认证为「信息准确」，其学时不能核验，未核验任何记录：" + "；".join(
            f"{r.candidate.name} {r.label}（{r.candidate.state.value}）" for r in unverified[:10]))
    for record in records:
        HOURS.move(record, "verify", actor)
        _reviewed(record, actor)
    db.session.flush()
    return records


def return_record(actor: Any, record_id: Any, reason: str) -> HoursRecord:
    """退回 a waiting record with the reason the holder will see."""
    permissions.require(actor, "hours.review")
    record = permissions.get_for(actor, HoursRecord, record_id)
    lock_row(record)  # the same lock as verify_records: one decision wins
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("退回时须填写原因，持证人将看到该原因", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"退回原因过长（最多 {MAX_REASON} 个字）", field="reason")
    HOURS.move(record, "return", actor, reason=reason)
    record.return_reason = reason
    _reviewed(record, actor)
    db.session.flush()
    return record
