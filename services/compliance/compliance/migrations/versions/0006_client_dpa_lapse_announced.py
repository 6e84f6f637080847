"""Clients remember which agreement's lapse was announced (client.dpa_lapsed is published once per lapse; a
renewal, a new last day, re-arms it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('compliance_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpa_lapse_announced_for', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compliance_clients', schema=None) as batch_op:
        batch_op.drop_column('dpa_lapse_announced_for')
