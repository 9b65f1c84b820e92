"""Personal data (PIPL) in the candidates area: the correction review shows whole ID numbers only
to the org and the owning school, searches by ID number are POSTs, the audit log and job results
of imports carry no whole number, and the log names fields in Chinese."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select, text

from examadmin.candidates import services
from examadmin.candidates.models import CorrectionRequest
from examadmin.core import idcard, jobs
from examadmin.extensions import db
from tests.candidates.helpers import id_number, student_row, write_sheet
from tests.candidates.test_corrections import file, locked
from tests.candidates.test_verification import photo_bytes
from tests.conftest import login_as, make_user


def page_text(response) -> str:
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True))


# ---- the correction review ----------------------------------------------------------------------

@pytest.mark.parametrize("role, whole", [("org", True), ("school", True), ("city", False), ("province", False)])
def test_the_correction_page_shows_whole_ids_to_org_and_owning_school_only(client, role, whole):
    school_user = make_user("school")
    candidate = locked(school_user, name="张三", number=id_number(born="20030512"))
    old_number, new_number = candidate.id_number, id_number(born="20040101", male=False)
    request = file(school_user, candidate, number=new_number)
    school = candidate.school
    viewer = {"org": lambda: make_user("org"), "school": lambda: school_user,
              "city": lambda: make_user("city", city=school.city),
              "province": lambda: make_user("province", province_code=school.province.code)}[role]()
    login_as(client, viewer)
    response = client.get(f"/candidates/corrections/{request.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for number in (old_number, new_number):
        assert (number in body) is whole
        assert idcard.mask(number) in body or whole


# ---- searching by ID number is a POST -------------------------------------------------------------

def test_the_search_form_posts_and_no_id_number_reaches_a_url(client):
    user = make_user("school")
    number = id_number()
    services.add_candidate(user, {"name": "欧阳娜娜", "id_type": "居民身份证", "id_number": number, "gender": "",
                                  "ethnicity": "汉族", "phone": "", "kind": "社会考生"})
    services.add_candidate(user, {"name": "司马光", "id_type": "居民身份证", "id_number": id_number(), "gender": "",
                                  "ethnicity": "汉族", "phone": "", "kind": "社会考生"})
    login_as(client, user)
    listing = client.get("/candidates/").get_data(as_text=True)
    form = re.search(r'<form[^>]*data-testid="search-form"[^>]*>', listing).group(0)
    assert 'method="post"' in form
    response = client.post("/candidates/", data={"q": number.lower(), "kind": "社会考生"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert number not in location and number.lower() not in location and "search=1" in location
    found = client.get(location).get_data(as_text=True)
    assert "欧阳娜娜" in found and "司马光" not in found and idcard.mask(number) in found
    # the kept search is sealed: the session cookie is signed, not encrypted
    with client.session_transaction() as kept:
        assert not any(number[-8:].lower() in str(v).lower() for v in kept.values())
    # a kept value that is not what the app writes (altered, expired, another type): no search, no 500
    for odd in (12, ["x"], {"a": 1}, "gAAAAA-not-a-token"):
        with client.session_transaction() as kept:
            kept["search:candidates.index"] = odd
        answer = client.get(location)
        assert answer.status_code == 200 and "司马光" in answer.get_data(as_text=True), odd
    # the list without search=1 (the menu link) shows everyone again
    assert "司马光" in client.get("/candidates/").get_data(as_text=True)
    # clearing the box clears the search
    cleared = client.post("/candidates/", data={"q": ""})
    assert "search" not in cleared.headers["Location"]


def test_the_correction_search_posts_too(client):
    school_user = make_user("school")
    candidate = locked(school_user, name="张三")
    file(school_user, candidate, name="张叁")
    org = make_user("org")
    login_as(client, org)
    response = client.post("/candidates/corrections", data={"q": candidate.id_number, "state": "待审核"})
    assert response.status_code == 302 and candidate.id_number not in response.headers["Location"]
    found = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "张三" in found and 'method="post"' in found


# ---- imports: audit records and job results ------------------------------------------------------

def _stored(sql: str, **params) -> str:
    rows = db.session.execute(text(sql), params).all()
    return json.dumps([[str(c) for c in row] for row in rows], ensure_ascii=False)


def test_an_import_job_stores_no_whole_id_or_phone_in_its_result_or_the_audit_log(client, tmp_path):
    user = make_user("school")
    login_as(client, user)
    good, repeated = id_number(), id_number()
    path = write_sheet(tmp_path / "pii.xlsx", [student_row("甲", good, 手机号码="13812345678"),
                                               student_row("乙", repeated), student_row("丙", repeated),
                                               student_row("丁", "E12345678", 证件类型="护照", 性别="男")])
    with open(path, "rb") as fh:
        response = client.post("/candidates/import", data={"file": (fh, "pii.xlsx"), "valid_only": "y"},
                               content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    result = _stored("SELECT result, error, message FROM job WHERE id = :id", id=job_id)
    log = _stored("SELECT entity_label, before, after FROM audit_log WHERE school_id = :s", s=user.school_id)
    assert "candidate.create" in _stored("SELECT action FROM audit_log WHERE school_id = :s", s=user.school_id)
    for whole in (good, repeated, "13812345678", "E12345678"):
        assert whole not in result and whole not in log
    assert idcard.mask(good) in log


def test_a_photo_import_names_files_masked_in_the_audit_log_and_the_job(client):
    user = make_user("school")
    number = id_number()
    services.add_candidate(user, {"name": "照片人", "id_type": "居民身份证", "id_number": number, "gender": "",
                                  "ethnicity": "汉族", "phone": "", "kind": "社会考生"})
    login_as(client, user)
    stranger = id_number()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{number}.jpg", photo_bytes())
        archive.writestr(f"{stranger}.jpg", photo_bytes())  # nobody of this school: an error naming the file
    buffer.seek(0)
    response = client.post("/candidates/photos", data={"file": (buffer, "photos.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    job = db.session.scalars(jobs.list_jobs(user)).first()
    result = _stored("SELECT result FROM job WHERE id = :id", id=job.id)
    log = _stored("SELECT before, after FROM audit_log WHERE school_id = :s", s=user.school_id)
    assert "candidate.photo" in _stored("SELECT action FROM audit_log WHERE school_id = :s", s=user.school_id)
    for whole in (number, stranger):
        assert whole not in result and whole not in log
    assert idcard.mask(stranger) in result and idcard.mask(number) in log
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert stranger not in page


# ---- item 14: a candidate's changes in Chinese, before → after ---------------------------------------

def test_a_candidates_changes_read_in_chinese_with_names_not_ids(client):
    user = make_user("school")
    raw = {"name": "王五", "id_type": "居民身份证", "id_number": id_number(), "gender": "", "ethnicity": "汉族",
           "phone": "13800001111", "kind": "本校考生", "major_code": "570116K", "major_name": "心理健康教育",
           "class_name": "心理2201", "student_number": "", "enrolment_year": "2022"}
    candidate = services.add_candidate(user, raw)
    services.update_candidate(user, candidate.id, {**raw, "phone": "13900002222", "class_name": "心理2202"})
    db.session.commit()
    login_as(client, make_user("org"))
    body = page_text(client.get("/audit/?action=candidate.update"))
    assert "手机号码：138****1111 → 139****2222" in body
    assert "班级：心理2201 → 心理2202" in body
    assert "民族" not in body  # unchanged fields are left out
    created = page_text(client.get("/audit/?action=candidate.create"))
    assert "专业：570116K 心理健康教育" in created and "出生日期：" in created
    for code_name in ("major_id", "birth_date", "enrolment_year", "None", "phone"):
        assert code_name not in created


@pytest.mark.parametrize("role, whole", [("school", True), ("org", True), ("sysadmin", False), ("city", False)])
def test_the_detail_page_shows_the_whole_id_to_the_owning_school_and_the_org_only(client, role, whole):
    owner = make_user("school")
    number = id_number()
    candidate = services.add_candidate(owner, {"name": "详情人", "id_type": "居民身份证", "id_number": number,
                                               "gender": "", "ethnicity": "汉族", "phone": "", "kind": "社会考生"})
    viewer = owner if role == "school" else (make_user("city", city=owner.school.city) if role == "city"
                                             else make_user(role))
    login_as(client, viewer)
    body = client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert (number in body) is whole and (idcard.mask(number) in body or whole)
