"""The audit log's witness and isolation: staged events count their sealing attempts (one that cannot be sealed
goes to the dead letters with the reason, so the rest flow), checkpoints remember when they were witnessed
(written to the operator's witness file and published), and the retention anchor is signed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from chassis.db import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('compliance_audit_staged', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staged_at', UTCDateTime, nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
    op.create_table(
        'compliance_audit_dead_letters',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=True),
        sa.Column('envelope', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('failed_at', UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_audit_dead_letters')),
    )
    with op.batch_alter_table('compliance_audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('witnessed_at', UTCDateTime, nullable=True))
    with op.batch_alter_table('compliance_audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchor_time', UTCDateTime, nullable=True))
        batch_op.add_column(sa.Column('anchor_key_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('anchor_signature', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compliance_audit_head', schema=None) as batch_op:
        batch_op.drop_column('anchor_signature')
        batch_op.drop_column('anchor_key_id')
        batch_op.drop_column('anchor_time')
    with op.batch_alter_table('compliance_audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('witnessed_at')
    op.drop_table('compliance_audit_dead_letters')
    with op.batch_alter_table('compliance_audit_staged', schema=None) as batch_op:
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('staged_at')
