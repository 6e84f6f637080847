"""Goals: a cycle's visibility (company, unit, private), private progress comments, the change trail of
goals (who changed what, when, before and after, and why), and when retention anonymized a goal.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import BigId, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("visibility", sa.String(length=10), nullable=False, server_default="company"))
    with op.batch_alter_table("progress_updates") as batch:
        batch.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("goals") as batch:
        batch.add_column(sa.Column("anonymized_at", UTCDateTime, nullable=True))
    op.create_table(
        "goal_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("goal_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], name=op.f("fk_goal_changes_goal_id_goals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_changes")),
    )
    op.create_index("ix_goal_changes_goal", "goal_changes", ["goal_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_goal_changes_goal", table_name="goal_changes")
    op.drop_table("goal_changes")
    with op.batch_alter_table("goals") as batch:
        batch.drop_column("anonymized_at")
    with op.batch_alter_table("progress_updates") as batch:
        batch.drop_column("private")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("visibility")
