"""Brackets count the writes to their match states (play_version), and each match row says
which write last changed it, so a process can keep a bracket's engine play between results
and catch up with other processes' writes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('brackets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('play_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('play_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_column('play_version')
    with op.batch_alter_table('brackets', schema=None) as batch_op:
        batch_op.drop_column('play_version')
