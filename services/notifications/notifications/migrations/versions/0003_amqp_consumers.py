"""AMQP consumers of registered clients: their broker user, queue and bindings.

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
        "amqp_consumers",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("vhost", sa.String(200), nullable=False),
        sa.Column("bindings", sa.JSON(), nullable=False),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("broker_pending", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("stopped_reason", sa.String(300), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("credentials_issued_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_amqp_consumers")),
    )


def downgrade() -> None:
    op.drop_table("amqp_consumers")
