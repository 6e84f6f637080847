"""The replies of an Idempotency-Key's calls whose request ended without a known outcome (a 504): a retry answers
the first attempt's reply instead of 409.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_replies",
        sa.Column("call_key", sa.String(64), nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("call_key", name="pk_idempotency_replies"),
    )
    op.create_index("ix_idempotency_replies_expires_at", "idempotency_replies", ["expires_at"])


def downgrade() -> None:
    op.drop_table("idempotency_replies")
