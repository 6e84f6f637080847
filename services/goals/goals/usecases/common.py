"""What several use cases share: loading with 404s, version checks, and settling the consequences of a change
(progress rolled up the tree, colours re-decided, reviews opened for goals that turned red)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Result, Row, Table, and_, exists, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chassis.errors import Conflict, NotFound
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from contracts.base import Event
from contracts.envelope import Envelope
from goals import models as m
from goals.access import unit_lead
from goals.domain.cycles import Change, CycleState, check_change
from goals.repositories import GoalsUnitOfWork, bulk_insert, table_of
from goals.rules import colour_of, own_progress, stored_progress

SWEPT_STATES = ("open", "locked")
REASON_TURNED_RED = "turned_red"
RESOLVED = "resolved_by_recovery"
RESOLVED_SUMMARY = "resolved by recovery: the goal is no longer red"
SYSTEM = "service:goals"


E = TypeVar("E", bound=Event)


def payload_of(envelope: Envelope, kind: type[E]) -> E:
    """The envelope's data as `kind`, the one type the handler subscribes to (anything else is a wiring mistake)."""
    event = envelope.payload()
    if not isinstance(event, kind):
        raise TypeError(f"{envelope.type} is not a {kind.__name__}")
    return event


def today(uow: GoalsUnitOfWork) -> date:
    return uow.now().date()


def person_id(actor: Actor | None) -> str:
    return actor.subject if actor is not None else "anonymous"


def no_cycle(cycle_id: str, field: str = "cycle_id") -> NotFound:
    return NotFound(f"cycle {cycle_id} does not exist", errors=[{"field": field, "message": "no such cycle"}])


def load_cycle(uow: GoalsUnitOfWork, cycle_id: str, *, lock: bool = False, field: str = "cycle_id") -> m.Cycle:
    cycle = uow.cycles.get(cycle_id, lock=lock)
    if cycle is None:
        raise no_cycle(cycle_id, field)
    return cycle


# The 404 of each record taken by id. A caller who may not read the record gets exactly the same one
# (goals.access.require(..., missing=...)), so that an id cannot be probed for existence.

def no_goal(goal_id: str, field: str = "goal_id") -> NotFound:
    return NotFound(f"goal {goal_id} does not exist", errors=[{"field": field, "message": "no such goal"}])


def no_review(review_id: str) -> NotFound:
    return NotFound(f"no review {review_id}", errors=[{"field": "review_id", "message": "no such review"}])


def no_commitment(commitment_id: str) -> NotFound:
    return NotFound(f"no commitment {commitment_id}",
                    errors=[{"field": "commitment_id", "message": "no such commitment"}])


def no_proposal(proposal_id: str) -> NotFound:
    return NotFound(f"no proposal {proposal_id}", errors=[{"field": "proposal_id", "message": "no such proposal"}])


def load_goal(uow: GoalsUnitOfWork, goal_id: str, *, lock: bool = False, field: str = "goal_id") -> m.Goal:
    goal = uow.goals.get(goal_id, lock=lock)
    if goal is None:
        raise no_goal(goal_id, field)
    return goal


class Versioned(Protocol):
    """A row with optimistic versioning (goals, cycles, commitments, library entries)."""

    version: int
    updated_at: datetime


def check_version(entity: Versioned, expected: int | None) -> None:
    if expected is not None and entity.version != expected:
        raise Conflict(f"version {expected} is stale; the current version is {entity.version}",
                       errors=[{"field": "expected_version", "message": f"current version is {entity.version}"}])


def allow(cycle: m.Cycle, change: Change, *, via_accepted_proposal: bool = False) -> None:
    check_change(CycleState(cycle.state), change, via_accepted_proposal=via_accepted_proposal)


def touch(entity: Versioned, uow: GoalsUnitOfWork) -> None:
    entity.version += 1
    entity.updated_at = uow.now()


# -- the change trail ------------------------------------------------------------------------------------------------

def record_change(uow: GoalsUnitOfWork, goal: m.Goal, actor_id: str, changes: dict[str, Any], *, source: str = "update",
                  reason: str = "", via_proposal_id: str | None = None, via_appeal_id: str | None = None) -> None:
    """A goal's fields changed: the trail row everyone who reads the goal can read (who, what, when, before and
    after, why), and the goal.updated event, in the transaction of the change."""
    if not changes:
        return
    uow.session.add(m.GoalChange(goal_id=goal.id, at=uow.now(), actor_id=actor_id, source=source, changes=changes,
                                 reason=reason))
    uow.publish(c.GoalUpdated(goal_id=goal.id, cycle_id=goal.cycle_id, responsible_id=goal.responsible_id,
                              changes=changes, via_proposal_id=via_proposal_id, via_appeal_id=via_appeal_id,
                              actor_id=actor_id, reason=reason))


