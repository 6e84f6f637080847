"""Incentives: promotion nominations (per sequence, with the evidence pack and the decision), performance stars
(per quarter, with consent), the ledger's index by reference, and the facts rules paid points for (once each).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
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
        "inc_nominations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("sequence", sa.String(length=12), nullable=False),
        sa.Column("target_level", sa.String(length=8), nullable=False),
        sa.Column("nominated_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inc_nominations")),
    )
    op.create_index("ix_inc_nominations_person", "inc_nominations", ["person_id"], unique=False)
    op.create_index("ix_inc_nominations_sequence_status", "inc_nominations", ["sequence", "status"], unique=False)
    op.create_table(
        "inc_stars",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("goal_path", sa.Text(), nullable=False),
        sa.Column("learned", sa.Text(), nullable=False),
        sa.Column("nominated_by", sa.String(length=128), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inc_stars")),
        sa.UniqueConstraint("person_id", "quarter", name="uq_inc_stars_person_quarter"),
    )
    op.create_index("ix_inc_stars_quarter", "inc_stars", ["quarter", "status"], unique=False)
    op.create_index("ix_inc_ledger_ref", "inc_ledger", ["ref"], unique=False)
    op.create_table(
        "inc_paid_facts",
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("paid_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_inc_paid_facts")),
    )


def downgrade() -> None:
    op.drop_table("inc_paid_facts")
    op.drop_index("ix_inc_ledger_ref", table_name="inc_ledger")
    op.drop_index("ix_inc_stars_quarter", table_name="inc_stars")
    op.drop_table("inc_stars")
    op.drop_index("ix_inc_nominations_sequence_status", table_name="inc_nominations")
    op.drop_index("ix_inc_nominations_person", table_name="inc_nominations")
    op.drop_table("inc_nominations")
