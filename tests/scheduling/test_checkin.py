"""Check-in on exam day: signed tokens, the proctor's station, repeated scans, absence."""
from __future__ import annotations

import re

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from examadmin.core import clock
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.registrations.states import RegistrationState
from examadmin.tickets import checkin, tokens
from examadmin.tickets.data import load_tickets
from examadmin.registrations.models import Registration
from examadmin.scheduling.models import AdmissionTicket
from tests.conftest import login_as
from tests.exams.factories import make_room
from tests.scheduling.ticket_factories import (AFTER_SESSION, DURING_SESSION, make_candidate, make_proctor_user,
                                               make_scheduled, place)
from tests.sites.factories import make_user


@pytest.fixture
def during(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION)


def token_of(registration) -> str:
    return load_tickets(Registration.id == registration.id)[0].token


def test_a_token_round_trips_and_names_the_seat(during):
    s = make_scheduled(1)
    token = tokens.verify(token_of(s.registrations[0]), at=DURING_SESSION)
    assert token.registration_id == s.registrations[0].id and token.plan_id == s.plan.id
    assert token.seats == ((s.session.id, s.room.id, 1),)


def test_forged_altered_and_expired_tokens_are_refused(during):
    s = make_scheduled(1)
    good = token_of(s.registrations[0])
    body, _, signature = good.rpartition("*")
    altered = body.replace(f"-{s.room.id}-1", f"-{s.room.id}-2") + "*" + signature
    assert altered != good
    with pytest.raises(tokens.BadToken, match="校验失败"):
        tokens.verify(altered, at=DURING_SESSION)
    with pytest.raises(tokens.BadToken, match="校验失败"):
        tokens.verify(body + "*" + "A" * 32, at=DURING_SESSION)
    with pytest.raises(tokens.BadToken, match="无效"):
        tokens.verify("", at=DURING_SESSION)
    with pytest.raises(tokens.BadToken, match="已过期"):
        tokens.verify(good, at=DURING_SESSION + timedelta(days=3))


def test_a_proctor_checks_a_candidate_in_once_and_a_second_scan_says_when(client, during):
    s = make_scheduled(2)
    proctor = make_proctor_user(s)
    token = token_of(s.registrations[0])
    login_as(client, proctor)
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    response = client.post(url, data={"token": token}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "checked_in" and data["name"] == "陈晓明" and data["seat"] == 1
    assert data["id_number"].count("*") == 8
    with client.get(data["photo_url"]) as photo:
        assert photo.mimetype == "image/jpeg"
    seat = db.session.get(type(s.seats[0]), s.seats[0].id)
    db.session.refresh(seat)
    assert seat.checked_in_at == DURING_SESSION and seat.checked_in_by_id == proctor.id
    again = client.post(url, data={"token": token}, headers={"Accept": "application/json"}).get_json()
    assert again["status"] == "already" and "已于 09:10:00 签到" in again["message"]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "seat.check_in")) is not None


def test_manual_entry_of_the_ticket_number_on_the_phone_page(client, during):
    s = make_scheduled(2)
    login_as(client, make_proctor_user(s))
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    page = client.get(url).get_data(as_text=True)
    assert "已签到 0 / 2" in page and "李娜" in page
    # on a 400 px phone 未签到 stays one word: it never wraps a character per line
    assert page.count('class="text-secondary text-nowrap flex-shrink-0" data-testid="roll-not-checked-in">未签到<') == 2
    body = client.post(url, data={"ticket_number": s.tickets[1].ticket_number}).get_data(as_text=True)
    assert 'data-testid="checkin-result"' in body and "李娜 签到成功（2 号座位）" in body
    assert "已签到 1 / 2" in body
    body = client.post(url, data={"ticket_number": "999999"}).get_data(as_text=True)
    assert "找不到准考证号 999999" in body


def test_a_typed_number_may_have_spaces_and_a_wrong_digit_is_named_as_such(client, during):
    from examadmin.scheduling.services import ticket_numbers

    s = make_scheduled(1)
    real = ticket_numbers.build(ticket_numbers.TicketParts(2030, 1, 1, 1, 1, 7))
    s.tickets[0].ticket_number = real
    db.session.commit()
    login_as(client, make_proctor_user(s))
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    typo = real[:10] + str((int(real[10]) + 1) % 10) + real[11:]
    body = client.post(url, data={"ticket_number": typo}).get_data(as_text=True)
    assert "校验位不符" in body and "找不到" not in body
    spaced = " ".join(real[i:i + 4] for i in range(0, 24, 4))  # as printed in groups
    body = client.post(url, data={"ticket_number": spaced}).get_data(as_text=True)
    assert "签到成功" in body


