"""core.locks.lock_row: a row lock that works whatever the object was loaded with."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from examadmin.core.locks import lock_row
from examadmin.exams.models import ExamPlan
from examadmin.extensions import db
from tests.exams.factories import make_plan


def test_locks_a_row_loaded_with_an_outer_join_and_reads_it_again():
    plan_id = make_plan(publish=False).id
    db.session.commit()
    db.session.expunge_all()
    # the room form loads plans with their certificate (a LEFT OUTER JOIN); PostgreSQL
    # refused FOR UPDATE/SHARE on the query that loaded it ("nullable side of an outer join")
    loaded = db.session.scalars(
        select(ExamPlan).where(ExamPlan.id == plan_id).options(joinedload(ExamPlan.certificate))).unique().one()
    db.session.execute(update(ExamPlan).where(ExamPlan.id == plan_id).values(name="改过的名称")
                       .execution_options(synchronize_session=False))
    for shared in (True, False):
        assert lock_row(loaded, shared=shared) is loaded
        assert loaded.name == "改过的名称"  # what is in the row now, not what was loaded
    db.session.rollback()
