"""Counts and ids the client sends to the candidate pages are bounded."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.candidates import verification
from examadmin.core.errors import DomainError
from examadmin.core.jobs import Job, JobState
from examadmin.extensions import db
from tests.candidates.test_verification import add
from tests.conftest import login_as, make_user


def test_a_batch_ignores_ids_beyond_64_bits(client):
    user = make_user("school")
    good = add(user, name="甲")
    login_as(client, user)
    response = client.post("/candidates/verify-batch", data={
        "scope": "selected", "ids": [str(2 ** 64), str(2 ** 63), str(good.id)]})
    assert response.status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == "candidate_verify").order_by(Job.id.desc()))
    assert job.state == JobState.DONE and job.result["passed"] == 1 and job.result["not_found"] == 0


def test_a_batch_chooses_at_most_a_thousand_candidates_by_id():
    user = make_user("school")
    with pytest.raises(DomainError, match="一次最多勾选 1000 名考生"):
        verification.start_verify_batch(user, [str(n) for n in range(1, 1002)])
    assert db.session.scalar(select(Job).where(Job.kind == "candidate_verify")) is None
