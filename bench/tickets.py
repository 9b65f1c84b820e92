"""Benchmark of admission tickets: N pages in one PDF, and one candidate's ticket.

    python bench/tickets.py [--pages N]          (default 1000)

Builds a fresh SQLite database in a temporary directory (migrations, reference data, the
demo), a plan whose ticket window is open now, N candidates with distinct 358×441 photos,
and their registrations scheduled into rooms of 50 seats with ticket numbers (inserted
set-based, as scheduling leaves them). Then it times, through the same service the web
page, the job and `examadmin tickets` use:
  - tickets.services.write_plan_tickets: the whole plan as one PDF (load, sign, draw);
  - tickets.services.candidate_ticket: one candidate's own ticket, as the portal serves it: drawn
    fresh (the kept file tickets/cache/<id>.pdf deleted before each call: the first download)
    and again from the kept file (every later download).
Targets on the 2-core machine (issue 10): 1,000 pages in one PDF < 3 s; one ticket < 50 ms.

`run(app, plan_id, site_id)` is what bench/schedule_and_tickets.py --tickets calls after scheduling
its own data (proctors assigned, photos drawn, at most 1,000 of its tickets in one PDF).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES_TARGET = (1_000, 3.0)
ONE_TARGET_MS = 50.0
SEATS_PER_ROOM = 50


def measure(school_actor, candidate_actor, plan_id: int, registration_id: int, out: Path,
            repeat_one: int = 20, registration_ids: list[int] | None = None) -> dict:
    """Time the whole plan's PDF (or, given `registration_ids`, the PDF of just those tickets) and
    one candidate's ticket, drawn fresh and served from the kept file; returns the figures."""
    from examadmin.core.storage import get_storage
    from examadmin.extensions import db
    from examadmin.tickets import render, services
    from examadmin.tickets.data import load_tickets

    started, cpu = time.perf_counter(), time.process_time()
    if registration_ids is None:
        pages = services.write_plan_tickets(school_actor, plan_id, str(out))
    else:
        # What write_plan_tickets does for a whole plan (the school's check, load, sign, draw),
        # for a slice of it: a plan of 100,000 is a job of minutes, not a figure per page.
        from examadmin.registrations.models import Registration

        services.plan_tickets(school_actor, plan_id)
        pages = render.render_tickets(str(out), load_tickets(Registration.id.in_(registration_ids)),
                                      title="准考证 基准测试")
    plan_s, plan_cpu = time.perf_counter() - started, time.process_time() - cpu
    db.session.rollback()  # the audit rows of a benchmark are not kept

    def one(fresh: bool) -> tuple[list[float], list[float]]:
        kept = services.TICKET_CACHE.format(registration_id=registration_id)
        times, cpu_times = [], []
        for _ in range(repeat_one):
            if fresh:  # the candidate's first download: nothing drawn and kept yet
                get_storage().delete(kept)
            started, cpu = time.perf_counter(), time.process_time()
            services.candidate_ticket(candidate_actor, registration_id)
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu) * 1000)
            db.session.rollback()
        return times, cpu_times

    fresh, fresh_cpu = one(fresh=True)
    kept, kept_cpu = one(fresh=False)  # the last fresh draw left the file: every call here reads it
    # CPU time is reported beside wall time: on a machine shared with other work the wall
    # time measures the neighbours as much as this code.
    return {"pages": pages, "seconds": plan_s, "cpu_seconds": plan_cpu, "pages_per_s": pages / plan_s,
            "fresh_ms": statistics.median(fresh), "fresh_cpu_ms": statistics.median(fresh_cpu),
            "one_ms": statistics.median(kept), "one_cpu_ms": statistics.median(kept_cpu),
            "repeat": repeat_one, "bytes": out.stat().st_size}


