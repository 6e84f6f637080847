"""The chassis tables: outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from chassis.migrations import create_chassis_tables_v1, drop_chassis_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from alembic import op

    create_chassis_tables_v1(op)


def downgrade() -> None:
    from alembic import op

    drop_chassis_tables_v1(op)
