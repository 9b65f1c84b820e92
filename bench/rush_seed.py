"""The data set of bench/rush.py: the demo, then 100 schools with a deadline's worth of people.

`seed(app, schools=..., per_school=..., places=..., tickets=..., passed=...)` runs inside an
app context on an empty PostgreSQL database and returns the manifest the load test reads:

- the demo (`examadmin demo`: reference data, the plans 第4次 open for registration, 第3次 with
  its ticket window open, 第2次 with scores published and certificates issued);
- `schools` schools in 重庆 (set-based, cloned from the demo school's rows), each with a
  coordinator account, an approved 初级 exam site and an approved 初级 application whose
  心理健康教育 line grants `tickets + places` places: `places` are left for the rush, so the
  line runs out while coordinators register;
- `per_school` verified students per school (信息准确, major 心理健康教育);
- `tickets` of them per school registered and paid for 第3次, then rooms, scheduling (the real
  `seats.schedule`, which gives the seats and ticket numbers) and two proctors per room through
  the services, and an activated portal account each (the candidate signs in with ID number
  and password);
- `passed` of them per school with a final result in 第2次 (admission ticket, score, result)
  and an issued, signed certificate (number, Ed25519 signature), for the public lookup and
  verification;
- the rest are the rush pool: verified and not registered for 第4次.

Rows come in through `insert(...)` with lists of dicts (PERFORMANCE.md: 57k rows/s on
PostgreSQL), cloned from the demo's own rows so that every column the app expects is set.
Every seeded account has the demo password, hashed once with the app's own hashing and stored
for all (each sign-in still verifies a full hash).
"""
from __future__ import annotations

import secrets
import time
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import func, insert, select, update

#: the password of every seeded account (the demo's)
PASSWORD = "demo1234"
#: region code of the seeded candidates' ID numbers (重庆市九龙坡区), unlike the demo's people
REGION = "500107"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文玉兰辉鑫宇晨欣怡子轩浩然梓涵雨萱"


def _columns(model, row, drop=("id",)) -> dict:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key not in drop}


def _insert(model, rows: list[dict], returning: bool = True) -> list[int]:
    from examadmin.extensions import db

    if not rows:
        return []
    ids: list[int] = []
    for start in range(0, len(rows), 5000):
        chunk = rows[start:start + 5000]
        if returning:
            ids += db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), chunk).all()
        else:
            db.session.execute(insert(model), chunk)
    return ids


def _person(index: int, region: str = REGION) -> tuple[str, str, str, date]:
    """A unique, valid resident ID number, a name, gender and birth date for person `index`."""
    from examadmin.core import idcard

    born = date(2002, 1, 1) + timedelta(days=index % 3000)
    sequence = 100 + index // 3000
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index // 7) % len(GIVEN)] + GIVEN[(index // 3) % len(GIVEN)]
    return first17 + idcard.check_char(first17), name, "男" if int(first17[16]) % 2 else "女", born


