"""What an import job tells its user: outcome, file, warnings, and 只导入正确的行 without a new upload."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from examadmin.candidates.models import Candidate
from examadmin.core.jobs import Job
from examadmin.extensions import db
from tests.candidates.helpers import student_row, write_sheet
from tests.conftest import login_as, make_user


@pytest.fixture
def school_user():
    return make_user("school")


def upload(client, path):
    with open(path, "rb") as fh:
        response = client.post("/candidates/import", data={"file": (fh, path.name)},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def names(user) -> set[str]:
    return set(db.session.scalars(select(Candidate.name).where(Candidate.school_id == user.school_id)))


def test_a_refused_import_says_so_and_imports_the_valid_rows_from_the_kept_file(client, school_user, tmp_path):
    login_as(client, school_user)
    path = write_sheet(tmp_path / "三年级.xlsx", [student_row("甲"), student_row("乙", 民族="火星族"),
                                                student_row("丙")])
    job_id = upload(client, path)
    job = db.session.get(Job, job_id)
    assert (job.state_label, job.state_level) == ("未导入", "danger")
    assert job.message.startswith("导入 0 行，1 处错误")
    jobs_page = client.get("/jobs/").get_data(as_text=True)
    assert "三年级.xlsx" in jobs_page and ">未导入</span>" in jobs_page and "导入 0 行，1 处错误" in jobs_page
    page = client.get(f"/candidates/import/{job_id}").get_data(as_text=True)
    assert "只导入正确的行（2 行，使用已上传的文件）" in page and names(school_user) == set()

    again = client.post(f"/candidates/import/{job_id}/valid-only")
    assert again.status_code == 302
    new_id = int(again.headers["Location"].rsplit("/", 1)[1])
    new = db.session.get(Job, new_id)
    old = db.session.get(Job, job_id)
    assert new_id != job_id and new.input_key == old.input_key and new.input_name == "三年级.xlsx"
    assert new.params["valid_only"] is True
    assert names(school_user) == {"甲", "丙"}
    assert (new.state_label, new.state_level) == ("部分导入", "warning")
    assert new.message.startswith("导入 2 行（新增 2，更新 0，未变 0），1 处错误（1 行未导入）")
    assert "只导入正确的行（" not in client.get(f"/candidates/import/{new_id}").get_data(as_text=True)
    # The imported job cannot be imported "valid only" again; the answer is a message, not a 500.
    refused = client.post(f"/candidates/import/{new_id}/valid-only", follow_redirects=True)
    assert refused.status_code == 200 and "只有因错误未导入的文件" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Job.id)).where(Job.owner_id == school_user.id)) == 2


def test_only_the_owner_may_import_the_valid_rows_of_a_job(client, school_user, tmp_path):
    login_as(client, school_user)
    job_id = upload(client, write_sheet(tmp_path / "a.xlsx", [student_row("甲"), student_row("乙", 民族="火星族")]))
    other = make_user("school")
    login_as(client, other)
    assert client.post(f"/candidates/import/{job_id}/valid-only").status_code == 404
    assert names(school_user) == set()


def test_a_file_with_only_bad_rows_offers_no_valid_only_import(client, school_user, tmp_path):
    login_as(client, school_user)
    job_id = upload(client, write_sheet(tmp_path / "b.xlsx", [student_row("乙", 民族="火星族")]))
    assert "只导入正确的行（" not in client.get(f"/candidates/import/{job_id}").get_data(as_text=True)
    refused = client.post(f"/candidates/import/{job_id}/valid-only", follow_redirects=True)
    assert "没有正确的行可以导入" in refused.get_data(as_text=True)


def test_a_clean_import_is_done_and_its_annotated_sheet_carries_the_warnings(client, school_user, tmp_path):
    login_as(client, school_user)
    # A major the school has no approved pilot line for: imported, with a warning.
    job_id = upload(client, write_sheet(tmp_path / "c.xlsx", [student_row("甲")]))
    job = db.session.get(Job, job_id)
    assert job.state_label == "已完成" and job.state_level == "success"
    assert job.message == "导入 1 行（新增 1，更新 0，未变 0），1 条提示"
    download = client.get(f"/jobs/{job_id}/download")
    rows = list(openpyxl.load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    download.close()
    assert rows[0][-1] == "错误说明" and "（提示）" in rows[1][-1] and "不能使用指标" in rows[1][-1]


def test_a_photo_job_tells_imported_partly_imported_and_nothing_imported(school_user):
    from tests.candidates.test_photos import _submit, add, image, make_zip

    first, second = add(school_user), add(school_user)
    whole = _submit(school_user, make_zip({f"{first.id_number}.jpg": image()}), name="全部.zip")
    assert (whole.state_label, whole.message) == ("已完成", "照片 1 个：导入 1（新上传 1，替换 0）")
    partly = _submit(school_user, make_zip({f"{second.id_number}.jpg": image(), "x.gif": b"x"}))
    assert partly.state_label == "部分导入" and partly.message.endswith("；另有 1 个非照片文件已跳过")
    nothing = _submit(school_user, make_zip({"123456789012345678.jpg": image()}))
    assert (nothing.state_label, nothing.state_level) == ("未导入", "danger")
