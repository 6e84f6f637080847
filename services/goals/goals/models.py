"""SQLAlchemy models owned by the goals service (and only by it).

Numbers are NUMERIC so that weights total exactly 100.00 and the colour sweep compares progress with the
schedule exactly (see domain/status.py). A goal keeps its own progress (from its key results or KPI) and
its rolled-up progress (the weighted mean of its children when it has any); the sweep colours the latter.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access import include_org_read_model
from chassis.db import NAMING_CONVENTION, BigId, UTCDateTime

PersonId = String(128)
Uuid = String(36)
Amount = Numeric(20, 6)
Fraction = Numeric(12, 9)
Weight = Numeric(5, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


include_org_read_model(Base.metadata)  # chassis.access: the org directory, kept from compliance's events


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(10))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), index=True)
    red_after_weeks: Mapped[int] = mapped_column(Integer)
    # who reads the goals of the cycle besides the line: everyone (company), the owner's unit, or nobody (private)
    visibility: Mapped[str] = mapped_column(String(10), server_default="company", default="company")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class Goal(Base):
    __tablename__ = "goals"
    __table_args__ = (
        # The board reads a cycle's goals by org unit: an index-only scan for the aggregates (its pages come
        # from the primary key in id order).
        Index("ix_goals_board", "cycle_id", "org_unit_id",
              postgresql_include=["colour", "weight", "progress", "confidence", "kind", "owner_id"]),
        Index("ix_goals_owner", "cycle_id", "owner_id"),
        Index("ix_goals_responsible", "responsible_id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("goals.id"), index=True)
    owner_kind: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[str] = mapped_column(PersonId)
    responsible_id: Mapped[str] = mapped_column(PersonId)
    org_unit_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(3))
    weight: Mapped[Decimal] = mapped_column(Weight)
    start_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    schedule: Mapped[str] = mapped_column(String(10))  # linear | milestones
    direction: Mapped[str | None] = mapped_column(String(2))
    target: Mapped[Decimal | None] = mapped_column(Amount)
    unit: Mapped[str] = mapped_column(String(32))
    green: Mapped[Decimal | None] = mapped_column(Amount)
    yellow: Mapped[Decimal | None] = mapped_column(Amount)
    actual: Mapped[Decimal | None] = mapped_column(Amount)
    cumulative: Mapped[bool] = mapped_column(default=False)  # a KPI that adds up over the period
    kpi_band: Mapped[str | None] = mapped_column(String(6))  # colour band of a level KPI's latest value
    own_progress: Mapped[Decimal] = mapped_column(Fraction)
    progress: Mapped[Decimal] = mapped_column(Fraction)
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    colour: Mapped[str] = mapped_column(String(6))
    colour_since: Mapped[date] = mapped_column(Date)
    resources_needed: Mapped[list[str]] = mapped_column(JSON)
    indicator_code: Mapped[str | None] = mapped_column(String(64))
    template_code: Mapped[str | None] = mapped_column(String(64))
    computed: Mapped[bool] = mapped_column(default=False)  # a formula indicator: its value is computed
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by retention
    scoring: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class KeyResult(Base):
    __tablename__ = "key_results"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    start_value: Mapped[Decimal] = mapped_column(Amount)
    target: Mapped[Decimal] = mapped_column(Amount)
    current: Mapped[Decimal] = mapped_column(Amount)
    unit: Mapped[str] = mapped_column(String(32))
    weight: Mapped[Decimal] = mapped_column(Numeric(9, 4))


class ScheduleSegment(Base):
    """A milestone schedule as its linear pieces: the expected fraction goes from `from_fraction` on
    `from_on` to `to_fraction` on `to_on` (the first piece starts at the goal's start, the last ends at its
    due date). The sweep joins the piece that contains the day it evaluates."""

    __tablename__ = "schedule_segments"

    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_on: Mapped[date] = mapped_column(Date)
    to_on: Mapped[date] = mapped_column(Date)
    from_fraction: Mapped[Decimal] = mapped_column(Fraction)
    to_fraction: Mapped[Decimal] = mapped_column(Fraction)


class ProgressUpdate(Base):
    __tablename__ = "progress_updates"
    __table_args__ = (Index("ix_progress_updates_goal", "goal_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"))
    key_result_id: Mapped[str | None] = mapped_column(Uuid)
    actor_id: Mapped[str] = mapped_column(PersonId)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    before_value: Mapped[Decimal | None] = mapped_column(Amount)
    after_value: Mapped[Decimal] = mapped_column(Amount)
    before_progress: Mapped[Decimal] = mapped_column(Fraction)
    after_progress: Mapped[Decimal] = mapped_column(Fraction)
    comment: Mapped[str] = mapped_column(Text)
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    private: Mapped[bool] = mapped_column(server_default=text("false"), default=False)  # comment for the line only


class GoalChange(Base):
    """The change trail of a goal: who changed which fields, when, before and after, and why."""

    __tablename__ = "goal_changes"
    __table_args__ = (Index("ix_goal_changes_goal", "goal_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(PersonId)
    source: Mapped[str] = mapped_column(String(20))  # update, weights, proposal, appeal
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


class StatusChange(Base):
    """The colour history of a goal, one row per change (written by the sweep and by progress updates)."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_goal", "goal_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"))
    on: Mapped[date] = mapped_column(Date)
    before: Mapped[str | None] = mapped_column(String(6))
    after: Mapped[str] = mapped_column(String(6))
    progress: Mapped[Decimal] = mapped_column(Fraction)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """A review (复盘) opened when a goal turns red, for its owner and their manager."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_goal_open", "goal_id", unique=True,
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
        # one review per red spell: a spell is named by the day the goal turned red (its colour_since)
        Index("ix_reviews_goal_spell", "goal_id", "red_since"),
        Index("ix_reviews_owner", "owner_id"),
        Index("ix_reviews_manager", "manager_id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"))
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"))
    owner_id: Mapped[str] = mapped_column(PersonId)
    manager_id: Mapped[str | None] = mapped_column(PersonId)
    opened_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(24))  # open, completed, resolved_by_recovery
    summary: Mapped[str] = mapped_column(Text)
    red_since: Mapped[date | None] = mapped_column(Date)  # the red spell it was opened for
    completed_by: Mapped[str | None] = mapped_column(PersonId)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SweepRun(Base):
    """One row per day the colour sweep ran: what makes the daily timer idempotent."""

    __tablename__ = "sweep_runs"

    on: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    evaluated: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)


class Negotiation(Base):
    """A negotiation thread between a goal owner and one of their managers, for one cycle."""

    __tablename__ = "negotiations"
    __table_args__ = (
        Index("ix_negotiations_parties", "cycle_id", "owner_id", "manager_id", unique=True),
        # the threads a person takes part in, on either side (list_proposals)
        Index("ix_negotiations_owner", "owner_id", "cycle_id"),
        Index("ix_negotiations_manager", "manager_id", "cycle_id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"))
    owner_id: Mapped[str] = mapped_column(PersonId)
    manager_id: Mapped[str] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_count: Mapped[int] = mapped_column(Integer)  # bumped with every entry: serialises writers


class NegotiationEntry(Base):
    """Append-only: entries are inserted, never updated (erasure only re-keys the person)."""

    __tablename__ = "negotiation_entries"

    negotiation_id: Mapped[str] = mapped_column(ForeignKey("negotiations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(10))
    proposal_id: Mapped[str] = mapped_column(Uuid, index=True)
    actor_id: Mapped[str] = mapped_column(PersonId)
    party: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    replaces: Mapped[str | None] = mapped_column(Uuid)


class ProposalGoal(Base):
    """Which goals a proposal touches: how a goal finds its negotiation threads."""

    __tablename__ = "proposal_goals"

    proposal_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), primary_key=True, index=True)
    negotiation_id: Mapped[str] = mapped_column(ForeignKey("negotiations.id"))


class Commitment(Base):
    __tablename__ = "commitments"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    from_org_unit_id: Mapped[str | None] = mapped_column(String(128))
    provider_id: Mapped[str] = mapped_column(PersonId)
    due_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class CommitmentChange(Base):
    __tablename__ = "commitment_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    commitment_id: Mapped[str] = mapped_column(ForeignKey("commitments.id"), index=True)
    before: Mapped[str | None] = mapped_column(String(10))
    after: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(PersonId)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)


class Allocation(Base):
    __tablename__ = "allocations"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    parent_goal_id: Mapped[str] = mapped_column(ForeignKey("goals.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(Amount)
    factor_weights: Mapped[dict[str, str]] = mapped_column(JSON)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Indicator(Base):
    """The indicator library. A formula indicator's formula lives in versions (formula_versions)."""

    __tablename__ = "indicators"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(2))
    unit: Mapped[str] = mapped_column(String(32))
    cumulative: Mapped[bool] = mapped_column(default=False)
    target: Mapped[Decimal | None] = mapped_column(Amount)
    green: Mapped[Decimal | None] = mapped_column(Amount)
    yellow: Mapped[Decimal | None] = mapped_column(Amount)
    scoring: Mapped[dict[str, Any]] = mapped_column(JSON)
    has_formula: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class FormulaVersion(Base):
    """Versions are never edited: a cycle that opened before a change keeps the version it started with."""

    __tablename__ = "formula_versions"

    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Template(Base):
    __tablename__ = "templates"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    job_family: Mapped[str] = mapped_column(String(200), index=True)
    custom_fields: Mapped[list[str]] = mapped_column(JSON)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    preset: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class CustomFieldValue(Base):
    __tablename__ = "custom_field_values"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Amount)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- read models: the board's aggregates, kept by database triggers (migration 0006) ----------------------------------