def report(figures: dict, font) -> bool:
    """Print the figures against the targets; True when both are met."""
    ok_pages = figures["seconds"] * PAGES_TARGET[0] / max(figures["pages"], 1) < PAGES_TARGET[1]
    # the target holds for the first download (a fresh drawing), not only for the kept file
    ok_one = figures["fresh_ms"] < ONE_TARGET_MS
    print(f"font: {font.name} ({'embedded subset of ' + str(font.path) if font.embedded else 'CID, not embedded'})")
    print(f"plan PDF: {figures['pages']} pages in {figures['seconds']:.2f} s (CPU {figures['cpu_seconds']:.2f} s) = "
          f"{figures['pages_per_s']:,.0f} pages/s, {figures['bytes'] / 1e6:.1f} MB   "
          f"(target {PAGES_TARGET[0]:,} in < {PAGES_TARGET[1]:.0f} s: {'met' if ok_pages else 'MISSED'})")
    print(f"one ticket, first download (drawn): {figures['fresh_ms']:.1f} ms (CPU {figures['fresh_cpu_ms']:.1f} ms, "
          f"median of {figures['repeat']})   (target < {ONE_TARGET_MS:.0f} ms: {'met' if ok_one else 'MISSED'})")
    print(f"one ticket, downloaded again (the kept drawing, tickets/cache/): {figures['one_ms']:.1f} ms "
          f"(CPU {figures['one_cpu_ms']:.1f} ms, median of {figures['repeat']})")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return ok_pages and ok_one


def photos(count: int, folder: Path) -> list[str]:
    """Distinct photos (a JPEG comment makes each file differ) from a few noise portraits."""
    from PIL import Image

    bases = []
    for seed in range(8):
        # smooth noise, resized up: about the size of a real ID photo (25-35 KB), not of pure noise
        channels = [Image.effect_noise((60, 74), 40 + seed * 3) for _ in range(3)]
        image = Image.merge("RGB", channels).resize((358, 441), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        bases.append(buffer.getvalue())
    keys = []
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        base = bases[i % len(bases)]
        comment = f"bench {i}".encode()
        data = base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]
        (folder / f"{i}.jpg").write_bytes(data)
        keys.append(f"photos/bench/{i}.jpg")
    return keys


