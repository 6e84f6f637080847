"""The deliveries in flight by lease end (a partial index): the dispatcher looks for expired leases every few
seconds, which was a scan of every delivery ever made.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_leased", ["lease_until"], unique=False,
                              postgresql_where="state = 'in_flight'")


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_leased", postgresql_where="state = 'in_flight'")
