"""Appeals remember what the owning service confirmed at submission: who rated (never their reviewer) and the
target as it stood (the "before" of an amendment).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rated_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('target_snapshot', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.drop_column('target_snapshot')
        batch_op.drop_column('rated_by')
