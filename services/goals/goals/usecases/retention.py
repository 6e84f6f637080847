"""Retention: compliance's daily `retention.sweep_requested` names the policies per record type and the legal
holds; goals applies the `goal` policy to its own data (a goal with its key results, schedule, progress history,
colour history, reviews, commitments and change trail), skipping what a hold covers:

- anonymize: the people it names become "anonymized" and the free text about them is cleared (the goal's
  description, progress comments, review summaries, the trail's reasons); titles, numbers and colours stay for
  statistics;
- purge: the goal and everything hanging off it are deleted (its children keep their place without a parent).

The clock starts when the goal was created (`basis: created`) or when its cycle closed (`basis: ended`). Every
action is published (`jixiao.goals.records.purged.v1`), so compliance's audit log records it. Running the same
sweep twice changes nothing the second time."""
from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select, update

from contracts import goals as c
from contracts.compliance import HoldRef, RetentionSweepRequested
from contracts.envelope import Envelope
from goals import models as m
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import payload_of

log = logging.getLogger(__name__)

RECORD_TYPE = "goal"
ANONYMIZED = "anonymized"


class Policy(BaseModel):
    """compliance's retention policy for one record type (checked here: nothing from the broker is trusted)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    basis: Literal["created", "ended"] = "created"
    anonymize_after_years: int | None = Field(default=None, ge=0, le=100)
    purge_after_years: int | None = Field(default=None, ge=0, le=100)


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar day `years` earlier (29 February becomes 28 February in common years)."""
    year = moment.year - years
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)


def held(holds: Iterable[HoldRef], goal_id: str) -> bool:
    for hold in holds:
        if hold.record_type not in (None, RECORD_TYPE):
            continue
        if not hold.record_ids or goal_id in hold.record_ids:
            return True
    return False


def apply_retention(uow: GoalsUnitOfWork, envelope: Envelope) -> None:
    request = payload_of(envelope, RetentionSweepRequested)
    with uow:  # the inbox records the sweep as handled
        raw = (request.policies or {}).get(RECORD_TYPE)
        if raw is None:
            return
        try:
            policy = Policy.model_validate(raw)
        except ValidationError as error:
            log.warning("retention: ignoring an invalid %r policy: %s", RECORD_TYPE, error)
            return
        now = uow.now()
        due = _due(uow, policy, now)
        purge = [gid for gid, action in due.items() if action == "purge" and not held(request.holds, gid)]
        anonymize = [gid for gid, action in due.items() if action == "anonymize" and not held(request.holds, gid)]
        if anonymize:
            anonymize_goals(uow, anonymize, now)
            uow.publish(c.GoalRecordsRetained(record_type=RECORD_TYPE, action="anonymize", record_ids=anonymize,
                                              reason=f"identifiable retention of {policy.anonymize_after_years} "
                                                     f"years ended", sweep_date=request.sweep_date))
        if purge:
            purge_goals(uow, purge)
            uow.publish(c.GoalRecordsRetained(record_type=RECORD_TYPE, action="purge", record_ids=purge,
                                              reason=f"retention of {policy.purge_after_years} years ended",
                                              sweep_date=request.sweep_date))


def _due(uow: GoalsUnitOfWork, policy: Policy, now: datetime) -> dict[str, str]:
    """goal id -> "purge" or "anonymize", for the goals whose time has come."""
    g, cy = m.Goal, m.Cycle
    if policy.basis == "created":
        start, where = g.created_at, []
    else:  # the clock starts when the cycle closed (its last change)
        start, where = cy.updated_at, [cy.state == "closed"]
    found: dict[str, str] = {}
    base = select(g.id).join(cy, cy.id == g.cycle_id).where(*where)
    if policy.anonymize_after_years is not None:
        cutoff = years_before(now.astimezone(UTC), policy.anonymize_after_years)
        for goal_id in uow.session.scalars(base.where(start <= cutoff, g.anonymized_at.is_(None))):
            found[goal_id] = "anonymize"
    if policy.purge_after_years is not None:
        cutoff = years_before(now.astimezone(UTC), policy.purge_after_years)
        for goal_id in uow.session.scalars(base.where(start <= cutoff)):
            found[goal_id] = "purge"
    return found


def _chunks(ids: Sequence[str], size: int = 1000) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def anonymize_goals(uow: GoalsUnitOfWork, goal_ids: list[str], now: datetime) -> None:
    s = uow.session
    for ids in _chunks(goal_ids):
        s.execute(update(m.Goal).where(m.Goal.id.in_(ids), m.Goal.owner_kind == "person")
                  .values(owner_id=ANONYMIZED))
        s.execute(update(m.Goal).where(m.Goal.id.in_(ids)).values(
            responsible_id=ANONYMIZED, created_by=ANONYMIZED, description="", anonymized_at=now))
        s.execute(update(m.ProgressUpdate).where(m.ProgressUpdate.goal_id.in_(ids))
                  .values(actor_id=ANONYMIZED, comment=""))
        s.execute(update(m.Review).where(m.Review.goal_id.in_(ids)).values(
            owner_id=ANONYMIZED, manager_id=None, completed_by=None, summary=""))
        s.execute(update(m.GoalChange).where(m.GoalChange.goal_id.in_(ids)).values(actor_id=ANONYMIZED, reason=""))
        s.execute(update(m.Commitment).where(m.Commitment.goal_id.in_(ids)).values(provider_id=ANONYMIZED))


def purge_goals(uow: GoalsUnitOfWork, goal_ids: list[str]) -> None:
    s = uow.session
    for ids in _chunks(goal_ids):
        s.execute(update(m.Goal).where(m.Goal.parent_id.in_(ids), m.Goal.id.not_in(goal_ids)).values(parent_id=None))
        commitments = select(m.Commitment.id).where(m.Commitment.goal_id.in_(ids))
        s.execute(delete(m.CommitmentChange).where(m.CommitmentChange.commitment_id.in_(commitments)))
        for model in (m.Commitment, m.KeyResult, m.ScheduleSegment, m.ProgressUpdate, m.StatusChange, m.Review,
                      m.GoalChange, m.ProposalGoal):
            s.execute(delete(model).where(model.goal_id.in_(ids)))
        s.execute(delete(m.Allocation).where(m.Allocation.parent_goal_id.in_(ids)))
    # children first: a goal's parent may be purged in the same sweep
    for ids in _chunks(goal_ids):
        s.execute(update(m.Goal).where(m.Goal.id.in_(ids)).values(parent_id=None))
    for ids in _chunks(goal_ids):
        s.execute(delete(m.Goal).where(m.Goal.id.in_(ids)))
