"""SQLAlchemy models owned by the incentives service (and only by it).

Money is NUMERIC(16, 2); points are whole numbers. The points ledger is append-only (`inc_ledger`), with one
balance row per account kept in the same transaction (`inc_balances`, a CHECK keeps non-source accounts at or
above zero, so concurrent spends cannot overdraw). Unique keys make the event-driven parts idempotent: a process
reward once per (rule, person, period), a bonus proposal once per (pool, person, rating version).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access import include_org_read_model
from chassis.db import NAMING_CONVENTION, BigId, UTCDateTime

PersonId = String(128)
Uuid = String(36)
Money = Numeric(16, 2)
Value = Numeric(20, 6)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


include_org_read_model(Base.metadata)  # chassis.access: the org directory, kept from compliance's events


# -- inputs from other services -------------------------------------------------------------------------------

class Rating(Base):
    """Every version of every finalized rating feedback published (finalized, then amended)."""

    __tablename__ = "inc_ratings"
    __table_args__ = (Index("ix_inc_ratings_person", "person_id", "review_cycle_id"),
                      Index("ix_inc_ratings_cycle", "review_cycle_id"))

    rating_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    review_cycle_id: Mapped[str] = mapped_column(String(128))
    goals_cycle_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(8))
    score: Mapped[Decimal] = mapped_column(Value)
    components: Mapped[Any] = mapped_column(JSON)
    # the goals and the manager's components, out of the JSON, for analytics over whole populations
    attainment: Mapped[Decimal | None] = mapped_column(Value)
    manager_score: Mapped[Decimal | None] = mapped_column(Value)
    manager_id: Mapped[str | None] = mapped_column(PersonId)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrackedGoal(Base):
    """Goals measured by an indicator (from goals' created/assigned events): their progress feeds the rules."""

    __tablename__ = "inc_tracked_goals"

    goal_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    indicator_code: Mapped[str] = mapped_column(String(64))
    cycle_id: Mapped[str] = mapped_column(String(128))


class Observation(Base):
    """One indicator value of one person for one week (YYYY-Www) or month (YYYY-MM); the latest event wins."""

    __tablename__ = "inc_observations"
    __table_args__ = (Index("ix_inc_observations_period", "period", "person_id"),)

    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Value)
    source: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- bonus -----------------------------------------------------------------------------------------------------

