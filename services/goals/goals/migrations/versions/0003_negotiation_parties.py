"""Goals: the negotiation threads a person takes part in, found from either side (list_proposals).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_negotiations_owner", "negotiations", ["owner_id", "cycle_id"], unique=False)
    op.create_index("ix_negotiations_manager", "negotiations", ["manager_id", "cycle_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_negotiations_manager", table_name="negotiations")
    op.drop_index("ix_negotiations_owner", table_name="negotiations")
