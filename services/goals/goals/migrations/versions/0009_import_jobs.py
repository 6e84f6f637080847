"""Goals: import jobs — a CSV/XLSX import of goals, indicators or templates run in goals' own event handler, polled
by the caller (state, phase, rows done of the total, the report once done).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cycle_id", sa.String(128), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("format", sa.String(4), nullable=False),
        sa.Column("sheet", sa.String(100), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("actor", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index(op.f("ix_import_jobs_requested_by"), "import_jobs", ["requested_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_import_jobs_requested_by"), table_name="import_jobs")
    op.drop_table("import_jobs")
