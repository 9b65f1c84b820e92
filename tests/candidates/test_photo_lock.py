"""A photo import holds no write lock while it processes images (issue 8 item 9).

On SQLite a writing transaction holds the database's one write lock; a job that kept its
transaction open while it decoded 2,000 photos (13 s) made every other save wait. This test
runs the real job against a database file of its own, outside the test's rollback harness,
and commits a write from another connection while the photos are being processed.
"""
from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import select

from examadmin import create_app
from examadmin.candidates import photos, services
from examadmin.candidates.models import Candidate
from examadmin.catalog import services as catalog
from examadmin.config import ROOT
from examadmin.core import jobs
from examadmin.core.auth import SYSTEM
from examadmin.core.jobs import Job, JobState
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests import conftest
from tests.conftest import dispose, make_user

pytestmark = pytest.mark.no_db_fixture


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 800), "red").save(buffer, "JPEG")
    return buffer.getvalue()


def test_another_write_commits_while_the_photos_are_processed(tmp_path, monkeypatch):
    database = tmp_path / "lock.db"
    app = create_app(conftest.test_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
                                 STORAGE_DIR=str(tmp_path / "storage")))
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            catalog.seed_reference_data(SYSTEM, ROOT / "sample_data")
            user = make_user("school")
            kept, hidden = (services.add_candidate(user, {"name": name, "id_number": id_number(), "kind": "社会考生"})
                            for name in ("甲", "乙"))
            storage = get_storage()
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zf:
                zf.writestr(f"{kept.id_number}.jpg", _jpeg())
                zf.writestr(f"{hidden.id_number}.jpg", _jpeg())
            key = storage.save(storage.new_key("uploads", ".zip"), buffer.getvalue())
            job = jobs.submit(user, "candidate_photos", {"school_id": user.school_id}, input_key=key,
                              input_name="photos.zip")
            db.session.commit()
            kept_id, hidden_id, job_id = kept.id, hidden.id, job.id

            # While the photos are processed, another user deletes (hides) the second
            # candidate, in a transaction of its own that must not wait.
            outcome = tmp_path / "outcome"
            real = photos._processed

            def other_user_deletes():
                other = sqlite3.connect(database, timeout=2, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("UPDATE candidate SET hidden = 1 WHERE id = ?", (hidden_id,))
                    other.execute("COMMIT")
                    outcome.write_text("committed")
                except sqlite3.OperationalError as exc:  # "database is locked"
                    outcome.write_text(str(exc))
                finally:
                    other.close()

            # The processing phase runs in this process (it hands the decoding to children,
            # which may come from a fork server and so never see a patch): the other user's
            # write happens as the first processed photo comes back.
            def processing(zf, accepted, max_pixels):
                for index, item in enumerate(real(zf, accepted, max_pixels)):
                    if index == 0:
                        other_user_deletes()
                    yield item

            monkeypatch.setattr(photos, "_processed", processing)
            photo_files_before = sum(1 for _ in (tmp_path / "storage").rglob("*.jpg"))
            jobs.dispatch(job_id)
            db.session.remove()

            assert outcome.read_text() == "committed"
            job = db.session.get(Job, job_id)
            assert job.state == JobState.DONE, job.error
            # The write phase saw the other user's change: the hidden candidate gets no photo.
            assert (job.result["attached"], job.result["skipped"]) == (1, 1)
            assert "已被删除" in job.result["errors"][0]["message"]
            photos_now = dict(db.session.execute(select(Candidate.id, Candidate.photo_key).where(
                Candidate.id.in_([kept_id, hidden_id]))).all())
            assert photos_now[kept_id] and photos_now[hidden_id] is None
            # and the photo processed for it was not left in storage
            assert sum(1 for _ in (tmp_path / "storage").rglob("*.jpg")) == photo_files_before + 1
            db.session.remove()
    finally:
        dispose(app)
