"""Appeals remember when HR was told they are overdue (the deadline sweep notifies once).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_notified_at', UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.drop_column('overdue_notified_at')
