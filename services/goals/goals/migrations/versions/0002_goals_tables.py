"""Goals: cycles, the goal tree (goals, key results, milestone schedules), progress history, colour history
and reviews, negotiation threads, commitments, allocations, the indicator library with formula versions,
templates, custom field values, sweep runs; and chassis.access's org read model.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from chassis.access import create_org_read_model_v1, drop_org_read_model_v1
from chassis.db import BigId, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_org_read_model_v1(op)
    op.create_table('cycles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('red_after_weeks', sa.Integer(), nullable=False),
    sa.Column('opened_at', UTCDateTime, nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycles'))
    )
    op.create_index('ix_cycles_state', 'cycles', ['state'], unique=False)
    op.create_table('indicators',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('direction', sa.String(length=2), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('cumulative', sa.Boolean(), nullable=False),
    sa.Column('target', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('green', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('yellow', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('scoring', sa.JSON(), nullable=False),
    sa.Column('has_formula', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('preset', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_indicators'))
    )
    op.create_table('sweep_runs',
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('started_at', UTCDateTime, nullable=False),
    sa.Column('finished_at', UTCDateTime, nullable=False),
    sa.Column('evaluated', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('on', name=op.f('pk_sweep_runs'))
    )
    op.create_table('templates',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('job_family', sa.String(length=200), nullable=False),
    sa.Column('custom_fields', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('preset', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_templates'))
    )
    op.create_index('ix_templates_job_family', 'templates', ['job_family'], unique=False)
    op.create_table('custom_field_values',
    sa.Column('cycle_id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_custom_field_values_cycle_id_cycles')),
    sa.PrimaryKeyConstraint('cycle_id', 'person_id', 'field', name=op.f('pk_custom_field_values'))
    )
    op.create_table('formula_versions',
    sa.Column('indicator_code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['indicator_code'], ['indicators.code'], name=op.f('fk_formula_versions_indicator_code_indicators')),
    sa.PrimaryKeyConstraint('indicator_code', 'version', name=op.f('pk_formula_versions'))
    )
    op.create_table('goals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('cycle_id', sa.String(length=36), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('owner_kind', sa.String(length=10), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('responsible_id', sa.String(length=128), nullable=False),
    sa.Column('org_unit_id', sa.String(length=128), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('schedule', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=2), nullable=True),
    sa.Column('target', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('green', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('yellow', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('actual', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('cumulative', sa.Boolean(), nullable=False),
    sa.Column('kpi_band', sa.String(length=6), nullable=True),
    sa.Column('own_progress', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('progress', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('confidence', sa.Numeric(precision=4, scale=3), nullable=True),
    sa.Column('colour', sa.String(length=6), nullable=False),
    sa.Column('colour_since', sa.Date(), nullable=False),
    sa.Column('resources_needed', sa.JSON(), nullable=False),
    sa.Column('indicator_code', sa.String(length=64), nullable=True),
    sa.Column('template_code', sa.String(length=64), nullable=True),
    sa.Column('computed', sa.Boolean(), nullable=False),
    sa.Column('scoring', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_goals_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['parent_id'], ['goals.id'], name=op.f('fk_goals_parent_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals'))
    )
    op.create_index('ix_goals_board', 'goals', ['cycle_id', 'org_unit_id'], unique=False, postgresql_include=['colour', 'weight', 'progress', 'confidence', 'kind', 'owner_id'])
    op.create_index('ix_goals_owner', 'goals', ['cycle_id', 'owner_id'], unique=False)
    op.create_index('ix_goals_parent_id', 'goals', ['parent_id'], unique=False)
    op.create_index('ix_goals_responsible', 'goals', ['responsible_id'], unique=False)
    op.create_table('negotiations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('cycle_id', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('manager_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_negotiations_cycle_id_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_negotiations'))
    )
    op.create_index('ix_negotiations_parties', 'negotiations', ['cycle_id', 'owner_id', 'manager_id'], unique=True)
    op.create_table('allocations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('parent_goal_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('factor_weights', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['parent_goal_id'], ['goals.id'], name=op.f('fk_allocations_parent_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations'))
    )
    op.create_index('ix_allocations_parent_goal_id', 'allocations', ['parent_goal_id'], unique=False)
    op.create_table('commitments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('from_org_unit_id', sa.String(length=128), nullable=True),
    sa.Column('provider_id', sa.String(length=128), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_commitments_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments'))
    )
    op.create_index('ix_commitments_goal_id', 'commitments', ['goal_id'], unique=False)
    op.create_table('key_results',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('start_value', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('target', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('current', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('weight', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_key_results_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_results'))
    )
    op.create_index('ix_key_results_goal_id', 'key_results', ['goal_id'], unique=False)
    op.create_table('negotiation_entries',
    sa.Column('negotiation_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('proposal_id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.String(length=128), nullable=False),
    sa.Column('party', sa.String(length=10), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('replaces', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['negotiation_id'], ['negotiations.id'], name=op.f('fk_negotiation_entries_negotiation_id_negotiations')),
    sa.PrimaryKeyConstraint('negotiation_id', 'seq', name=op.f('pk_negotiation_entries'))
    )
    op.create_index('ix_negotiation_entries_proposal_id', 'negotiation_entries', ['proposal_id'], unique=False)
    op.create_table('progress_updates',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('key_result_id', sa.String(length=36), nullable=True),
    sa.Column('actor_id', sa.String(length=128), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.Column('before_value', sa.Numeric(precision=20, scale=6), nullable=True),
    sa.Column('after_value', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('before_progress', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('after_progress', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Numeric(precision=4, scale=3), nullable=True),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_progress_updates_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_updates'))
    )
    op.create_index('ix_progress_updates_goal', 'progress_updates', ['goal_id', 'id'], unique=False)
    op.create_table('proposal_goals',
    sa.Column('proposal_id', sa.String(length=36), nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('negotiation_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_proposal_goals_goal_id_goals')),
    sa.ForeignKeyConstraint(['negotiation_id'], ['negotiations.id'], name=op.f('fk_proposal_goals_negotiation_id_negotiations')),
    sa.PrimaryKeyConstraint('proposal_id', 'goal_id', name=op.f('pk_proposal_goals'))
    )
    op.create_index('ix_proposal_goals_goal_id', 'proposal_goals', ['goal_id'], unique=False)
    op.create_table('reviews',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('cycle_id', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('manager_id', sa.String(length=128), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('completed_by', sa.String(length=128), nullable=True),
    sa.Column('completed_at', UTCDateTime, nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_reviews_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_reviews_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    op.create_index('ix_reviews_goal_open', 'reviews', ['goal_id'], unique=True, postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))
    op.create_index('ix_reviews_manager', 'reviews', ['manager_id'], unique=False)
    op.create_index('ix_reviews_owner', 'reviews', ['owner_id'], unique=False)
    op.create_table('schedule_segments',
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_on', sa.Date(), nullable=False),
    sa.Column('to_on', sa.Date(), nullable=False),
    sa.Column('from_fraction', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('to_fraction', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_schedule_segments_goal_id_goals')),
    sa.PrimaryKeyConstraint('goal_id', 'seq', name=op.f('pk_schedule_segments'))
    )
    op.create_table('status_changes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('goal_id', sa.String(length=36), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('before', sa.String(length=6), nullable=True),
    sa.Column('after', sa.String(length=6), nullable=False),
    sa.Column('progress', sa.Numeric(precision=12, scale=9), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_status_changes_goal_id_goals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_changes'))
    )
    op.create_index('ix_status_changes_goal', 'status_changes', ['goal_id', 'id'], unique=False)
    op.create_table('commitment_changes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('commitment_id', sa.String(length=36), nullable=False),
    sa.Column('before', sa.String(length=10), nullable=True),
    sa.Column('after', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.String(length=128), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_changes_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_changes'))
    )
    op.create_index('ix_commitment_changes_commitment_id', 'commitment_changes', ['commitment_id'], unique=False)


def downgrade() -> None:
    op.drop_table('commitment_changes')
    op.drop_table('status_changes')
    op.drop_table('schedule_segments')
    op.drop_table('reviews')
    op.drop_table('proposal_goals')
    op.drop_table('progress_updates')
    op.drop_table('negotiation_entries')
    op.drop_table('key_results')
    op.drop_table('commitments')
    op.drop_table('allocations')
    op.drop_table('negotiations')
    op.drop_table('goals')
    op.drop_table('formula_versions')
    op.drop_table('custom_field_values')
    op.drop_table('templates')
    op.drop_table('sweep_runs')
    op.drop_table('indicators')
    op.drop_table('cycles')
    drop_org_read_model_v1(op)
