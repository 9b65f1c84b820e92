"""candidate portal accounts

Revision ID: 0010_portal_accounts
Revises: 0008_scheduling
Create Date: 2026-11-25 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_portal_accounts'
down_revision = '0009_room_number'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portal_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_issued_at', sa.DateTime(), nullable=True),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_portal_account_candidate_id_candidate')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_portal_account_school_id_school')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_portal_account_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_account')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_portal_account_candidate_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_portal_account_user_id'))
    )
    with op.batch_alter_table('portal_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_account_school_id'), ['school_id'], unique=False)


def downgrade():
    with op.batch_alter_table('portal_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_account_school_id'))
    op.drop_table('portal_account')