def seed(app, *, schools: int = 100, per_school: int = 500, places: int = 15, tickets: int = 100,
         passed: int = 100, log=print) -> dict:
    from examadmin.candidates.models import Candidate
    from examadmin.catalog.models import Level, School
    from examadmin.certificates import numbers, signing
    from examadmin.certificates.models import CertificateRecord
    from examadmin.certificates.states import CertificateState
    from examadmin.core import clock
    from examadmin.core.auth import User
    from examadmin.demo import load_demo
    from examadmin.exams.models import ExamPlan, Subject
    from examadmin.exams.services import rooms
    from examadmin.extensions import db
    from examadmin.pilots.models import Application, ApplicationLine
    from examadmin.portal.models import PortalAccount
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.scheduling.demo import PAST_PLAN_SUFFIX, PLAN_SUFFIX
    from examadmin.scheduling.models import AdmissionTicket, Seat
    from examadmin.scheduling.services import proctors, seats
    from examadmin.scores.models import Result, Score
    from examadmin.sites.models import ExamSite

    if tickets + passed > per_school:
        raise SystemExit("--tickets + --passed must not exceed --per-school")
    started = time.perf_counter()
    load_demo()
    db.session.commit()
    log(f"  demo loaded in {time.perf_counter() - started:.1f} s")

    school_user = db.session.scalar(select(User).where(User.username == "school1"))
    demo_school = school_user.school
    demo_site = db.session.scalar(select(ExamSite).where(
        ExamSite.school_id == demo_school.id, ExamSite.certificate_level.has(level=Level.JUNIOR)))
    demo_app = db.session.scalar(select(Application).where(
        Application.school_id == demo_school.id, Application.certificate_level_id == demo_site.certificate_level_id))
    demo_lines = sorted(demo_app.lines, key=lambda line: line.id)
    psych = next(line for line in demo_lines if line.major and line.major.name == "心理健康教育")
    demo_candidate = db.session.scalar(select(Candidate).where(
        Candidate.school_id == demo_school.id, Candidate.major_id == psych.major_id,
        Candidate.state == "信息准确").order_by(Candidate.id))
    open_plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第4次全国统一考试（社会心理服务）")))
    ticket_plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like(f"%{PLAN_SUFFIX}")))
    past_plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like(f"%{PAST_PLAN_SUFFIX}")))
    junior_subject = db.session.scalar(select(Subject).where(
        Subject.certificate_level_id == demo_site.certificate_level_id))
    candidate_user = db.session.scalar(select(User).where(User.username == "candidate"))
    demo_account = db.session.scalar(select(PortalAccount).where(PortalAccount.user_id == candidate_user.id))
    demo_record = db.session.scalar(select(CertificateRecord).where(
        CertificateRecord.plan_id == past_plan.id, CertificateRecord.state == CertificateState.ISSUED)
        .order_by(CertificateRecord.id))
    demo_past_reg = demo_record.registration
    demo_ticket_row = db.session.scalar(select(AdmissionTicket).where(
        AdmissionTicket.registration_id == demo_past_reg.id))
    demo_scores = db.session.scalars(select(Score).where(Score.registration_id == demo_past_reg.id)).all()
    demo_result = demo_record.result
    now = clock.now()

    # ---- schools, coordinators, sites, applications with their quota lines ----------------
    t = time.perf_counter()
    base = _columns(School, demo_school)
    school_rows = [{**base, "code": f"51609{n:05d}", "name": f"重庆压测职业学院{n:03d}",
                    "address": f"重庆市九龙坡区压测路 {n} 号"} for n in range(1, schools + 1)]
    school_ids = _insert(School, school_rows)
    base = _columns(User, school_user)
    user_ids = _insert(User, [{**base, "username": f"rush{n:03d}", "name": f"压测院校{n:03d}老师",
                               "school_id": sid, "last_login_at": None}
                              for n, sid in enumerate(school_ids, start=1)])
    base = _columns(ExamSite, demo_site)
    site_ids = _insert(ExamSite, [{**base, "school_id": sid, "name": f"{row['name']}社会心理服务初级",
                                   "address": row["address"]} for sid, row in zip(school_ids, school_rows)])
    base = _columns(Application, demo_app)
    app_ids = _insert(Application, [{**base, "school_id": sid} for sid in school_ids])
    line_rows = []
    for app_id in app_ids:
        for line in demo_lines:
            row = {**_columns(ApplicationLine, line), "application_id": app_id, "used": 0}
            if line.id == psych.id:
                row.update(used=tickets, approved=tickets + places, requested=tickets + places,
                           students=max(row["students"], per_school))
            line_rows.append(row)
    line_ids = _insert(ApplicationLine, line_rows)
    psych_index = [line.id for line in demo_lines].index(psych.id)
    psych_lines = line_ids[psych_index::len(demo_lines)]
    db.session.flush()
    log(f"  {schools} schools, coordinators, sites and quota lines in {time.perf_counter() - t:.1f} s")

    # ---- candidates -----------------------------------------------------------------------
    t = time.perf_counter()
    base = _columns(Candidate, demo_candidate)
    people, person_rows = [], []
    for s, sid in enumerate(school_ids):
        for i in range(per_school):
            number, name, gender, born = _person(s * per_school + i)
            people.append((s, i, number, name))
            person_rows.append({**base, "school_id": sid, "name": name, "id_number": number, "gender": gender,
                                "birth_date": born, "class_name": f"心理{2201 + i // 40}班",
                                "student_number": f"S{s:03d}{i:05d}", "photo_key": None,
                                "created_at": now, "updated_at": now, "verified_at": now})
    candidate_ids = _insert(Candidate, person_rows)
    db.session.flush()
    log(f"  {len(candidate_ids):,} verified candidates in {time.perf_counter() - t:.1f} s")

    # ---- 第3次: ticket holders registered and paid, then rooms, scheduling, proctors ---------
    t = time.perf_counter()
    fee = ticket_plan.fee_for(Level.JUNIOR)
    reg_rows, holder_index = [], []
    for k, (s, i, number, name) in enumerate(people):
        if i < tickets:
            reg_rows.append({"plan_id": ticket_plan.id, "candidate_id": candidate_ids[k], "school_id": school_ids[s],
                             "site_id": site_ids[s], "certificate_level_id": demo_site.certificate_level_id,
                             "id_type": "居民身份证", "id_number": number, "kind": "本校考生", "is_retake": False,
                             "quota_line_id": psych_lines[s], "fee": fee, "state": RegistrationState.PAID,
                             "cancel_reason": "", "created_at": now, "paid_at": now, "created_by_id": user_ids[s]})
            holder_index.append(k)
    holder_regs = _insert(Registration, reg_rows)
    db.session.flush()
    proctor_people = []
    for s, (sid, site_id, uid) in enumerate(zip(school_ids, site_ids, user_ids)):
        coordinator = db.session.get(User, uid)
        room_count = max(1, -(-tickets // 50))
        for r in range(room_count):
            rooms.save_room(coordinator, {"plan_id": ticket_plan.id, "site_id": site_id,
                                          "subject_id": junior_subject.id, "name": f"{r + 1:02d} 机房",
                                          "seats": 50})
        seats.schedule(coordinator, ticket_plan.id, site_id, seed=s)
        if s == 0:
            log(f"    one school: rooms and scheduling in {time.perf_counter() - t:.1f} s")
        made = []
        for p in range(2 * room_count):
            number, name, _, _ = _person(s * 20 + p, region="500108")  # proctors: another district
            made.append(proctors.save_proctor(coordinator, {
                "name": name, "role": "主监考" if p % 2 == 0 else "副监考", "phone": f"1380000{s:03d}{p}",
                "id_type": "居民身份证", "id_number": number}))
        proctor_people.append(made)
        held = db.session.execute(select(Seat.room_id, Seat.session_id).where(
            Seat.plan_id == ticket_plan.id, Seat.site_id == site_id).group_by(Seat.room_id, Seat.session_id)
            .order_by(Seat.room_id, Seat.session_id)).all()
        for h, (room_id, session_id) in enumerate(held):
            for proctor in made[2 * (h % room_count):2 * (h % room_count) + 2]:
                proctors.assign(coordinator, proctor.id, room_id, session_id)
        db.session.flush()
    db.session.commit()
    log(f"  {len(holder_regs):,} ticket holders scheduled, rooms and proctors in {time.perf_counter() - t:.1f} s")

    # ---- their portal accounts, activated -------------------------------------------------
    t = time.perf_counter()
    base = _columns(User, candidate_user)
    account_users = _insert(User, [{**base, "username": f"rc{candidate_ids[k]}", "name": people[k][3],
                                    "candidate_id": candidate_ids[k], "school_id": school_ids[people[k][0]],
                                    "last_login_at": None} for k in holder_index])
    base = _columns(PortalAccount, demo_account)
    _insert(PortalAccount, [{**base, "candidate_id": candidate_ids[k], "school_id": school_ids[people[k][0]],
                             "user_id": uid, "code_hash": None, "activated_at": now, "created_at": now}
                            for k, uid in zip(holder_index, account_users)], returning=False)
    log(f"  {len(account_users):,} portal accounts in {time.perf_counter() - t:.1f} s")

    # ---- 第2次: final results and issued certificates ----------------------------------------
    t = time.perf_counter()
    passed_index = [k for k, (s, i, _, _) in enumerate(people) if per_school - passed <= i]
    base = _columns(Registration, demo_past_reg)
    past_regs = _insert(Registration, [{**base, "candidate_id": candidate_ids[k], "school_id": school_ids[people[k][0]],
                                        "site_id": site_ids[people[k][0]], "id_number": people[k][2],
                                        "quota_line_id": None, "payment_order_id": None,
                                        "created_by_id": user_ids[people[k][0]]} for k in passed_index])
    year = past_plan.sessions[0].date.year if past_plan.sessions else now.year
    base = _columns(AdmissionTicket, demo_ticket_row)
    ticket_numbers = [f"{year}0002{people[k][0] + 1:05d}{people[k][1]:05d}{n % 97:02d}" for n, k in
                      enumerate(passed_index)]
    _insert(AdmissionTicket, [{**base, "registration_id": rid, "school_id": school_ids[people[k][0]],
                               "ticket_number": number}
                              for rid, k, number in zip(past_regs, passed_index, ticket_numbers)], returning=False)
    for score in demo_scores:
        base = _columns(Score, score)
        _insert(Score, [{**base, "registration_id": rid, "school_id": school_ids[people[k][0]]}
                        for rid, k in zip(past_regs, passed_index)], returning=False)
    base = _columns(Result, demo_result)
    result_ids = _insert(Result, [{**base, "registration_id": rid, "school_id": school_ids[people[k][0]],
                                   "id_number": people[k][2]} for rid, k in zip(past_regs, passed_index)])
    base = _columns(CertificateRecord, demo_record)
    records, certificates = [], []
    first_sequence = 10_000_000  # far above the demo's own numbers from the counter
    for n, (rid, res_id, k) in enumerate(zip(past_regs, result_ids, passed_index)):
        s, _, number, name = people[k]
        row = {**base, "result_id": res_id, "registration_id": rid, "candidate_id": candidate_ids[k],
               "school_id": school_ids[s], "site_id": site_ids[s], "name": name, "gender": person_rows[k]["gender"],
               "id_number": number, "verify_code": secrets.token_urlsafe(24), "file_key": None,
               "number": numbers.make_number(demo_record.issue_date.year, demo_record.certificate_level.certificate_id,
                                             first_sequence + n)}
        row["signature"] = signing.sign(SimpleNamespace(**row))
        records.append(row)
        certificates.append((row["number"], number))
    _insert(CertificateRecord, records, returning=False)
    db.session.commit()
    log(f"  {len(past_regs):,} final results and issued certificates in {time.perf_counter() - t:.1f} s")

    # ---- the manifest the load test reads ----------------------------------------------------
    holder_ticket = dict(db.session.execute(select(AdmissionTicket.registration_id, AdmissionTicket.ticket_number)
                                            .where(AdmissionTicket.plan_id == ticket_plan.id)).all())
    manifest = {
        "password": PASSWORD,
        "open_plan_id": open_plan.id,
        "ticket_plan_id": ticket_plan.id,
        "schools": [{"username": f"rush{n + 1:03d}", "school_id": sid, "site_id": site_ids[n],
                     "site_name": f"{school_rows[n]['name']}社会心理服务初级", "line_id": psych_lines[n],
                     "pool": [[candidate_ids[k], people[k][2], people[k][3]]
                              for k in range(n * per_school + tickets, n * per_school + per_school - passed)]}
                    for n, sid in enumerate(school_ids)],
        "holders": [[people[k][2], rid] for k, rid in zip(holder_index, holder_regs) if rid in holder_ticket],
        "lookups": [[people[k][2], number] for k, number in zip(passed_index, ticket_numbers)],
        "certificates": certificates,
        "places": places,
    }
    counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in
              (("candidates", Candidate), ("registrations", Registration), ("tickets", AdmissionTicket),
               ("certificates", CertificateRecord), ("users", User))}
    log(f"  seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    db.session.execute(update(User).where(User.id.in_(user_ids)).values(must_change_password=False))
    db.session.commit()
    return manifest
