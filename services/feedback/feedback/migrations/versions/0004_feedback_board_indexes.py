"""The team board's lookups on an index each: a manager's open check-ins (manager, state, due from) and the
one-to-ones held in a window (manager, held on); ix_checkins_manager (manager, month) had them scan every check-in
the manager ever had.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:20:00
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_open', ['manager_id', 'state', 'due_from'], unique=False)
        batch_op.create_index('ix_checkins_held', ['manager_id', 'held_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_held')
        batch_op.drop_index('ix_checkins_open')
