"""Personal data (PIPL) in the core: masking any paper, the audit log masked when written and
when read (pages and exports), job results masked, private files, exports that stay text."""
from __future__ import annotations

import io
import json
import os
import re
import stat

import openpyxl
import pytest
from hypothesis import given, strategies as st
from sqlalchemy import insert, text

from examadmin import config as config_module
from examadmin.catalog import services as catalog
from examadmin.core import audit, idcard, jobs
from examadmin.core.audit import AuditLog
from examadmin.core.auth import SYSTEM
from examadmin.core.excel import write_table
from examadmin.core.jobs import Job, handler
from examadmin.core.storage import LocalStorage, get_storage
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.conftest import login_as, make_school, make_user


def page_text(response) -> str:
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True))


# ---- mask() ---------------------------------------------------------------------------------

@pytest.mark.parametrize("number, masked", [
    ("500107200305120011", "500107********0011"),
    ("E12345678", "E1*****78"),  # a passport: used to show whole
    ("H1234567801", "H1*******01"),  # a 港澳 permit
    ("G1234567", "G******7"),
    ("1234", "****"),
])
def test_mask_keeps_only_a_prefix_and_a_suffix_of_any_paper(number, masked):
    assert idcard.mask(number) == masked


@given(st.text(alphabet="0123456789ABCDEFGHXYZ", min_size=1, max_size=30))
def test_mask_hides_at_least_half_of_any_number_and_is_stable(number):
    masked = idcard.mask(number)
    assert len(masked) == len(number) and masked.count("*") * 2 >= len(number) - 2
    assert masked != number or len(number) == 0
    assert idcard.mask(masked) == masked  # masking a masked value (old rows read again) changes nothing


def test_a_number_in_a_text_is_masked_when_letters_touch_it_but_not_inside_a_longer_number():
    from examadmin.core.personal import mask_text

    number = "500106200403150141"
    for text in (f"ID{number}.xlsx", f"{number}chen.xlsx", f"sfz{number}X", f"「{number}」"):
        assert number not in mask_text(text) and idcard.mask(number) in mask_text(text), text
    ticket = "202600003000010100100105"  # 24 digits: a ticket number, not an ID number
    assert mask_text(f"准考证号 {ticket}") == f"准考证号 {ticket}"


def test_mask_phone():
    assert idcard.mask_phone("13800138000") == "138****8000"
    assert idcard.mask_phone("138****8000") == "138****8000"
    assert "65001234" not in idcard.mask_phone("023-65001234")


# ---- the audit log --------------------------------------------------------------------------

def _raw_audit_text() -> str:
    """Every stored before/after/label as the database holds it, bypassing the column types."""
    rows = db.session.execute(text("SELECT entity_label, before, after FROM audit_log")).all()
    return json.dumps([[str(c) for c in row] for row in rows], ensure_ascii=False)


def test_audit_rows_never_store_a_whole_id_or_phone_even_from_bulk_inserts():
    number, passport = id_number(), "E98765432"
    school = make_school()
    audit.record(SYSTEM, "candidate.update", school, before={"id_number": number, "phone": "13912345678"},
                 after={"id_number": passport, "phone": "023-65001234", "file": f"{number}.jpg"})
    # the importers write their records in one INSERT, past audit.record
    db.session.execute(insert(AuditLog), [{
        "actor_name": "系统", "actor_role": "system", "action": "candidate.create", "entity_type": "candidate",
        "entity_label": f"考生 {number}", "ip": "", "after": {"id_number": number, "note": f"号码 {number}"}}])
    db.session.flush()
    stored = _raw_audit_text()
    for whole in (number, passport, "13912345678", "65001234"):
        assert whole not in stored
    assert idcard.mask(number) in stored, stored[-600:]
    assert idcard.mask(passport) in stored, stored[-600:]
    assert "139****5678" in stored


def _old_row_with_whole_numbers(school, number: str, phone: str) -> None:
    """A row written before masking existed: whole numbers, put in with plain SQL."""
    db.session.execute(text(
        "INSERT INTO audit_log (at, actor_name, actor_role, action, entity_type, entity_id, entity_label, "
        "before, after, ip, school_id, city_id, province_id) VALUES (:at, '老记录', 'school', 'candidate.update', "
        "'candidate', 1, '旧考生', :before, :after, '', :school, :city, :province)"),
        {"at": "2026-01-02 03:04:05", "before": json.dumps({"id_number": "E11112222", "phone": "13700001111"}),
         "after": json.dumps({"id_number": number, "phone": phone}),
         "school": school.id, "city": school.city_id, "province": school.province_id})
    assert number in _raw_audit_text()  # the premise: the old row holds it whole


