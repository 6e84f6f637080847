"""The compliance service's tables: directory, org read model, import jobs, audit log, data-subject requests,
legal holds, appeals, third-party clients, settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from chassis.access import create_org_read_model_v1, drop_org_read_model_v1
from chassis.db import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_org_read_model_v1(op)
    op.create_table('compliance_api_keys',
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=8), nullable=False),
    sa.Column('salt', sa.LargeBinary(), nullable=False),
    sa.Column('secret_hash', sa.LargeBinary(), nullable=False),
    sa.Column('scheme', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('revoked_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_compliance_api_keys'))
    )
    with op.batch_alter_table('compliance_api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_api_keys_client_id'), ['client_id'], unique=False)

    op.create_table('compliance_appeals',
    sa.Column('appeal_id', sa.String(length=64), nullable=False),
    sa.Column('appellant', sa.String(length=128), nullable=False),
    sa.Column('org_unit_id', sa.String(length=128), nullable=True),
    sa.Column('target_kind', sa.String(length=32), nullable=False),
    sa.Column('target_ref', sa.String(length=128), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('attachments', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', UTCDateTime, nullable=False),
    sa.Column('due_at', UTCDateTime, nullable=False),
    sa.Column('reviewer', sa.String(length=128), nullable=True),
    sa.Column('review_started_at', UTCDateTime, nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('closed_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('appeal_id', name=op.f('pk_compliance_appeals'))
    )
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_appeals_appellant'), ['appellant'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_appeals_state'), ['state'], unique=False)

    op.create_table('compliance_audit_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('time', UTCDateTime, nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_audit_checkpoints'))
    )
    with op.batch_alter_table('compliance_audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_audit_checkpoints_sequence'), ['sequence'], unique=False)

    op.create_table('compliance_audit_entries',
    sa.Column('sequence', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('time', UTCDateTime, nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_compliance_audit_entries')),
    sa.UniqueConstraint('event_id', name=op.f('uq_compliance_audit_entries_event_id'))
    )
    with op.batch_alter_table('compliance_audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_audit_entries_actor'), ['actor'], unique=False)
        batch_op.create_index('ix_compliance_audit_entries_subject_sequence', ['subject', 'sequence'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_audit_entries_time'), ['time'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_audit_entries_type'), ['type'], unique=False)

    op.create_table('compliance_audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('anchor_sequence', sa.BigInteger(), nullable=False),
    sa.Column('anchor_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_audit_head'))
    )
    op.create_table('compliance_audit_staged',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_audit_staged'))
    )
    op.create_table('compliance_clients',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('event_patterns', sa.Text(), nullable=False),
    sa.Column('dpa_ref', sa.String(length=200), nullable=False),
    sa.Column('dpa_expires', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('revoked_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_compliance_clients'))
    )
    op.create_table('compliance_dsr_requests',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('requested_at', UTCDateTime, nullable=False),
    sa.Column('due_at', UTCDateTime, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('parts', sa.Text(), nullable=False),
    sa.Column('document', sa.Text(), nullable=True),
    sa.Column('closed_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_compliance_dsr_requests'))
    )
    with op.batch_alter_table('compliance_dsr_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_dsr_requests_subject'), ['subject'], unique=False)

    op.create_table('compliance_grants',
    sa.Column('subject_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('grants', sa.Text(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_compliance_grants'))
    )
    op.create_table('compliance_import_jobs',
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('within_unit', sa.String(length=128), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_compliance_import_jobs'))
    )
    op.create_table('compliance_legal_holds',
    sa.Column('hold_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('record_type', sa.String(length=64), nullable=True),
    sa.Column('record_ids', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.String(length=128), nullable=False),
    sa.Column('placed_at', UTCDateTime, nullable=False),
    sa.Column('released_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('hold_id', name=op.f('pk_compliance_legal_holds'))
    )
    with op.batch_alter_table('compliance_legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_legal_holds_subject'), ['subject'], unique=False)

    op.create_table('compliance_org_units',
    sa.Column('org_unit_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('org_unit_id', name=op.f('pk_compliance_org_units'))
    )
    with op.batch_alter_table('compliance_org_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_org_units_parent_id'), ['parent_id'], unique=False)

    op.create_table('compliance_people',
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('org_unit_id', sa.String(length=128), nullable=True),
    sa.Column('manager_id', sa.String(length=128), nullable=True),
    sa.Column('job_family', sa.String(length=64), nullable=True),
    sa.Column('grade', sa.String(length=32), nullable=True),
    sa.Column('sequence', sa.String(length=20), nullable=True),
    sa.Column('location', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('hired_on', sa.Date(), nullable=True),
    sa.Column('erased', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('ended_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_compliance_people')),
    sa.UniqueConstraint('email', name=op.f('uq_compliance_people_email'))
    )
    with op.batch_alter_table('compliance_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_people_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_people_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('compliance_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('settings', sa.Text(), nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('last_sweep_date', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_settings'))
    )
    head = sa.table("compliance_audit_head", sa.column("id"), sa.column("sequence"), sa.column("hash"),
                    sa.column("anchor_sequence"), sa.column("anchor_hash"))
    op.bulk_insert(head, [{"id": 1, "sequence": 0, "hash": "0" * 64, "anchor_sequence": 0, "anchor_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table('compliance_settings')
    with op.batch_alter_table('compliance_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_people_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_compliance_people_manager_id'))

    op.drop_table('compliance_people')
    with op.batch_alter_table('compliance_org_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_org_units_parent_id'))

    op.drop_table('compliance_org_units')
    with op.batch_alter_table('compliance_legal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_legal_holds_subject'))

    op.drop_table('compliance_legal_holds')
    op.drop_table('compliance_import_jobs')
    op.drop_table('compliance_grants')
    with op.batch_alter_table('compliance_dsr_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_dsr_requests_subject'))

    op.drop_table('compliance_dsr_requests')
    op.drop_table('compliance_clients')
    op.drop_table('compliance_audit_staged')
    op.drop_table('compliance_audit_head')
    with op.batch_alter_table('compliance_audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_audit_entries_type'))
        batch_op.drop_index(batch_op.f('ix_compliance_audit_entries_time'))
        batch_op.drop_index('ix_compliance_audit_entries_subject_sequence')
        batch_op.drop_index(batch_op.f('ix_compliance_audit_entries_actor'))

    op.drop_table('compliance_audit_entries')
    with op.batch_alter_table('compliance_audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_audit_checkpoints_sequence'))

    op.drop_table('compliance_audit_checkpoints')
    with op.batch_alter_table('compliance_appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_appeals_state'))
        batch_op.drop_index(batch_op.f('ix_compliance_appeals_appellant'))

    op.drop_table('compliance_appeals')
    with op.batch_alter_table('compliance_api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_api_keys_client_id'))

    op.drop_table('compliance_api_keys')
    drop_org_read_model_v1(op)