def build(pages: int, storage_dir: Path) -> tuple:
    """A plan open for tickets with `pages` scheduled candidates of school1; returns actors and ids."""
    from sqlalchemy import insert, select

    from examadmin.candidates.models import Candidate, CandidateKind, CandidateState, IdType
    from examadmin.catalog.models import Level
    from examadmin.core import clock, idcard
    from examadmin.core.auth import User
    from examadmin.exams.models import ExamRoom, Subject
    from examadmin.exams.services import plans
    from examadmin.extensions import db
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.scheduling.models import AdmissionTicket, Proctor, ProctorAssignment, ProctorRole, Seat
    from examadmin.sites.models import ExamSite

    org = db.session.scalar(select(User).where(User.username == "org"))
    school = db.session.scalar(select(User).where(User.username == "school1"))
    candidate_user = db.session.scalar(select(User).where(User.username == "candidate"))
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.school_id))
    subject = db.session.scalar(select(Subject).where(Subject.certificate_level_id == site.certificate_level_id))
    today = clock.now().date()
    at = lambda days, hour: datetime.combine(today + timedelta(days=days), clock_time(hour))  # noqa: E731
    plan = plans.save_plan(org, {
        "name": "准考证基准测试计划", "certificate_id": site.certificate_level.certificate_id,
        "registration_start": at(-30, 9), "registration_end": at(-20, 17), "payment_deadline": at(-15, 17),
        "ticket_start": at(-1, 9), "ticket_end": at(10, 16), "fee_junior": "300", "fee_middle": "400"})
    plans.add_session(org, plan.id, {"date": today + timedelta(days=5), "start_time": "09:00", "end_time": "11:00",
                                     "level": Level.JUNIOR, "subject_id": subject.id})
    plans.publish_plan(org, plan.id)
    session = plan.sessions[0]
    rooms = []
    for r in range((pages + SEATS_PER_ROOM - 1) // SEATS_PER_ROOM):
        room = ExamRoom(plan_id=plan.id, site_id=site.id, subject_id=subject.id, school_id=school.school_id,
                        name=f"实训楼 {301 + r}", seats=SEATS_PER_ROOM, scheduled=True)
        db.session.add(room)
        rooms.append(room)
    db.session.flush()
    keys = photos(pages, storage_dir / "photos" / "bench")
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
    numbers = []
    for i in range(pages):
        born = datetime(1998, 1, 1) + timedelta(days=i % 3650)
        first17 = f"500106{born:%Y%m%d}{800 + i // 3650:03d}"
        numbers.append(first17 + idcard.check_char(first17))
    candidate_ids = db.session.scalars(insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True), [
        {"school_id": school.school_id, "kind": CandidateKind.STUDENT, "id_type": IdType.RESIDENT,
         "name": surnames[i % 20] + given[(i * 7) % 20] + given[(i * 13) % 20], "id_number": numbers[i],
         "gender": "男" if i % 2 else "女", "class_name": f"心理{2201 + i % 8}", "photo_key": keys[i],
         "state": CandidateState.ACCURATE} for i in range(pages)]).all()
    registration_ids = db.session.scalars(insert(Registration).returning(Registration.id, sort_by_parameter_order=True), [
        {"plan_id": plan.id, "candidate_id": cid, "school_id": school.school_id, "site_id": site.id,
         "certificate_level_id": site.certificate_level_id, "id_type": IdType.RESIDENT, "id_number": numbers[i],
         "kind": CandidateKind.STUDENT, "fee": 300, "state": RegistrationState.SCHEDULED}
        for i, cid in enumerate(candidate_ids)]).all()
    db.session.execute(insert(Seat), [
        {"registration_id": rid, "plan_id": plan.id, "school_id": school.school_id, "site_id": site.id,
         "subject_id": subject.id, "session_id": session.id, "room_id": rooms[i // SEATS_PER_ROOM].id,
         "seat_number": i % SEATS_PER_ROOM + 1} for i, rid in enumerate(registration_ids)])
    db.session.execute(insert(AdmissionTicket), [
        {"registration_id": rid, "plan_id": plan.id, "school_id": school.school_id,
         "ticket_number": f"{today.year}{plan.id:03d}{site.id:03d}{i // SEATS_PER_ROOM + 1:03d}"
                          f"{i % SEATS_PER_ROOM + 1:03d}{i % 10}"} for i, rid in enumerate(registration_ids)])
    # two proctors in every room: the site's tickets are released (MIN_PROCTORS_PER_ROOM)
    proctor_ids = db.session.scalars(insert(Proctor).returning(Proctor.id, sort_by_parameter_order=True), [
        {"school_id": school.school_id, "name": f"监考{n}", "phone": "", "id_type": IdType.RESIDENT,
         "id_number": f"P{n:08d}", "role": ProctorRole.CHIEF} for n in range(2 * len(rooms))]).all()
    db.session.execute(insert(ProctorAssignment), [
        {"proctor_id": pid, "room_id": rooms[n // 2].id, "session_id": session.id, "school_id": school.school_id}
        for n, pid in enumerate(proctor_ids)])
    # the demo candidate account is the candidate of the first registration
    candidate_user.candidate_id = candidate_ids[0]
    db.session.commit()
    return school, candidate_user, plan.id, registration_ids[0]


def run(app, plan_id: int, site_id: int, pages: int = PAGES_TARGET[0]) -> bool:
    """The tickets of a plan that bench/schedule_and_tickets.py has just scheduled: two proctors
    in every room and session of the site (so that its tickets are released), photos for the
    candidates drawn, the bench's clock inside the plan's download window; then at most `pages`
    tickets of the site in one PDF and one candidate's own ticket. Returns whether the targets
    were met."""
    from unittest import mock

    from sqlalchemy import select, update

    from examadmin.candidates.models import Candidate
    from examadmin.core import clock, idcard, pdf
    from examadmin.core.auth import User
    from examadmin.exams.models import ExamPlan
    from examadmin.extensions import db
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.scheduling.models import AdmissionTicket, Seat
    from examadmin.scheduling.services import proctors
    from examadmin.sites.models import ExamSite
    from examadmin.tickets import services

    with app.app_context():
        plan = db.session.get(ExamPlan, plan_id)
        site = db.session.get(ExamSite, site_id)
        school = db.session.scalar(select(User).where(User.username == "school1", User.school_id == site.school_id))
        started = time.perf_counter()
        # Two proctors per room, through the same services as the assignment page: a room's two
        # proctors keep it for each of its sessions (the sessions are on different days).
        held = db.session.execute(select(Seat.room_id, Seat.session_id).where(
            Seat.plan_id == plan_id, Seat.site_id == site_id).group_by(Seat.room_id, Seat.session_id)).all()
        room_proctors: dict[int, list[int]] = {}
        for n, room_id in enumerate(sorted({room for room, _ in held})):
            room_proctors[room_id] = []
            for k in range(proctors.min_proctors()):
                first17 = f"500106197001{n % 28 + 1:02d}{k}{n // 28 % 100:02d}"
                proctor = proctors.save_proctor(school, {
                    "name": f"压测监考{n}-{k + 1}", "phone": f"1380000{n:04d}", "id_number": first17 + idcard.check_char(first17),
                    "role": "主监考" if k == 0 else "副监考"})
                room_proctors[room_id].append(proctor.id)
        for room_id, session_id in held:
            for proctor_id in room_proctors[room_id]:
                proctors.assign(school, proctor_id, room_id, session_id)

        chosen = db.session.execute(
            select(Registration.id, Registration.candidate_id, Candidate.photo_key)
            .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
            .join(Candidate, Candidate.id == Registration.candidate_id)
            .where(Registration.plan_id == plan_id, Registration.site_id == site_id,
                   Registration.state == RegistrationState.SCHEDULED)
            .order_by(AdmissionTicket.ticket_number).limit(pages)).all()
        # the scheduling bench's candidates have no photo; a ticket without one draws faster
        bare = [candidate_id for _, candidate_id, key in chosen if not key]
        keys = photos(len(bare), Path(app.config["STORAGE_DIR"]) / "photos" / "bench")
        if bare:
            db.session.execute(update(Candidate), [{"id": cid, "photo_key": key} for cid, key in zip(bare, keys)])
        # the demo's `candidate` account downloads its own ticket: its registration when it has
        # one scheduled here, else (a smaller demo) it stands for the first candidate chosen
        candidate_user = db.session.scalar(select(User).where(User.username == "candidate"))
        registration_id = next((rid for rid, cid, _ in chosen if cid == candidate_user.candidate_id), None)
        if registration_id is None:
            registration_id, candidate_user.candidate_id = chosen[0][0], chosen[0][1]
        db.session.commit()
        print(f"tickets set up: {sum(map(len, room_proctors.values()))} proctors in {len(held)} rooms × sessions, "
              f"{len(bare)} photos, in {time.perf_counter() - started:.1f} s")

        # The bench's clock moves into the download window (as the tests move it), rather than
        # the window to now: the plan stays as the org published it.
        opened = plan.ticket_start + timedelta(hours=1)
        with mock.patch.object(clock, "now", lambda: opened):
            services.require_released(plan_id, {site_id})
            font = pdf.cjk_font()
            figures = measure(school, candidate_user, plan_id, registration_id,
                              Path(app.config["STORAGE_DIR"]).parent / "tickets.pdf",
                              registration_ids=[rid for rid, _, _ in chosen])
        db.session.remove()
    return report(figures, font)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=PAGES_TARGET[0])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="examadmin-bench-"))
    os.environ["EXAMADMIN_INSTANCE"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))

    from flask_migrate import upgrade

    from examadmin import create_app
    from examadmin.catalog.services import seed_reference_data
    from examadmin.core import pdf
    from examadmin.core.auth import SYSTEM
    from examadmin.demo import load_demo
    from examadmin.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "STORAGE_DIR": str(tmp / "storage"), "HUEY_SQLITE_PATH": str(tmp / "huey.db")})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_reference_data(SYSTEM, ROOT / "sample_data")
        load_demo()
        db.session.commit()
        started = time.perf_counter()
        school, candidate, plan_id, registration_id = build(args.pages, tmp / "storage")
        print(f"built {args.pages} scheduled candidates with photos in {time.perf_counter() - started:.1f} s")
        font = pdf.cjk_font()
        figures = measure(school, candidate, plan_id, registration_id, tmp / "tickets.pdf")
        db.session.remove()

    return 0 if report(figures, font) else 1


if __name__ == "__main__":
    sys.exit(main())
