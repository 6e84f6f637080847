"""SQLAlchemy models owned by the feedback service (and only by it), SQLAlchemy 2 typed.

Anonymity by construction: a 360 answer row holds the request id, a keyed pseudonym of its reviewer and the
scores, nothing else (no reviewer id, no timestamp); the invitation row (who was asked, answered or not) is
never shown to the subject's side.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


include_org_read_model(Base.metadata)  # chassis.access: the org directory, kept from compliance's events


class CompanyCalendar(Base):
    __tablename__ = "company_calendar"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # one row: 1
    working_weekdays: Mapped[list[int]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    extra_working_days: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


class Checkin(Base):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("month", "person_id", "manager_id"),
                      Index("ix_checkins_manager", "manager_id", "month"),
                      Index("ix_checkins_due", "state", "due_by"),
                      # the team board's lookups: a manager's open check-ins, and the 1:1s held in a window
                      Index("ix_checkins_open", "manager_id", "state", "due_from"),
                      Index("ix_checkins_held", "manager_id", "held_on"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    manager_id: Mapped[str] = mapped_column(PersonId)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    due_from: Mapped[date] = mapped_column(Date)
    due_by: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))
    held_on: Mapped[date | None] = mapped_column(Date)
    signed_by_manager: Mapped[bool] = mapped_column(Boolean)
    signed_by_person: Mapped[bool] = mapped_column(Boolean)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    overdue_flagged_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class CheckinPoint(Base):
    __tablename__ = "checkin_points"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    checkin_id: Mapped[str] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(PersonId)
    section: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(8))
    goal_id: Mapped[str | None] = mapped_column(String(128))
    support_needed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportTemplate(Base):
    __tablename__ = "report_templates"

    team_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    extra_fields: Mapped[list[str]] = mapped_column(JSON)
    goal_links: Mapped[bool] = mapped_column(Boolean)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("person_id", "kind", "period"),
                      Index("ix_reports_team", "manager_id", "kind", "period"),
                      Index("ix_reports_period", "kind", "period_start", "person_id"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    manager_id: Mapped[str | None] = mapped_column(PersonId)
    team_id: Mapped[str | None] = mapped_column(PersonId)
    kind: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    done: Mapped[str] = mapped_column(Text)
    blockers: Mapped[list[str]] = mapped_column(JSON)
    next_plan: Mapped[str] = mapped_column(Text)
    goal_ids: Mapped[list[str]] = mapped_column(JSON)
    extra: Mapped[dict[str, str]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class KeyEvent(Base):
    __tablename__ = "key_events"
    __table_args__ = (Index("ix_key_events_person", "person_id", "occurred_on"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    recorded_by: Mapped[str] = mapped_column(PersonId)
    polarity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    occurred_on: Mapped[date] = mapped_column(Date)
    evidence_text: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(1000))
    goal_id: Mapped[str | None] = mapped_column(String(128))
    response: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[Decimal] = mapped_column(Numeric(10, 7))
    longitude: Mapped[Decimal] = mapped_column(Numeric(10, 7))
    registered_by: Mapped[str] = mapped_column(PersonId)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Opportunity(Base):
    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_person", "person_id", "created_at"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    stage: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    next_step: Mapped[str] = mapped_column(String(500))
    demo_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_person", "person_id", "valid", "visited_at"),
                      Index("ix_visits_week", "week", "person_id"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    week: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7))
    accuracy_m: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    distance_m: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"))
    valid: Mapped[bool] = mapped_column(Boolean)
    invalid_reasons: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text)
    objections: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZeroActivity(Base):
    """The current zero-activity flag of a person (cleared by their next valid visit)."""

    __tablename__ = "zero_activity"

    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    manager_id: Mapped[str | None] = mapped_column(PersonId, index=True)
    weeks: Mapped[int] = mapped_column(Integer)
    last_valid_on: Mapped[date | None] = mapped_column(Date)
    detected_on: Mapped[date] = mapped_column(Date)


class CoachingTouch(Base):
    __tablename__ = "coaching_touches"
    __table_args__ = (Index("ix_coaching_manager", "manager_id", "on"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    manager_id: Mapped[str] = mapped_column(PersonId)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CoachingNote(Base):
    __tablename__ = "coaching_notes"
    __table_args__ = (UniqueConstraint("manager_id", "week"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    manager_id: Mapped[str] = mapped_column(PersonId)
    week: Mapped[str] = mapped_column(String(8))
    notes: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Questionnaire(Base):
    __tablename__ = "questionnaires"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    subject_id: Mapped[str] = mapped_column(PersonId, index=True)
    requested_by: Mapped[str] = mapped_column(PersonId)
    questionnaire_code: Mapped[str] = mapped_column(String(64))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the questionnaire when it was opened
    about: Mapped[str] = mapped_column(String(500))
    goal_id: Mapped[str | None] = mapped_column(String(128))
    threshold: Mapped[int] = mapped_column(Integer)
    invited: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(8))
    closes_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyInvitation(Base):
    __tablename__ = "survey_invitations"

    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    answered: Mapped[bool] = mapped_column(Boolean)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("survey_id", "pseudonym"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    pseudonym: Mapped[str] = mapped_column(String(64))
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text)


class Praise(Base):
    __tablename__ = "praise"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    given_by: Mapped[str] = mapped_column(PersonId)
    text: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[str | None] = mapped_column(String(128))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlaybookEntry(Base):
    __tablename__ = "playbook"

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    responses: Mapped[list[str]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(PersonId)
    version: Mapped[int] = mapped_column(Integer)


class SweepRun(Base):
    """What the timers already did (kind, key): a sweep that runs twice publishes once."""

    __tablename__ = "sweep_runs"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- part 2: review cycles, ratings, calibration --------------------------------------------------------------------

class ReviewCycle(Base):
    __tablename__ = "review_cycles"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    goals_cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16))
    formula_version: Mapped[int] = mapped_column(Integer)  # the pinned version in force
    deadlines: Mapped[dict[str, str]] = mapped_column(JSON)
    distribution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    peer_minimum: Mapped[int] = mapped_column(Integer)
    manager_waits_for_self: Mapped[bool] = mapped_column(Boolean)
    approval_table: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    opened_by: Mapped[str] = mapped_column(PersonId)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class RatingFormulaVersion(Base):
    """Append-only: a cycle's formula and scale change only by a new version with a reason."""

    __tablename__ = "rating_formula_versions"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # contracts.feedback.RatingFormulaSpec
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(PersonId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """One person in one cycle: the state (the domain's state table) and the submissions' lateness."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("cycle_id", "person_id"), Index("ix_reviews_manager", "cycle_id", "manager_id"))

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    manager_id: Mapped[str | None] = mapped_column(PersonId)
    org_unit_id: Mapped[str | None] = mapped_column(String(128))
    grade: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    self_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    self_comment: Mapped[str] = mapped_column(Text, default="")
    self_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_late: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    manager_comment: Mapped[str] = mapped_column(Text, default="")
    manager_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manager_late: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class PeerInvitation(Base):
    """Who the manager asked (read only to check an answer; never shown to the subject)."""

    __tablename__ = "review_peer_invitations"

    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    peer_id: Mapped[str] = mapped_column(PersonId, primary_key=True)


class PeerAnswer(Base):
    """A peer's scores under a keyed pseudonym (per review): no reviewer id, no time."""

    __tablename__ = "review_peer_answers"

    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    average: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    comment: Mapped[str] = mapped_column(Text)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_cycle_label", "cycle_id", "label"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), unique=True)
    cycle_id: Mapped[str] = mapped_column(Uuid)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    org_unit_id: Mapped[str | None] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(2))
    score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    formula_version: Mapped[int] = mapped_column(Integer)
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # chassis.access.approvals.Approval.to_json
    version: Mapped[int] = mapped_column(Integer)


class RatingVersion(Base):
    """Every version of a rating, before and after, with its reason: nothing changes a rating silently."""

    __tablename__ = "rating_versions"

    rating_id: Mapped[str] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(2))
    score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(PersonId)
    appeal_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # an appeal applies once
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalibrationSession(Base):
    __tablename__ = "calibration_sessions"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"), index=True)
    org_unit_id: Mapped[str | None] = mapped_column(String(128))
    attendees: Mapped[list[str]] = mapped_column(JSON)
    decisions: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(PersonId)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