#
# Sums are stored as scaled integers so that they add up exactly on SQLite (which has no decimal type) as on
# PostgreSQL: weights x 10^2, progress x 10^9, weight x progress x 10^11, confidence x 10^3. A goal with no org
# unit is kept under org_unit_id ''. Cells whose goals all left keep a row of zeros (readers skip them).

class BoardSums:
    """The sums every board cell keeps (scaled integers, so that adding and subtracting in triggers is exact)."""

    goal_count: Mapped[int] = mapped_column(BigInteger)
    weights_e2: Mapped[int] = mapped_column(BigInteger)
    weighted_e11: Mapped[int] = mapped_column(BigInteger)
    progress_e9: Mapped[int] = mapped_column(BigInteger)
    confidence_e3: Mapped[int] = mapped_column(BigInteger)
    confident: Mapped[int] = mapped_column(BigInteger)


class BoardUnitCell(BoardSums, Base):
    """Per cycle, org unit (the goal's own, not its subtree), kind and colour: what the board of a unit and its
    descendants sums. A subtree is the sum of its units' rows, so a move in the directory changes nothing here."""

    __tablename__ = "rm_board_units"

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    org_unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    colour: Mapped[str] = mapped_column(String(6), primary_key=True)


class BoardOwnerCell(BoardSums, Base):
    """Per cycle, owner, org unit, kind and colour: the board of a person, of a manager's line (the sum of its
    people's rows) and of a unit without its descendants."""

    __tablename__ = "rm_board_owners"
    __table_args__ = (Index("ix_rm_board_owners_unit", "cycle_id", "org_unit_id"),
                      Index("ix_rm_board_owners_owner", "owner_id"))  # the directory trigger's people (0008)

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    org_unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    colour: Mapped[str] = mapped_column(String(6), primary_key=True)


