"""Goals: one review per red spell (reviews.red_since), reviews closed when the goal recovers
(state resolved_by_recovery).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("red_since", sa.Date(), nullable=True))
        batch.alter_column("state", type_=sa.String(length=24), existing_type=sa.String(length=10),
                           existing_nullable=False)
    # the reviews opened so far were opened the day their goal turned red
    op.execute("UPDATE reviews SET red_since = opened_on")
    op.create_index("ix_reviews_goal_spell", "reviews", ["goal_id", "red_since"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reviews_goal_spell", table_name="reviews")
    op.execute("UPDATE reviews SET state = 'completed' WHERE state = 'resolved_by_recovery'")
    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("state", type_=sa.String(length=10), existing_type=sa.String(length=24),
                           existing_nullable=False)
        batch.drop_column("red_since")
