"""SQLAlchemy models owned by the compliance service (and only by it).

JSON values are stored as canonical JSON text (portable across SQLite and PostgreSQL, and for the audit log the
exact bytes its hashes cover). The org read model (`chassis_org_*`) is compliance's own too: it is kept in the
same transaction as the directory, so compliance decides access exactly as every other service does.
"""
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access import include_org_read_model
from chassis.db import NAMING_CONVENTION, BigId, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


include_org_read_model(Base.metadata)


class OrgUnitRow(Base):
    __tablename__ = "compliance_org_units"
    org_unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonRow(Base):
    __tablename__ = "compliance_people"
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    org_unit_id: Mapped[str | None] = mapped_column(String(128), index=True)
    manager_id: Mapped[str | None] = mapped_column(String(128), index=True)
    job_family: Mapped[str | None] = mapped_column(String(64))
    grade: Mapped[str | None] = mapped_column(String(32))
    sequence: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    hired_on: Mapped[date | None] = mapped_column(Date)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="when the employment ended (retention)")


class GrantsRow(Base):
    __tablename__ = "compliance_grants"
    subject_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    grants: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportJobRow(Base):
    __tablename__ = "compliance_import_jobs"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    sheet: Mapped[str | None] = mapped_column(String(100))
    within_unit: Mapped[str | None] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(128))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[str] = mapped_column(Text, default="{}")
    errors: Mapped[str] = mapped_column(Text, default="[]")
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[str] = mapped_column(Text, default="[]")
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditStagedRow(Base):
    """Events received and not yet sealed into the chain (the handler writes here; one sealer seals)."""

    __tablename__ = "compliance_audit_staged"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    envelope: Mapped[str] = mapped_column(Text)
    staged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="when it arrived (the backlog's age)")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", doc="failed sealing attempts")
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditDeadLetterRow(Base):
    """A staged event that could not be sealed after its attempts: kept with the reason, out of the way of the rest
    (a marker entry in the chain records that it was set aside)."""

    __tablename__ = "compliance_audit_dead_letters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str | None] = mapped_column(String(200))
    envelope: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntryRow(Base):
    __tablename__ = "compliance_audit_entries"
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(128), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[str] = mapped_column(Text, doc="canonical JSON")
    before: Mapped[str | None] = mapped_column(Text, doc="canonical JSON")
    after: Mapped[str | None] = mapped_column(Text, doc="canonical JSON")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The one row the single writer locks: the last sealed position, and where the retained log starts."""

    __tablename__ = "compliance_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    anchor_sequence: Mapped[int] = mapped_column(BigInteger, doc="entries up to here were purged (retention)")
    anchor_hash: Mapped[str] = mapped_column(String(64))
    # the anchor is signed (and witnessed) when retention moves it: an anchor moved by hand does not verify
    anchor_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anchor_key_id: Mapped[str | None] = mapped_column(String(64))
    anchor_signature: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpointRow(Base):
    __tablename__ = "compliance_audit_checkpoints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sequence: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="written to the witness and published")


class DsrRow(Base):
    __tablename__ = "compliance_dsr_requests"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    parts: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LegalHoldRow(Base):
    __tablename__ = "compliance_legal_holds"
    hold_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    record_type: Mapped[str | None] = mapped_column(String(64))
    record_ids: Mapped[str] = mapped_column(Text, default="[]")
    placed_by: Mapped[str] = mapped_column(String(128))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppealRow(Base):
    __tablename__ = "compliance_appeals"
    appeal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    appellant: Mapped[str] = mapped_column(String(128), index=True)
    org_unit_id: Mapped[str | None] = mapped_column(String(128))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_ref: Mapped[str] = mapped_column(String(128))
    reasons: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")
    state: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewer: Mapped[str | None] = mapped_column(String(128))
    review_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="when HR was told it is overdue")
    rated_by: Mapped[str | None] = mapped_column(String(128), doc="who rated or scored the target (never reviews)")
    target_snapshot: Mapped[str | None] = mapped_column(Text, doc="the target as the owning service confirmed it")


class ClientRow(Base):
    __tablename__ = "compliance_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(Text)
    event_patterns: Mapped[str] = mapped_column(Text)
    dpa_ref: Mapped[str] = mapped_column(String(200))
    dpa_expires: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the last day whose lapse was announced (client.dpa_lapsed); a renewal moves dpa_expires, re-arming it
    dpa_lapse_announced_for: Mapped[date | None] = mapped_column(Date)


class ApiKeyRow(Base):
    __tablename__ = "compliance_api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(8))
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    scheme: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SettingsRow(Base):
    __tablename__ = "compliance_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    settings: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sweep_date: Mapped[str | None] = mapped_column(String(10), doc="the retention sweep's last UTC date")


Index("ix_compliance_audit_entries_subject_sequence", AuditEntryRow.subject, AuditEntryRow.sequence)
