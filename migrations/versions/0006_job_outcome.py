"""jobs: outcome, error detail for the sysadmin, the process running them

Revision ID: 0006_job_outcome
Revises: 0004_candidates
Create Date: 2026-11-25 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_job_outcome'
down_revision = '0005_mask_personal_data'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('outcome_level', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('worker_host', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('worker_pid', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('worker_pid')
        batch_op.drop_column('worker_host')
        batch_op.drop_column('outcome_level')
        batch_op.drop_column('outcome')
        batch_op.drop_column('error_detail')