class OpenReviewCount(Base):
    """Open reviews (复盘) per cycle and reviewing manager ('' when the goal had none)."""

    __tablename__ = "rm_open_reviews"

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    manager_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    open_reviews: Mapped[int] = mapped_column(BigInteger)


# -- read models per manager line and per cycle (migration 0007) ------------------------------------------------------

class LineMember(Base):
    """The reporting lines as a closure table: `person_id` is in the line of `manager_id` (directly or not), as the
    org read model's index walks them. Kept by a trigger on chassis_org_people."""

    __tablename__ = "rm_line_members"
    __table_args__ = (Index("ix_rm_line_members_person", "person_id"),)

    manager_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)


class BoardLineCell(BoardSums, Base):
    """Per cycle, manager, kind and colour: the sums of every goal owned in the manager's line."""

    __tablename__ = "rm_board_lines"

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    manager_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    colour: Mapped[str] = mapped_column(String(6), primary_key=True)


class BoardCycleCell(BoardSums, Base):
    """Per cycle, kind and colour: the sums of the whole cycle."""

    __tablename__ = "rm_board_cycles"

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    colour: Mapped[str] = mapped_column(String(6), primary_key=True)


class LineReviewCount(Base):
    """Open reviews (复盘) per cycle of the goals owned in a manager's line."""

    __tablename__ = "rm_line_reviews"

    cycle_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    manager_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    open_reviews: Mapped[int] = mapped_column(BigInteger)


# -- deltas waiting for their transaction's commit (migration 0008, PostgreSQL) ---------------------------------------
#
# Statement triggers record here what goals and reviews changed; at commit a deferred trigger adds them to the
# cells above (every transaction in one table and key order) and deletes them. Empty outside a running
# transaction; no keys (a transaction may record the same cell several times). UNLOGGED on PostgreSQL.

PendingGoalDeltas = Table(
    "rm_pending_goals", Base.metadata,
    Column("txid", BigInteger, nullable=False, index=True),
    Column("cycle_id", Uuid, nullable=False),
    Column("owner_id", PersonId, nullable=False),
    Column("org_unit_id", String(128), nullable=False),
    Column("kind", String(3), nullable=False),
    Column("colour", String(6), nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in ("goal_count", "weights_e2", "weighted_e11",
                                                            "progress_e9", "confidence_e3", "confident")),
)
PendingReviewDeltas = Table(
    "rm_pending_reviews", Base.metadata,
    Column("txid", BigInteger, nullable=False, index=True),
    Column("cycle_id", Uuid, nullable=False),
    Column("owner_id", PersonId, nullable=False),
    Column("manager_id", PersonId, nullable=False),
    Column("n", BigInteger, nullable=False),
)
PendingFlush = Table("rm_pending_flush", Base.metadata, Column("txid", BigInteger, primary_key=True))


# -- bulk import jobs (goals.usecases.import_jobs) --------------------------------------------------------------------

class ImportJob(Base):
    """A file import running in goals' own event handler: its file until it finishes, then its state and report.
    Its goals and its `done` state commit in one transaction: a job is never marked done without them."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    cycle_id: Mapped[str | None] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(4))
    sheet: Mapped[str | None] = mapped_column(String(100))
    dry_run: Mapped[bool]
    content: Mapped[bytes]  # emptied once the job finishes (the data does not stay twice)
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)  # who asked: the rows are checked with their rights
    requested_by: Mapped[str] = mapped_column(PersonId, index=True)
    state: Mapped[str] = mapped_column(String(8))
    phase: Mapped[str] = mapped_column(String(8))
    rows_total: Mapped[int | None]
    rows_done: Mapped[int]
    attempts: Mapped[int]
    detail: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