def actor_id(uow: GoalsUnitOfWork, actor: Actor | None = None) -> str:
    actor = actor or getattr(uow, "actor", None)
    return actor.subject if actor is not None else SYSTEM


# -- progress roll-up ----------------------------------------------------------------------------------------------

def rolled_progress(uow: GoalsUnitOfWork, goal: m.Goal) -> Decimal:
    """Own progress for a leaf; the weighted mean of the children otherwise (plain mean when none weighs)."""
    count, weighted, weights, plain = uow.goals.children_totals(goal.id)
    if not count:
        return goal.own_progress
    return stored_progress(weighted / weights if weights else plain / count)


def recompute(uow: GoalsUnitOfWork, goal: m.Goal, key_results: Sequence[m.KeyResult] | None = None) -> None:
    """Refresh a goal's own and rolled progress after its values, targets or children changed."""
    if key_results is None:
        key_results = uow.goals.key_results([goal.id]).get(goal.id, [])
    goal.own_progress = own_progress(goal, key_results)
    goal.progress = rolled_progress(uow, goal)


def roll_up(uow: GoalsUnitOfWork, parent_id: str | None) -> list[m.Goal]:
    """Re-roll the chain of ancestors from `parent_id` up; returns those whose progress changed."""
    changed = []
    for ancestor in uow.goals.parent_chain(parent_id):
        before = ancestor.progress
        ancestor.progress = rolled_progress(uow, ancestor)
        if ancestor.progress == before:
            break  # nothing above can change either
        changed.append(ancestor)
    return changed


# -- colours and reviews -------------------------------------------------------------------------------------------
#
# Every colour change is settled here, whatever caused it (creation, progress, a template, an allocation, a new
# weight or target, the daily sweep): the history row, the event, and the consequences. A goal that is red gets
# exactly one review per red spell (a spell is named by the day it turned red, `colour_since`), for its owner's
# manager or, for an org unit's goal, the unit's lead; a goal that recovers closes its open review.

@dataclass(frozen=True)
class RedGoal:
    """What opening a review needs to know about a red goal (a model row or a row of the sweep's SELECT)."""

    goal_id: str
    cycle_id: str
    responsible_id: str
    owner_kind: str
    owner_id: str
    red_since: date

    @classmethod
    def of(cls, goal: m.Goal) -> RedGoal:
        return cls(goal.id, goal.cycle_id, goal.responsible_id, goal.owner_kind, goal.owner_id, goal.colour_since)


def reassess(uow: GoalsUnitOfWork, goals: Iterable[m.Goal], on: date | None = None) -> list[m.Goal]:
    """Re-decide the colour of goals whose progress, schedule or targets changed (the sweep's rule, in Python),
    record and publish the changes, and settle their consequences (`settle_colours`). Goals of a cycle that is
    not running (a draft) keep their colour: their schedule has not started. Returns the goals that changed."""
    goals = list({g.id: g for g in goals}.values())
    if not goals:
        return []
    on = on or today(uow)
    cycles = {cid: load_cycle(uow, cid) for cid in {g.cycle_id for g in goals}}
    goals = [g for g in goals if cycles[g.cycle_id].state in SWEPT_STATES]
    segments = uow.goals.segments([g.id for g in goals if g.schedule == "milestones"])
    changed, recovered = [], []
    for goal in goals:
        cycle = cycles[goal.cycle_id]
        colour = colour_of(goal, segments.get(goal.id, ()), on, cycle.red_after_weeks).value
        if colour == goal.colour:
            continue
        before, goal.colour, goal.colour_since = goal.colour, colour, on
        changed.append(goal)
        if before == "red":
            recovered.append(goal.id)
        uow.session.add(m.StatusChange(goal_id=goal.id, on=on, before=before, after=colour, progress=goal.progress,
                                       at=uow.now()))
        uow.publish(c.GoalStatusChanged(goal_id=goal.id, cycle_id=goal.cycle_id, responsible_id=goal.responsible_id,
                                        before=before, after=colour, on=on, progress=goal.progress))
    settle_colours(uow, [RedGoal.of(g) for g in goals if g.colour == "red"], recovered, on)
    return changed


def settle_colours(uow: GoalsUnitOfWork, red: Sequence[RedGoal], recovered: Sequence[str], on: date) -> tuple[int, int]:
    """The consequences of colours, the one place they are decided: a review for every red goal that has none
    for its current red spell, and the open reviews of goals that recovered closed as resolved by recovery.
    Idempotent (settling the same colours twice opens and closes nothing). Returns (opened, resolved)."""
    resolved = resolve_recovered(uow, recovered)
    return open_reviews(uow, red, on), resolved


def review_for(uow: GoalsUnitOfWork, goal: RedGoal) -> str | None:
    """Who reviews a red goal with its owner: the owner's manager; for an org unit's goal the unit's lead."""
    index = uow.access.index
    if goal.owner_kind == "org_unit":
        return unit_lead(index, goal.owner_id, goal.responsible_id)
    return index.manager_of(goal.responsible_id)


