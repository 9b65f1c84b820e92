"""Candidates one by one: the form, locking, search, masking, deletion and restore, scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.candidates import services
from examadmin.candidates.models import Candidate
from examadmin.catalog.models import Major
from examadmin.candidates.states import CandidateState
from examadmin.core.errors import DomainError
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.conftest import login_as, make_school, make_user


def raw(name="张三", number=None, **extra):
    data = {"name": name, "id_type": "居民身份证", "id_number": number or id_number(), "gender": "",
            "ethnicity": "汉族", "phone": "", "kind": "本校考生", "major_code": "570116K",
            "major_name": "心理健康教育", "class_name": "心理2201", "student_number": "", "enrolment_year": "2022"}
    data.update(extra)
    return data


def test_add_through_the_form_normalises_the_id(client):
    user = make_user("school")
    login_as(client, user)
    number = id_number()
    typed = " " + number[:6] + "\u200b" + number[6:].lower().replace("x", "ｘ") + " "
    major_id = db.session.scalar(select(Major.id).where(Major.code == "570116K"))
    response = client.post("/candidates/new", data={"name": "张三", "id_type": "居民身份证", "id_number": typed,
                                                    "gender": "", "ethnicity": "汉族", "kind": "本校考生",
                                                    "major_id": major_id, "enrolment_year": "2022"})
    assert response.status_code == 302
    candidate = db.session.scalar(select(Candidate).where(Candidate.school_id == user.school_id))
    assert candidate.id_number == number and candidate.state == CandidateState.PENDING


@pytest.mark.parametrize("typed,stored", [("李 丽", "李丽"), ("李\u3000丽", "李丽"), ("阿依古丽 • 买买提", "阿依古丽·买买提"),
                                          ("John  Smith", "John Smith"), ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"),
                                          ("\u2f08\u2f1d", "人口")])
def test_a_name_is_stored_without_spaces_between_han_characters(typed, stored):
    assert services.add_candidate(make_user("school"), raw(typed)).name == stored


def test_a_name_without_a_letter_is_refused():
    with pytest.raises(DomainError, match="没有文字"):
        services.add_candidate(make_user("school"), raw("···"))


@pytest.mark.parametrize("typed", ["139 0000 0000", "+86 139-0000-0000", "13\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660"])
def test_a_mobile_number_is_stored_as_eleven_ascii_digits(typed):
    assert services.add_candidate(make_user("school"), raw(phone=typed)).phone == "13900000000"


def test_the_new_form_can_be_typed_into(client):
    """WTForms writes readonly=None as readonly="None", which a browser obeys: the name and ID
    number of a new candidate could not be typed at all."""
    login_as(client, make_user("school"))
    body = client.get("/candidates/new").get_data(as_text=True)
    assert 'name="name"' in body and 'name="id_number"' in body
    assert "readonly" not in body and '="None"' not in body


def test_form_errors_are_shown_and_nothing_saved(client):
    user = make_user("school")
    login_as(client, user)
    body = client.post("/candidates/new", data={"name": "张三", "id_type": "居民身份证", "id_number": "123",
                                                "gender": "", "ethnicity": "", "kind": "社会考生"}).get_data(as_text=True)
    assert "身份证号码应为 18 位" in body
    assert db.session.scalar(select(Candidate).where(Candidate.school_id == user.school_id)) is None


def test_the_same_id_twice_is_refused():
    user = make_user("school")
    number = id_number()
    services.add_candidate(user, raw(number=number))
    with pytest.raises(DomainError, match="本校已有证件号码"):
        services.add_candidate(user, raw("李四", number=number))


def test_another_school_may_have_the_same_person():
    number = id_number()
    services.add_candidate(make_user("school"), raw(number=number))
    assert services.add_candidate(make_user("school"), raw(number=number)).id


def test_locked_name_and_id_refused_other_fields_editable():
    user = make_user("school")
    candidate = services.add_candidate(user, raw())
    candidate.state = CandidateState.ACCURATE
    with pytest.raises(DomainError, match="姓名已锁定.*信息更正申请"):
        services.update_candidate(user, candidate.id, raw("改名", number=candidate.id_number))
    services.update_candidate(user, candidate.id, raw(number=candidate.id_number, phone="13900139000"))
    assert candidate.phone == "13900139000" and candidate.state == CandidateState.ACCURATE


def test_editing_after_a_failed_check_resets_to_pending():
    user = make_user("school")
    candidate = services.add_candidate(user, raw())
    candidate.state, candidate.verify_reasons = CandidateState.NEEDS_REVIEW, ["缺少照片"]
    services.update_candidate(user, candidate.id, raw("张三丰", number=candidate.id_number))
    assert candidate.state == CandidateState.PENDING and candidate.verify_reasons is None


def test_delete_hides_refuses_reentry_and_only_the_org_restores(client):
    user = make_user("school")
    candidate = services.add_candidate(user, raw())
    services.hide_candidate(user, candidate.id)
    assert candidate not in db.session.scalars(services.list_candidates(user)).all()
    with pytest.raises(DomainError, match="已被本校删除.*评价组织"):
        services.add_candidate(user, raw(number=candidate.id_number))
    with pytest.raises(Exception):
        services.restore_candidate(user, candidate.id)
    org = make_user("org")
    assert candidate in db.session.scalars(services.list_candidates(org, hidden=True)).all()
    db.session.commit()
    login_as(client, org)
    client.post(f"/candidates/{candidate.id}/restore")
    assert db.session.get(Candidate, candidate.id).hidden is False
    assert db.session.get(Candidate, candidate.id).id_number == candidate.id_number  # nothing erased


def test_search_by_name_id_and_class_and_masking_in_lists(client):
    user = make_user("school")
    number = id_number()
    services.add_candidate(user, raw("欧阳娜娜", number=number, class_name="护理2301"))
    services.add_candidate(user, raw("司马光"))
    login_as(client, user)
    body = client.get("/candidates/?q=欧阳").get_data(as_text=True)
    assert "欧阳娜娜" in body and "司马光" not in body
    assert number not in body and number[:6] + "********" + number[-4:] in body
    assert "欧阳娜娜" in client.get(f"/candidates/?q={number.lower()}").get_data(as_text=True)
    assert "司马光" not in client.get("/candidates/?class_name=护理2301").get_data(as_text=True)


def test_full_id_on_the_detail_page_for_school_and_org_masked_for_province(client):
    user = make_user("school")
    number = id_number()
    candidate = services.add_candidate(user, raw(number=number))
    login_as(client, user)
    assert number in client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    login_as(client, make_user("province", province_code="50"))
    body = client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert number not in body and number[-4:] in body


def test_a_school_gets_404_for_another_schools_candidate_and_photo(client):
    mine, theirs = make_user("school"), make_user("school")
    other = services.add_candidate(theirs, raw())
    storage = get_storage()
    other.photo_key = storage.save(storage.new_key("photos", ".jpg"), b"\xff\xd8\xff")
    db.session.commit()
    login_as(client, mine)
    for url in (f"/candidates/{other.id}", f"/candidates/{other.id}/photo", f"/candidates/{other.id}/edit"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/candidates/{other.id}/delete").status_code in (302, 404)
    assert db.session.get(Candidate, other.id).hidden is False
    login_as(client, theirs)
    photo = client.get(f"/candidates/{other.id}/photo")
    assert photo.status_code == 200 and photo.headers["Cache-Control"] == "no-store"
    photo.close()


def test_province_sees_its_schools_candidates_only():
    here = services.add_candidate(make_user("school", school=make_school("50")), raw())
    there = services.add_candidate(make_user("school", school=make_school("51")), raw())
    rows = db.session.scalars(services.list_candidates(make_user("province", province_code="50"))).all()
    assert here in rows and there not in rows