@pytest.mark.parametrize("role", ["city", "province", "school", "org"])
def test_the_audit_page_masks_ids_and_phones_of_old_rows_too(client, role):
    school = make_school()
    number, phone = id_number(), "13812345678"
    _old_row_with_whole_numbers(school, number, phone)
    user = make_user(role, school=school, city=school.city) if role in ("school", "city") else make_user(role)
    login_as(client, user)
    body = client.get("/audit/?entity_type=candidate").get_data(as_text=True)
    assert "老记录" in body
    for whole in (number, phone, "E11112222", "13700001111"):
        assert whole not in body
    assert idcard.mask(number) in body and "138****5678" in body


def test_the_audit_export_masks_ids_and_phones(client):
    school = make_school()
    number = id_number()
    _old_row_with_whole_numbers(school, number, "13812345678")
    org = make_user("org")
    login_as(client, org)
    client.post("/audit/export", data={"entity_type": "candidate"})
    job = db.session.scalars(jobs.list_jobs(org)).first()
    download = client.get(f"/jobs/{job.id}/download")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    download.close()
    cells = json.dumps([list(r) for r in sheet.iter_rows(values_only=True)], ensure_ascii=False, default=str)
    assert "老记录" in cells and number not in cells and "13812345678" not in cells and "E11112222" not in cells
    assert idcard.mask(number) in cells


# ---- job results ------------------------------------------------------------------------------

@handler("test_pii_result", "测试：结果里有证件号码")
def _result_with_numbers(ctx):
    ctx.job.result = {"errors": [{"file": f"{ctx.params['number']}.jpg", "message": "照片太小"}],
                      "failures": [{"name": "张三", "id_number": "E12345678", "phone": "13800138000"}]}


def test_a_job_result_is_stored_with_ids_and_phones_masked():
    number = id_number()
    job = jobs.submit(make_user("school"), "test_pii_result", {"number": number})
    db.session.commit()
    jobs.dispatch(job)
    stored = db.session.execute(text("SELECT result FROM job WHERE id = :id"), {"id": job.id}).scalar_one()
    stored = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
    assert number not in stored and "E12345678" not in stored and "13800138000" not in stored
    assert f"{idcard.mask(number)}.jpg" in stored
    db.session.expire_all()
    assert db.session.get(Job, job.id).result["failures"][0]["id_number"] == idcard.mask("E12345678")



def test_a_jobs_file_names_are_stored_and_shown_masked(client):
    """A sheet named by a candidate's ID number: the job list, page and JSON show it masked."""
    number = id_number()
    user = make_user("school")
    job = jobs.submit(user, "test_pii_result", {"number": "x"}, input_name=f"ID{number}chen.xlsx", title=f"导入 {number}")
    job.result_name = f"结果_{number}.xlsx"
    job.message = f"未导入：压缩包中的「{number}.jpg」压缩比过高"  # a refusal quoting a member's name
    db.session.commit()
    stored = db.session.execute(text("SELECT title, input_name, result_name, message FROM job WHERE id = :id"),
                                {"id": job.id}).one()
    assert not any(number in value for value in stored)
    login_as(client, user)
    for url in ("/jobs/", f"/jobs/{job.id}", f"/jobs/{job.id}.json"):
        body = client.get(url).get_data(as_text=True)
        assert number not in body and idcard.mask(number) in body, url

# ---- item 14: the log reads as users speak --------------------------------------------------------

def test_the_audit_log_shows_chinese_labels_names_and_yes_no(client):
    school = make_school()
    province_name = school.province.name
    old_city, new_city = school.city, make_school(province_code="50").city
    catalog.save_school(SYSTEM, {"code": school.code, "name": school.name, "type": school.type,
                                 "province_id": school.province_id, "city_id": new_city.id}, school.id)
    catalog.save_certificate(SYSTEM, {"code": "PII-1", "name": "标签证书", "org_name": "测试组织"})
    org = make_user("org")
    org.active = True
    user = make_user("school", school=school)
    from examadmin.core import auth
    auth.update_user(SYSTEM, user.id, name=user.name, phone="", is_signer=True)
    login_as(client, org)
    body = page_text(client.get("/audit/?action=school.update"))
    assert f"所属地市：{old_city.name} → {new_city.name}" in body
    assert "city_id" not in body and "None" not in body and province_name  # unchanged fields are left out
    assert "所属省份" not in body
    users = page_text(client.get("/audit/?action=user.update"))
    assert "签发负责人：否 → 是" in users and "True" not in users and "is_signer" not in users