class Pool(Base):
    __tablename__ = "inc_pools"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[str] = mapped_column(String(128))
    review_cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    budget: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    multipliers: Mapped[Any] = mapped_column(JSON)
    base_amounts: Mapped[Any] = mapped_column(JSON)
    default_base: Mapped[Decimal | None] = mapped_column(Money)
    formula: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessRule(Base):
    __tablename__ = "inc_process_rules"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(5))
    condition: Mapped[str] = mapped_column(Text)
    amount: Mapped[str] = mapped_column(Text)
    reward: Mapped[str] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessReward(Base):
    """A reward a person earned by a rule in one period: never twice (the unique key)."""

    __tablename__ = "inc_process_rewards"
    __table_args__ = (UniqueConstraint("rule_code", "person_id", "period"),
                      Index("ix_inc_process_rewards_person", "person_id", "period"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_code: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(PersonId)
    period: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    reward: Mapped[str] = mapped_column(String(6))
    amount: Mapped[Decimal] = mapped_column(Money)
    inputs: Mapped[Any] = mapped_column(JSON)
    condition: Mapped[str] = mapped_column(Text)
    amount_rule: Mapped[str] = mapped_column(Text)
    rule_name: Mapped[str] = mapped_column(String(200))
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Proposal(Base):
    __tablename__ = "inc_proposals"
    __table_args__ = (UniqueConstraint("pool_code", "person_id", "version", name="uq_inc_proposals_version"),
                      UniqueConstraint("pool_code", "person_id", "rating_id", "rating_version",
                                       name="uq_inc_proposals_rating"),
                      Index("ix_inc_proposals_person", "person_id"),
                      Index("ix_inc_proposals_pool_status", "pool_code", "status"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    pool_code: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(PersonId)
    version: Mapped[int] = mapped_column(Integer)
    rating_id: Mapped[str] = mapped_column(String(128))
    rating_version: Mapped[int] = mapped_column(Integer)
    rating_label: Mapped[str] = mapped_column(String(8))
    lines: Mapped[Any] = mapped_column(JSON)
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12))
    budget_warning: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[Any] = mapped_column(JSON)
    requested_by: Mapped[str | None] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- points ----------------------------------------------------------------------------------------------------

class LedgerEntry(Base):
    """Append-only: rows are only ever inserted (erasure replaces a person's account name by the pseudonym)."""

    __tablename__ = "inc_ledger"
    __table_args__ = (Index("ix_inc_ledger_account", "account", "id"), Index("ix_inc_ledger_ref", "ref"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(Uuid, index=True)
    account: Mapped[str] = mapped_column(String(160))
    delta: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaidFact(Base):
    """A fact a rule paid points for (a praise, a rating): its unique key makes the payment happen once, even for
    two deliveries of the same fact under different event ids handled at the same time."""

    __tablename__ = "inc_paid_facts"

    ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Balance(Base):
    __tablename__ = "inc_balances"
    __table_args__ = (CheckConstraint("balance >= 0 OR substr(account, 1, 7) = 'source:'", name="not_overdrawn"),)

    account: Mapped[str] = mapped_column(String(160), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)


class Reward(Base):
    __tablename__ = "inc_rewards"
    __table_args__ = (CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    cost: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[Any] = mapped_column(JSON)
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Redemption(Base):
    __tablename__ = "inc_redemptions"
    __table_args__ = (Index("ix_inc_redemptions_person", "person_id", "created_at"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    reward_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    approval: Mapped[Any] = mapped_column(JSON)
    refunded: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- development and talent ------------------------------------------------------------------------------------

class Idp(Base):
    __tablename__ = "inc_idps"
    __table_args__ = (UniqueConstraint("person_id", "review_cycle_id"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    review_cycle_id: Mapped[str] = mapped_column(String(128))
    track: Mapped[str] = mapped_column(String(12))
    rating_label: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    checkin_every_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdpAction(Base):
    __tablename__ = "inc_idp_actions"

    plan_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(PersonId)
    due_on: Mapped[date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer)
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)


class Potential(Base):
    __tablename__ = "inc_potentials"

    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    review_cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assessed: Mapped[str | None] = mapped_column(String(6))
    rubric: Mapped[Any] = mapped_column(JSON)
    assessed_by: Mapped[str | None] = mapped_column(PersonId)
    calibrated: Mapped[str | None] = mapped_column(String(6))
    calibrated_by: Mapped[str | None] = mapped_column(PersonId)
    reason: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Placement(Base):
    __tablename__ = "inc_placements"
    __table_args__ = (Index("ix_inc_placements_cycle", "review_cycle_id"),)

    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    review_cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    box: Mapped[str] = mapped_column(String(24))
    performance: Mapped[str] = mapped_column(String(6))
    potential: Mapped[str] = mapped_column(String(6))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RotationFlag(Base):
    """A suspicion already raised (the event is published once per manager and set of cycles)."""

    __tablename__ = "inc_rotation_flags"

    manager_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    cycles: Mapped[str] = mapped_column(String(600), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- promotion tracks and performance stars --------------------------------------------------------------------

class Nomination(Base):
    __tablename__ = "inc_nominations"
    __table_args__ = (Index("ix_inc_nominations_person", "person_id"),
                      Index("ix_inc_nominations_sequence_status", "sequence", "status"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    sequence: Mapped[str] = mapped_column(String(12))
    target_level: Mapped[str] = mapped_column(String(8))
    nominated_by: Mapped[str] = mapped_column(PersonId)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    decided_by: Mapped[str | None] = mapped_column(PersonId)
    decision_reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Star(Base):
    __tablename__ = "inc_stars"
    __table_args__ = (UniqueConstraint("person_id", "quarter", name="uq_inc_stars_person_quarter"),
                      Index("ix_inc_stars_quarter", "quarter", "status"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    quarter: Mapped[str] = mapped_column(String(7))
    title: Mapped[str] = mapped_column(String(200))
    goal_path: Mapped[str] = mapped_column(Text)
    learned: Mapped[str] = mapped_column(Text)
    nominated_by: Mapped[str] = mapped_column(PersonId)
    consent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(10))
    approved_by: Mapped[str | None] = mapped_column(PersonId)
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
