"""exam rooms: 考场号 (room number within plan and site), given at first scheduling

Revision ID: 0009_room_number
Revises: 0008_scheduling
Create Date: 2026-11-25 14:23:23.536291

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_room_number'
down_revision = '0008_scheduling'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_exam_room_plan_id_site_id_number'), ['plan_id', 'site_id', 'number'])



def downgrade():
    with op.batch_alter_table('exam_room', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_exam_room_plan_id_site_id_number'), type_='unique')
        batch_op.drop_column('number')