def open_reviews(uow: GoalsUnitOfWork, goals: Sequence[RedGoal], on: date) -> int:
    """Open a review (复盘) for each red goal that has none open and none completed for its red spell (a review
    resolved by recovery belongs to an earlier spell), in one statement; the partial unique index keeps a goal
    from ever having two open reviews."""
    goals = _unreviewed(uow, goals)
    if not goals:
        return 0
    rows = [{"id": new_id(), "goal_id": g.goal_id, "cycle_id": g.cycle_id, "owner_id": g.responsible_id,
             "manager_id": review_for(uow, g), "opened_on": on, "reason": REASON_TURNED_RED, "state": "open",
             "summary": "", "red_since": g.red_since, "created_at": uow.now()} for g in goals]
    session = uow.session
    table = table_of(m.Review)
    results: list[Result[Any]]
    if session.get_bind().dialect.name == "postgresql":
        inserted = bulk_insert(session, table, rows, suffix="ON CONFLICT (goal_id) WHERE state = 'open' DO NOTHING "
                                                           "RETURNING id, goal_id, cycle_id, owner_id, manager_id")
        results = [] if inserted is None else [inserted]
    else:
        results = [session.execute(
            sqlite_insert(table).values(rows[start:start + 2000])
            .on_conflict_do_nothing(index_elements=["goal_id"], index_where=table.c.state == "open")
            .returning(table.c.id, table.c.goal_id, table.c.cycle_id, table.c.owner_id, table.c.manager_id))
            for start in range(0, len(rows), 2000)]
    opened = [row for result in results for row in result]
    uow.publish(*(c.ReviewOpened(review_id=row.id, goal_id=row.goal_id, cycle_id=row.cycle_id, owner_id=row.owner_id,
                                 manager_id=row.manager_id, opened_on=on, reason=REASON_TURNED_RED) for row in opened))
    return len(opened)


def _reviewed(r: Table, red_since: ColumnElement[date]) -> ColumnElement[bool]:
    """A review that settles a red spell: the open one, or one completed for that spell."""
    return or_(r.c.state == "open", and_(r.c.state == "completed", r.c.red_since == red_since))


def _unreviewed(uow: GoalsUnitOfWork, goals: Sequence[RedGoal]) -> list[RedGoal]:
    goals = list({g.goal_id: g for g in goals}.values())
    r = table_of(m.Review)
    settled: set[tuple[str, date | None]] = set()
    for start in range(0, len(goals), 2000):
        chunk = goals[start:start + 2000]
        for row in uow.session.execute(select(r.c.goal_id, r.c.state, r.c.red_since).where(
                r.c.goal_id.in_([g.goal_id for g in chunk]), r.c.state.in_(("open", "completed")))):
            settled.add((row.goal_id, None) if row.state == "open" else (row.goal_id, row.red_since))
    return [g for g in goals if (g.goal_id, None) not in settled and (g.goal_id, g.red_since) not in settled]


def resolve_recovered(uow: GoalsUnitOfWork, goal_ids: Sequence[str]) -> int:
    """Close the open reviews of goals that are no longer red (resolved by recovery)."""
    if not goal_ids:
        return 0
    table = table_of(m.Review)
    now = uow.now()
    closed: list[Row[Any]] = []
    for start in range(0, len(goal_ids), 2000):
        closed += uow.session.execute(
            update(table).where(table.c.goal_id.in_(goal_ids[start:start + 2000]), table.c.state == "open")
            .values(state=RESOLVED, summary=RESOLVED_SUMMARY, completed_by=SYSTEM, completed_at=now)
            .returning(table.c.id, table.c.goal_id)).all()
    uow.publish(*(c.ReviewCompleted(review_id=row.id, goal_id=row.goal_id, completed_by=SYSTEM,
                                    summary=RESOLVED_SUMMARY, outcome=RESOLVED) for row in closed))
    return len(closed)


def unreviewed_red(uow: GoalsUnitOfWork, cycle_ids: Sequence[str]) -> list[RedGoal]:
    """Red goals of these cycles with no review for their current red spell (and none open): what the sweep
    settles besides the goals it turned red, so that a red goal is never left without its review."""
    if not cycle_ids:
        return []
    g, r = table_of(m.Goal), table_of(m.Review)
    reviewed = select(r.c.id).where(r.c.goal_id == g.c.id, _reviewed(r, g.c.colour_since))
    rows = uow.session.execute(
        select(g.c.id, g.c.cycle_id, g.c.responsible_id, g.c.owner_kind, g.c.owner_id, g.c.colour_since)
        .where(g.c.cycle_id.in_(cycle_ids), g.c.colour == "red", ~exists(reviewed))).all()
    return [RedGoal(row.id, row.cycle_id, row.responsible_id, row.owner_kind, row.owner_id, row.colour_since)
            for row in rows]
