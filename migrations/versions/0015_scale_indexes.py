"""indexes for lists at national scale (bench/list_pages.py): counts per state, the
certificate records' order, scheduling's sites of a plan, a plan's passed count, a school's
candidates and registrations newest first

Revision ID: 0015_scale_indexes
Revises: 0014_renewals
Create Date: 2026-11-25 17:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_scale_indexes'
down_revision = '0014_renewals'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_candidate_state_hidden', 'candidate', ['state', 'hidden'], unique=False)
    op.create_index('ix_registration_site_plan_state', 'registration', ['site_id', 'plan_id', 'state'], unique=False)
    op.create_index('ix_result_plan_passed', 'result', ['plan_id', 'passed'], unique=False)
    op.create_index('ix_candidate_school_id_id', 'candidate', ['school_id', 'id'], unique=False)
    op.create_index('ix_registration_school_id_id', 'registration', ['school_id', 'id'], unique=False)
    op.create_index('ix_certificate_record_list', 'certificate_record',
                    [sa.text('plan_id DESC'), 'school_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_certificate_record_list', table_name='certificate_record')
    op.drop_index('ix_registration_school_id_id', table_name='registration')
    op.drop_index('ix_candidate_school_id_id', table_name='candidate')
    op.drop_index('ix_result_plan_passed', table_name='result')
    op.drop_index('ix_registration_site_plan_state', table_name='registration')
    op.drop_index('ix_candidate_state_hidden', table_name='candidate')
