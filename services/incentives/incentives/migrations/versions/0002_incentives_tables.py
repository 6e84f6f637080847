"""Incentives: ratings and indicator observations (from feedback and goals), pools, process rules and rewards,
bonus proposals, the points ledger and balances, the reward menu and redemptions, IDPs, potentials and 9-box
placements, rotation flags; and chassis.access's org read model.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from chassis.access import create_org_read_model_v1, drop_org_read_model_v1
from chassis.db import BigId, UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_org_read_model_v1(op)
    op.create_table('inc_balances',
    sa.Column('account', sa.String(length=160), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("balance >= 0 OR substr(account, 1, 7) = 'source:'", name=op.f('ck_inc_balances_not_overdrawn')),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_inc_balances'))
    )
    op.create_table('inc_idp_actions',
    sa.Column('plan_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('plan_id', 'code', name=op.f('pk_inc_idp_actions'))
    )
    op.create_table('inc_idps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('review_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('track', sa.String(length=12), nullable=False),
    sa.Column('rating_label', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checkin_every_days', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inc_idps')),
    sa.UniqueConstraint('person_id', 'review_cycle_id', name=op.f('uq_inc_idps_person_id'))
    )
    op.create_table('inc_ledger',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('transaction_id', sa.String(length=36), nullable=False),
    sa.Column('account', sa.String(length=160), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inc_ledger'))
    )
    with op.batch_alter_table('inc_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_inc_ledger_account', ['account', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inc_ledger_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('inc_observations',
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'period', 'name', name=op.f('pk_inc_observations'))
    )
    with op.batch_alter_table('inc_observations', schema=None) as batch_op:
        batch_op.create_index('ix_inc_observations_period', ['period', 'person_id'], unique=False)

    op.create_table('inc_placements',
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('review_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('box', sa.String(length=24), nullable=False),
    sa.Column('performance', sa.String(length=6), nullable=False),
    sa.Column('potential', sa.String(length=6), nullable=False),
    sa.Column('placed_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'review_cycle_id', name=op.f('pk_inc_placements'))
    )
    with op.batch_alter_table('inc_placements', schema=None) as batch_op:
        batch_op.create_index('ix_inc_placements_cycle', ['review_cycle_id'], unique=False)

    op.create_table('inc_pools',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_unit_id', sa.String(length=128), nullable=False),
    sa.Column('review_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('budget', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('multipliers', sa.JSON(), nullable=False),
    sa.Column('base_amounts', sa.JSON(), nullable=False),
    sa.Column('default_base', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('formula', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_inc_pools'))
    )
    with op.batch_alter_table('inc_pools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inc_pools_review_cycle_id'), ['review_cycle_id'], unique=False)

    op.create_table('inc_potentials',
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('review_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('assessed', sa.String(length=6), nullable=True),
    sa.Column('rubric', sa.JSON(), nullable=False),
    sa.Column('assessed_by', sa.String(length=128), nullable=True),
    sa.Column('calibrated', sa.String(length=6), nullable=True),
    sa.Column('calibrated_by', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'review_cycle_id', name=op.f('pk_inc_potentials'))
    )
    op.create_table('inc_process_rewards',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('rule_code', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('reward', sa.String(length=6), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('condition', sa.Text(), nullable=False),
    sa.Column('amount_rule', sa.Text(), nullable=False),
    sa.Column('rule_name', sa.String(length=200), nullable=False),
    sa.Column('settled_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inc_process_rewards')),
    sa.UniqueConstraint('rule_code', 'person_id', 'period', name=op.f('uq_inc_process_rewards_rule_code'))
    )
    with op.batch_alter_table('inc_process_rewards', schema=None) as batch_op:
        batch_op.create_index('ix_inc_process_rewards_person', ['person_id', 'period'], unique=False)

    op.create_table('inc_process_rules',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=5), nullable=False),
    sa.Column('condition', sa.Text(), nullable=False),
    sa.Column('amount', sa.Text(), nullable=False),
    sa.Column('reward', sa.String(length=6), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_inc_process_rules'))
    )
    op.create_table('inc_proposals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('pool_code', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.String(length=128), nullable=False),
    sa.Column('rating_version', sa.Integer(), nullable=False),
    sa.Column('rating_label', sa.String(length=8), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('total', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('budget_warning', sa.Text(), nullable=True),
    sa.Column('approval', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inc_proposals')),
    sa.UniqueConstraint('pool_code', 'person_id', 'rating_id', 'rating_version', name='uq_inc_proposals_rating'),
    sa.UniqueConstraint('pool_code', 'person_id', 'version', name='uq_inc_proposals_version')
    )
    with op.batch_alter_table('inc_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_inc_proposals_person', ['person_id'], unique=False)
        batch_op.create_index('ix_inc_proposals_pool_status', ['pool_code', 'status'], unique=False)

    op.create_table('inc_ratings',
    sa.Column('rating_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('review_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('goals_cycle_id', sa.String(length=128), nullable=False),
    sa.Column('label', sa.String(length=8), nullable=False),
    sa.Column('score', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('attainment', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('manager_score', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('manager_id', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('rating_id', 'version', name=op.f('pk_inc_ratings'))
    )
    with op.batch_alter_table('inc_ratings', schema=None) as batch_op:
        batch_op.create_index('ix_inc_ratings_cycle', ['review_cycle_id'], unique=False)
        batch_op.create_index('ix_inc_ratings_person', ['person_id', 'review_cycle_id'], unique=False)

    op.create_table('inc_redemptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('reward_code', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('approval', sa.JSON(), nullable=False),
    sa.Column('refunded', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inc_redemptions'))
    )
    with op.batch_alter_table('inc_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_inc_redemptions_person', ['person_id', 'created_at'], unique=False)

    op.create_table('inc_rewards',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('eligibility', sa.JSON(), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_inc_rewards_stock_not_negative')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_inc_rewards'))
    )
    op.create_table('inc_rotation_flags',
    sa.Column('manager_id', sa.String(length=128), nullable=False),
    sa.Column('cycles', sa.String(length=600), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('flagged_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('manager_id', 'cycles', name=op.f('pk_inc_rotation_flags'))
    )
    op.create_table('inc_tracked_goals',
    sa.Column('goal_id', sa.String(length=128), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('indicator_code', sa.String(length=64), nullable=False),
    sa.Column('cycle_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('goal_id', name=op.f('pk_inc_tracked_goals'))
    )
    with op.batch_alter_table('inc_tracked_goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inc_tracked_goals_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inc_tracked_goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inc_tracked_goals_person_id'))

    op.drop_table('inc_tracked_goals')
    op.drop_table('inc_rotation_flags')
    op.drop_table('inc_rewards')
    with op.batch_alter_table('inc_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_redemptions_person')

    op.drop_table('inc_redemptions')
    with op.batch_alter_table('inc_ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_ratings_person')
        batch_op.drop_index('ix_inc_ratings_cycle')

    op.drop_table('inc_ratings')
    with op.batch_alter_table('inc_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_proposals_pool_status')
        batch_op.drop_index('ix_inc_proposals_person')

    op.drop_table('inc_proposals')
    op.drop_table('inc_process_rules')
    with op.batch_alter_table('inc_process_rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_process_rewards_person')

    op.drop_table('inc_process_rewards')
    op.drop_table('inc_potentials')
    with op.batch_alter_table('inc_pools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inc_pools_review_cycle_id'))

    op.drop_table('inc_pools')
    with op.batch_alter_table('inc_placements', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_placements_cycle')

    op.drop_table('inc_placements')
    with op.batch_alter_table('inc_observations', schema=None) as batch_op:
        batch_op.drop_index('ix_inc_observations_period')

    op.drop_table('inc_observations')
    with op.batch_alter_table('inc_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inc_ledger_transaction_id'))
        batch_op.drop_index('ix_inc_ledger_account')

    op.drop_table('inc_ledger')
    op.drop_table('inc_idps')
    op.drop_table('inc_idp_actions')
    op.drop_table('inc_balances')
    drop_org_read_model_v1(op)
