"""Webhook event bodies stored once per event (`webhook_events`), not once per subscription: a delivery refers to
its event's body. Existing bodies move over.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_events")),
    )
    # one body per event (every subscription's copy of an event is the same envelope)
    op.execute("INSERT INTO webhook_events (event_id, event_type, body, created_at) "
               "SELECT d.event_id, MIN(d.event_type), MIN(d.body), MIN(d.created_at) FROM webhook_deliveries d "
               "GROUP BY d.event_id")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("body")


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
    op.execute("UPDATE webhook_deliveries SET body = (SELECT e.body FROM webhook_events e "
               "WHERE e.event_id = webhook_deliveries.event_id)")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=False)
    op.drop_table("webhook_events")
