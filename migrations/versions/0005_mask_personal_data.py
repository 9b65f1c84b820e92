"""mask ID and phone numbers already stored in audit records and job results (PIPL)

The app masks them when it writes these rows and again when it reads them; this rewrites the
rows written before that rule, so that backups and direct reads of the database hold no whole
number either. No schema change. The downgrade cannot bring the digits back and leaves the
rows as they are.

Revision ID: 0005_mask_personal_data
Revises: 0004_candidates
Create Date: 2026-11-25 14:40:00

"""
from alembic import op
import sqlalchemy as sa

from examadmin.core.personal import mask_text, mask_value

# revision identifiers, used by Alembic.
revision = '0005_mask_personal_data'
down_revision = '0004_candidates'
branch_labels = None
depends_on = None

#: rows read and rewritten per round trip
BATCH = 1000

AUDIT_LOG = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('entity_label', sa.String),
                     sa.column('before', sa.JSON), sa.column('after', sa.JSON))
JOB = sa.table('job', sa.column('id', sa.Integer), sa.column('result', sa.JSON))


def _masked(value, text=False):
    if value is None:
        return None
    return mask_text(value) if text else mask_value(value)


def mask_rows(connection) -> int:
    """Rewrite every audit record and job result that holds a whole number; the count changed."""
    changed = 0
    for table, columns in ((AUDIT_LOG, ('entity_label', 'before', 'after')), (JOB, ('result',))):
        last = 0
        while True:
            rows = connection.execute(
                sa.select(table.c.id, *(table.c[c] for c in columns))
                .where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            for row in rows:
                values = {c: _masked(row._mapping[c], text=c == 'entity_label') for c in columns}
                if any(values[c] != row._mapping[c] for c in columns):
                    connection.execute(table.update().where(table.c.id == row.id).values(**values))
                    changed += 1
            last = rows[-1].id
    return changed


def upgrade():
    mask_rows(op.get_bind())


def downgrade():
    pass  # the whole numbers are gone on purpose