def test_every_audited_field_of_the_areas_has_a_chinese_label():
    """A field an area audits without registering its label would show its code name."""
    from examadmin.candidates.services import FIELDS as CANDIDATE_FIELDS
    from examadmin.catalog.services import SCHOOL_FIELDS
    from examadmin.exams.services.plans import PLAN_FIELDS, SUBJECT_FIELDS
    from examadmin.exams.services.rooms import ROOM_FIELDS
    from examadmin.pilots.services import PLAN_FIELDS as APPLICATION_PLAN_FIELDS
    from examadmin.sites.services import SITE_FIELDS

    for entity_type, fields in [("candidate", CANDIDATE_FIELDS), ("school", SCHOOL_FIELDS),
                                ("exam_plan", PLAN_FIELDS), ("subject", SUBJECT_FIELDS), ("exam_room", ROOM_FIELDS),
                                ("application_plan", APPLICATION_PLAN_FIELDS), ("exam_site", SITE_FIELDS)]:
        for name in fields:
            label = audit.field_label(entity_type, name).label
            assert label != name and re.search(r"[\u4e00-\u9fff]", label), (entity_type, name)


def test_the_later_areas_audited_fields_have_chinese_labels_too():
    """Registrations, payments, scheduling, tickets, portal, scores and certificates: the keys their
    services write into before/after (the 记录 panel showed plan:, fee:, seed: and the like)."""
    from examadmin.scheduling.services.proctors import PROCTOR_FIELDS
    from examadmin.scores.services import SCORE_FIELDS

    audited = {
        "registration": ["plan", "site", "id_number", "kind", "is_retake", "quota_line_id", "fee", "state",
                         "source", "ticket_number", "seat", "room", "session_id", "at", "reason"],
        "school": ["plan", "file", "rows", "created", "errors"],
        "payment_order": ["reference", "kind", "amount", "registrations", "registration_ids"],
        "schedule_run": ["plan", "site", "seed", "placed"],
        "proctor": [*PROCTOR_FIELDS, "username", "room", "session"],
        "exam_site": ["plan", "freed", "reason"],
        "exam_room": ["scheduled", "number", "session_id", "session", "absent"],
        "exam_plan": ["pages", "site_id", "room_id", "rows", "format", "file", "changed", "errors", "made"],
        "portal_account": ["id_number"],
        "score": [*SCORE_FIELDS, "source", "reason"],
        "score_objection": ["score_id", "reason"],
        "certificate_signoff": ["records", "ip", "device", "reason", "message"],
        "certificate": ["image_key"],
        "paper_batch": ["state", "certificates", "carrier", "tracking_number"],
    }
    for entity_type, fields in audited.items():
        for name in fields:
            label = audit.field_label(entity_type, name).label
            assert label != name and re.search(r"[\u4e00-\u9fff]", label), (entity_type, name)


# ---- files: the instance folder 0700, stored files 0600 ---------------------------------------------

def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_instance_folder_is_created_0700_and_an_old_0755_one_is_tightened(tmp_path, monkeypatch):
    fresh = tmp_path / "fresh" / "instance"
    monkeypatch.setenv("EXAMADMIN_INSTANCE", str(fresh))
    old_umask = os.umask(0o022)  # what a shell usually has
    try:
        assert config_module._instance_dir() == fresh and _mode(fresh) == 0o700
        old = tmp_path / "old"
        old.mkdir(mode=0o755)
        monkeypatch.setenv("EXAMADMIN_INSTANCE", str(old))
        config_module._instance_dir()
        assert _mode(old) == 0o700
    finally:
        os.umask(old_umask)


def test_hueys_queue_created_when_the_package_is_imported_is_0600():
    # conftest imported examadmin with the shell's umask; the queue file was made at that import
    assert _mode(os.environ["HUEY_SQLITE_PATH"]) == 0o600


def test_stored_files_are_0600_and_their_folders_0700_whatever_the_umask(tmp_path):
    old_umask = os.umask(0o022)
    try:
        storage = LocalStorage(tmp_path / "storage")
        key = storage.save(storage.new_key("photos", ".jpg"), b"\xff\xd8\xff")
        stream_key = storage.save("letters/a/b.pdf", io.BytesIO(b"%PDF-1.4"))
    finally:
        os.umask(old_umask)
    for k in (key, stream_key):
        assert _mode(storage.path(k)) == 0o600
    assert _mode(tmp_path / "storage" / "photos") == 0o700
    assert _mode(tmp_path / "storage" / "letters") == 0o700 and _mode(tmp_path / "storage" / "letters" / "a") == 0o700


def test_the_app_process_creates_database_and_exports_readable_by_itself_alone(app, tmp_path):
    from examadmin import create_app
    from tests.conftest import test_config

    old_umask = os.umask(0o022)
    try:
        other = create_app(test_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}"))
        with other.app_context():
            with db.engine.connect() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
                conn.commit()
            db.engine.dispose()
        storage = get_storage()  # written by a library (xlsxwriter) to a path, as exports are
        key = storage.new_key("exports", ".xlsx")
        write_table(storage.path(key), "表", ["a"], [["1"]])
        assert _mode(tmp_path / "fresh.db") == 0o600 and _mode(storage.path(key)) == 0o600
    finally:
        os.umask(old_umask)