def test_a_proctor_sees_the_rooms_candidates_only_around_the_session(client, monkeypatch):
    s = make_scheduled(1)
    s.registrations[0].candidate.photo_key = "photos/x.jpg"
    db.session.commit()
    login_as(client, make_proctor_user(s))
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    for moment, shown in ((DURING_SESSION - timedelta(days=5), False), (DURING_SESSION, True),
                          (AFTER_SESSION + timedelta(hours=23), True), (AFTER_SESSION + timedelta(days=2), False)):
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        page = client.get(url).get_data(as_text=True)
        assert (s.registrations[0].candidate.name in page) is shown, moment
        assert ('data-testid="roster-hidden"' in page) is not shown
        assert ("已签到 0 / 0" in page) is False  # a hidden roster is not an empty room
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION - timedelta(days=5))
    from examadmin.scheduling.models import Seat
    seat_id = db.session.scalar(select(Seat.id).where(Seat.registration_id == s.registrations[0].id))
    assert client.get(f"{url}/photo/{seat_id}").status_code == 404
    login_as(client, s.school_user)  # the school sees its rooms at any time
    assert s.registrations[0].candidate.name in client.get(url).get_data(as_text=True)


def test_a_token_of_another_session_or_room_says_so_and_is_logged(client, during, caplog):
    s = make_scheduled(1)
    second_room = make_room(s.school_user, s.plan, s.site, s.subject, name="实训楼 302")
    elsewhere = place(s, make_candidate(s.school_id, "何其他"), 5, room=second_room)
    proctor = make_proctor_user(s)
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    login_as(client, proctor)
    with caplog.at_level(logging.WARNING, logger="examadmin.tickets.checkin"):
        response = client.post(url, data={"token": token_of(elsewhere)}, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert "该考生不在本考场" in response.get_json()["message"] and "实训楼 302 5 号座位" in response.get_json()["message"]
    assert "other room" in caplog.text
    # a typed ticket number is told no more than that: not where its holder sits
    number = db.session.scalar(select(AdmissionTicket.ticket_number)
                               .where(AdmissionTicket.registration_id == elsewhere.id))
    response = client.post(url, data={"ticket_number": number}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and response.get_json()["message"] == "该考生不在本场次本考场。"
    # a token of another plan's session
    other = make_scheduled(1)
    response = client.post(url, data={"token": token_of(other.registrations[0])}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and "其他考试计划" in response.get_json()["message"]
    # a forged token
    response = client.post(url, data={"token": "1.2.3.4-5-6.203001010000*" + "B" * 32},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422 and "校验失败" in response.get_json()["message"]
    assert "bad signature" in caplog.text


def test_a_token_of_another_session_of_the_same_plan(during):
    s = make_scheduled(0)
    from tests.exams.factories import make_subject, EXAM_DAY
    from examadmin.catalog.models import Level

    # the same plan, a second subject in the afternoon
    subject2 = make_subject(Level.JUNIOR)
    from examadmin.exams.models import ExamSession
    from datetime import time
    afternoon = ExamSession(plan_id=s.plan.id, subject_id=subject2.id, date=EXAM_DAY, start_time=time(14),
                            end_time=time(16))
    db.session.add(afternoon)
    db.session.flush()
    db.session.expire(s.plan, ["sessions"])
    room2 = make_room(s.school_user, s.plan, s.site, subject2, name="实训楼 401")
    registration = place(s, make_candidate(s.school_id, "午考生"), 1, room=room2, session=afternoon)
    proctor = make_proctor_user(s)
    with pytest.raises(DomainError, match="不属于本场次") as info:
        checkin.check_in(proctor, s.room.id, s.session.id, token=token_of(registration))
    assert "14:00" in str(info.value) and "实训楼 401" in str(info.value)


def test_a_proctor_works_only_the_assigned_room_and_session(client, during):
    s = make_scheduled(1)
    other_room = make_room(s.school_user, s.plan, s.site, s.subject, name="实训楼 302")
    proctor = make_proctor_user(s)
    login_as(client, proctor)
    assert client.get(f"/tickets/checkin/{other_room.id}/{s.session.id}").status_code == 404
    assert client.post(f"/tickets/checkin/{other_room.id}/{s.session.id}",
                       data={"ticket_number": s.tickets[0].ticket_number}).status_code == 404
    index = client.get("/tickets/checkin").get_data(as_text=True)
    assert "实训楼 301" in index and "实训楼 302" not in index
    # a proctor has none of the school's other pages
    assert client.get("/tickets/").status_code == 302
    assert client.get(f"/tickets/rooms/{s.room.id}/sessions/{s.session.id}/door-list.pdf").status_code == 403
    assert client.get("/candidates/").status_code == 403
    # another school's user cannot check in here either
    login_as(client, make_user("school"))
    assert client.get(f"/tickets/checkin/{s.room.id}/{s.session.id}").status_code == 404


def test_a_cancelled_registration_cannot_check_in(during):
    s = make_scheduled(1)
    s.registrations[0].state = RegistrationState.CANCELLED
    db.session.flush()
    with pytest.raises(DomainError, match="^该考生不在本场次本考场。$"):
        checkin.check_in(s.school_user, s.room.id, s.session.id, ticket_number=s.tickets[0].ticket_number)


def test_check_in_opens_two_hours_before_the_session(monkeypatch):
    s = make_scheduled(1)
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION - timedelta(hours=3))
    with pytest.raises(DomainError, match="开考前 2 小时"):
        checkin.check_in(s.school_user, s.room.id, s.session.id, ticket_number=s.tickets[0].ticket_number)


def test_the_page_says_when_check_in_opens_and_offers_nothing_before(client, monkeypatch):
    s = make_scheduled(1)
    login_as(client, make_proctor_user(s))
    url = f"/tickets/checkin/{s.room.id}/{s.session.id}"
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION - timedelta(hours=3))
    page = client.get(url).get_data(as_text=True)
    assert "尚未开始，开考前 2 小时开放" in page
    assert re.search(r'data-testid="ticket-number-input"[^>]*disabled', page)
    assert re.search(r'data-testid="mark-absent"[^>]*disabled', page)
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION)
    page = client.get(url).get_data(as_text=True)
    assert "（进行中）" in page and not re.search(r'data-testid="ticket-number-input"[^>]*disabled', page)
    monkeypatch.setattr(clock, "now", lambda: AFTER_SESSION)
    page = client.get(url).get_data(as_text=True)
    assert "本场次已结束" in page and not re.search(r'data-testid="mark-absent"[^>]*disabled', page)


def test_absent_are_marked_in_one_step_only_after_the_session(client, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION)
    s = make_scheduled(3)
    proctor = make_proctor_user(s)
    checkin.check_in(proctor, s.room.id, s.session.id, ticket_number=s.tickets[0].ticket_number)
    with pytest.raises(DomainError, match="结束后才能标记缺考"):
        checkin.mark_absent(proctor, s.room.id, s.session.id)
    monkeypatch.setattr(clock, "now", lambda: AFTER_SESSION)
    login_as(client, proctor)
    body = client.post(f"/tickets/checkin/{s.room.id}/{s.session.id}/absent", follow_redirects=True).get_data(as_text=True)
    assert "已将 2 名未签到的考生标记为缺考" in body
    for seat in s.seats:
        db.session.refresh(seat)
    assert [seat.absent for seat in s.seats] == [False, True, True]
    assert checkin.mark_absent(proctor, s.room.id, s.session.id) == 0  # a second step changes nothing


def test_school_staff_may_check_in_at_its_rooms(during):
    s = make_scheduled(1)
    result = checkin.check_in(s.school_user, s.room.id, s.session.id, ticket_number=s.tickets[0].ticket_number.lower())
    assert result.status == "checked_in"
    assert [st.room.id for st in checkin.stations(s.school_user)] == [s.room.id]


def test_check_in_closes_when_the_session_ends(monkeypatch):
    s = make_scheduled(1)
    monkeypatch.setattr(clock, "now", lambda: AFTER_SESSION)
    with pytest.raises(DomainError, match="已于 .* 结束，不能再签到"):
        checkin.check_in(s.school_user, s.room.id, s.session.id, ticket_number=s.tickets[0].ticket_number)
