"""case-insensitive team and game names, one pending invite per player and team

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:09:01.825963

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Expression index written by hand: autogenerate cannot compare it on SQLite.
    op.create_index("uq_teams_lower_name", "teams", [sa.text("lower(name)")], unique=True)
    op.create_index("uq_games_lower_name", "games", [sa.text("lower(name)")], unique=True)
    with op.batch_alter_table('team_invites', schema=None) as batch_op:
        batch_op.create_index('uq_team_invites_pending', ['team_id', 'user_id'], unique=True, sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))



def downgrade():
    op.drop_index("uq_teams_lower_name", table_name="teams")
    op.drop_index("uq_games_lower_name", table_name="games")
    with op.batch_alter_table('team_invites', schema=None) as batch_op:
        batch_op.drop_index('uq_team_invites_pending', sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))