# ---- exports that stay text (CSV injection) ----------------------------------------------------------

def test_exports_write_formula_like_text_with_a_leading_quote(tmp_path):
    path = tmp_path / "x.xlsx"
    values = ["=1+1", "+8613800138000", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", "张三", "a=b", -5, 3.5]
    write_table(path, "表", ["=HEADER", "ok"], [values])
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("'=HEADER", "ok")
    got = list(rows[1])
    assert got[5].startswith("'") and "=cmd" in got[5]  # a CR is stored escaped (_x000D_)
    got[5] = None
    assert got == ["'=1+1", "'+8613800138000", "'-2+3", "'@SUM(A1)", "'\t=cmd", None, "张三", "a=b", -5, 3.5]


def test_a_formula_typed_into_a_record_leaves_the_audit_export_as_text(client):
    school = make_school()
    catalog.save_school(SYSTEM, {"code": school.code, "name": "=HYPERLINK(\"http://x\",\"点我\")",
                                 "type": school.type, "province_id": school.province_id,
                                 "city_id": school.city_id}, school.id)
    org = make_user("org")
    login_as(client, org)
    client.post("/audit/export", data={"action": "school.update"})
    job = db.session.scalars(jobs.list_jobs(org)).first()
    download = client.get(f"/jobs/{job.id}/download")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    download.close()
    labels = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert labels and all(not str(v).startswith("=") for v in labels) and "'=HYPERLINK" in labels[0]


def test_rows_of_a_list_show_only_their_changed_cells():
    entry = AuditLog(entity_type="application", action="application.quota",
                     before={"lines": [{"major": "520201 护理", "requested": 40, "approved": None},
                                       {"major": "570116K 心理健康教育", "requested": 60, "approved": None}]},
                     after={"lines": [{"major": "520201 护理", "requested": 40, "approved": 40},
                                      {"major": "570116K 心理健康教育", "requested": 60, "approved": None}],
                            "quota": 40})
    assert audit.describe_change(entry) == "拟申报专业「520201 护理」批准人数：（空） → 40；核定指标：40"


def test_the_migration_masks_rows_written_before_the_rule():
    import importlib.util

    from examadmin.config import ROOT

    spec = importlib.util.spec_from_file_location(
        "mask_migration", ROOT / "migrations" / "versions" / "0005_mask_personal_data.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    school = make_school()
    number = id_number()
    _old_row_with_whole_numbers(school, number, "13812345678")
    job = jobs.submit(make_user("org"), "audit_export", {})
    db.session.flush()
    db.session.execute(text("UPDATE job SET result = :r WHERE id = :id"),
                       {"r": json.dumps({"errors": [{"file": f"{number}.jpg"}]}), "id": job.id})
    assert migration.mask_rows(db.session.connection()) >= 2
    stored = _raw_audit_text() + _stored_job(job.id)
    assert number not in stored and "13812345678" not in stored and "E11112222" not in stored
    assert idcard.mask(number) in stored
    assert migration.mask_rows(db.session.connection()) == 0  # nothing left to mask


def _stored_job(job_id: int) -> str:
    value = db.session.execute(text("SELECT result FROM job WHERE id = :id"), {"id": job_id}).scalar_one()
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def test_log_records_never_hold_a_whole_id_or_mobile_number(app, caplog):
    """An IntegrityError logged with its traceback printed the DETAIL (the ID number) and
    the SQL parameters (the phone): every record is masked, on any logger."""
    import logging

    from sqlalchemy.exc import IntegrityError

    from examadmin.scheduling.models import Proctor

    number, phone = id_number("19800101"), "13912345678"
    school = make_school()
    db.session.add(Proctor(school_id=school.id, name="王老师", phone=phone, id_type="居民身份证",
                           id_number=number))
    db.session.flush()
    with caplog.at_level(logging.INFO):
        try:
            with db.session.begin_nested():
                db.session.add(Proctor(school_id=school.id, name="王老师", phone=phone, id_type="居民身份证",
                                       id_number=number))
                db.session.flush()
        except IntegrityError:
            app.logger.exception("unhandled error")
        logging.getLogger("sqlalchemy.engine.Engine").warning("[parameters: %r]", {"id_number": number, "phone": phone})
        logging.getLogger().warning("考生 %s 电话 %s", number, phone)
    assert len(caplog.records) == 3 and caplog.records[0].exc_info
    assert number[-4:] in caplog.text and phone[-4:] in caplog.text
    assert number not in caplog.text and phone not in caplog.text
    assert all(number not in r.getMessage() and phone not in r.getMessage() for r in caplog.records)
