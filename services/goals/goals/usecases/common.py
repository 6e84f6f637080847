"""What several use cases share: loading with 404s, version checks, and settling the consequences of a change
(progress rolled up the tree, colours re-decided, reviews opened for goals that turned red)."""
from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chassis.errors import Conflict, NotFound
from contracts import goals as c
from goals import models as m
from goals.domain.cycles import Change, CycleState, check_change
from goals.repositories import bulk_insert
from goals.rules import colour_of, own_progress, stored_progress

SWEPT_STATES = ("open", "locked")
REASON_TURNED_RED = "turned_red"


_ids = random.Random(os.urandom(32))  # ids name things; they are not secrets, and uuid4 is slow in bulk


def new_id() -> str:
    """A random (version 4, RFC 4122 variant) UUID, formatted without uuid.UUID's per-call validation."""
    n = (_ids.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def today(uow) -> date:
    return uow.now().date()


def person_id(actor) -> str:
    return actor.subject if actor is not None else "anonymous"


def load_cycle(uow, cycle_id: str, *, lock: bool = False, field: str = "cycle_id") -> m.Cycle:
    cycle = uow.cycles.get(cycle_id, lock=lock)
    if cycle is None:
        raise NotFound(f"cycle {cycle_id} does not exist", errors=[{"field": field, "message": "no such cycle"}])
    return cycle


def load_goal(uow, goal_id: str, *, lock: bool = False, field: str = "goal_id") -> m.Goal:
    goal = uow.goals.get(goal_id, lock=lock)
    if goal is None:
        raise NotFound(f"goal {goal_id} does not exist", errors=[{"field": field, "message": "no such goal"}])
    return goal


def check_version(entity, expected: int | None) -> None:
    if expected is not None and entity.version != expected:
        raise Conflict(f"version {expected} is stale; the current version is {entity.version}",
                       errors=[{"field": "expected_version", "message": f"current version is {entity.version}"}])


def allow(cycle: m.Cycle, change: Change, *, via_accepted_proposal: bool = False) -> None:
    check_change(CycleState(cycle.state), change, via_accepted_proposal=via_accepted_proposal)


def touch(entity, uow) -> None:
    entity.version += 1
    entity.updated_at = uow.now()


# -- progress roll-up ----------------------------------------------------------------------------------------------

def rolled_progress(uow, goal: m.Goal) -> Decimal:
    """Own progress for a leaf; the weighted mean of the children otherwise (plain mean when none weighs)."""
    count, weighted, weights, plain = uow.goals.children_totals(goal.id)
    if not count:
        return goal.own_progress
    return stored_progress(weighted / weights if weights else plain / count)


def recompute(uow, goal: m.Goal, key_results: Sequence[m.KeyResult] | None = None) -> None:
    """Refresh a goal's own and rolled progress after its values, targets or children changed."""
    if key_results is None:
        key_results = uow.goals.key_results([goal.id]).get(goal.id, [])
    goal.own_progress = own_progress(goal, key_results)
    goal.progress = rolled_progress(uow, goal)


def roll_up(uow, parent_id: str | None) -> list[m.Goal]:
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

def reassess(uow, goals: Iterable[m.Goal], on: date | None = None) -> list[m.Goal]:
    """Re-decide the colour of goals whose progress or schedule changed (the sweep's rule, in Python), record
    and publish the changes, and open reviews for goals that turned red. Returns the goals that changed."""
    goals = list({g.id: g for g in goals}.values())
    if not goals:
        return []
    on = on or today(uow)
    segments = uow.goals.segments([g.id for g in goals if g.schedule == "milestones"])
    cycles = {cid: uow.cycles.get(cid) for cid in {g.cycle_id for g in goals}}
    changed, turned_red = [], []
    for goal in goals:
        cycle = cycles[goal.cycle_id]
        colour = colour_of(goal, segments.get(goal.id, ()), on, cycle.red_after_weeks).value
        if colour == goal.colour:
            continue
        before, goal.colour, goal.colour_since = goal.colour, colour, on
        changed.append(goal)
        uow.session.add(m.StatusChange(goal_id=goal.id, on=on, before=before, after=colour, progress=goal.progress,
                                       at=uow.now()))
        uow.publish(c.GoalStatusChanged(goal_id=goal.id, cycle_id=goal.cycle_id, responsible_id=goal.responsible_id,
                                        before=before, after=colour, on=on, progress=goal.progress))
        if colour == "red" and cycle.state in SWEPT_STATES:
            turned_red.append((goal.id, goal.cycle_id, goal.responsible_id))
    open_reviews(uow, turned_red, on)
    return changed


def open_reviews(uow, goals: Sequence[tuple[str, str, str]], on: date) -> int:
    """Open a review (复盘) for each (goal, cycle, owner) that has none open, for the owner and their manager;
    one statement, and a goal never gets two open reviews (a partial unique index)."""
    if not goals:
        return 0
    index = uow.access.index
    rows = [{"id": new_id(), "goal_id": goal_id, "cycle_id": cycle_id, "owner_id": owner,
             "manager_id": index.manager_of(owner), "opened_on": on, "reason": REASON_TURNED_RED, "state": "open",
             "summary": "", "created_at": uow.now()} for goal_id, cycle_id, owner in goals]
    session = uow.session
    table = m.Review.__table__
    if session.get_bind().dialect.name == "postgresql":
        results = [bulk_insert(session, table, rows, suffix="ON CONFLICT (goal_id) WHERE state = 'open' DO NOTHING "
                                                           "RETURNING id, goal_id, cycle_id, owner_id, manager_id")]
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
