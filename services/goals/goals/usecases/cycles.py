"""Cycles: create, move through draft -> open -> locked -> closed, read."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select

from chassis.errors import InvalidInput, Unprocessable
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import require
from goals.domain import cycles as rules
from goals.domain.weights import weight_violations
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import check_version, load_cycle, today, touch
from goals.views import cycle_view, decode_cursor, encode_cursor


def create_cycle(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CreateCycle) -> c.CycleView:
    with uow:
        require(uow, actor, "company.manage")
        shape = rules.Cycle.for_period(new_id(), rules.Period(command.period), command.year, command.index,
                                       red_after_weeks=command.red_after_weeks)
        now = uow.now()
        cycle = m.Cycle(id=shape.id, name=command.name, period=shape.period.value, starts_on=shape.starts_on,
                        ends_on=shape.ends_on, state=shape.state.value, red_after_weeks=shape.red_after_weeks,
                        visibility=command.visibility, opened_at=None, created_at=now, updated_at=now, version=1)
        uow.cycles.add(cycle)
        uow.publish(c.CycleCreated(cycle_id=cycle.id, name=cycle.name, period=cycle.period,
                                   starts_on=cycle.starts_on, ends_on=cycle.ends_on,
                                   red_after_weeks=cycle.red_after_weeks))
        return cycle_view(cycle)


def transition_cycle(uow: GoalsUnitOfWork, actor: Actor | None, command: c.TransitionCycle) -> c.CycleView:
    with uow:
        require(uow, actor, "company.manage")
        cycle = load_cycle(uow, command.cycle_id, lock=True)
        check_version(cycle, command.expected_version)
        current = rules.Cycle(cycle.id, rules.Period(cycle.period), cycle.starts_on, cycle.ends_on,
                              rules.CycleState(cycle.state), cycle.red_after_weeks, cycle.opened_at)
        moved = rules.transition(current, rules.CycleState(command.to), uow.now())
        if moved.state is rules.CycleState.LOCKED:
            _require_complete_weights(uow, cycle.id)
        before = cycle.state
        cycle.state, cycle.opened_at = moved.state.value, moved.opened_at
        touch(cycle, uow)
        if moved.state is rules.CycleState.OPEN:
            # the cycle's schedule starts: let the timer colour its goals today even if today was swept already
            uow.session.execute(delete(m.SweepRun).where(m.SweepRun.on == today(uow)))
        uow.publish(c.CycleStateChanged(cycle_id=cycle.id, before=before, after=cycle.state))
        return cycle_view(cycle)


def _require_complete_weights(uow: GoalsUnitOfWork, cycle_id: str) -> None:
    """Locking commits everyone to their goals: every person's weights must total exactly 100."""
    rows = uow.session.execute(select(m.Goal.owner_id, m.Goal.id, m.Goal.weight)
                               .where(m.Goal.cycle_id == cycle_id, m.Goal.owner_kind == "person")).all()
    violations = weight_violations((row.owner_id, row.id, row.weight) for row in rows)
    if violations:
        errors = [{"field": error.field, "message": error.message, "ids": list(error.ids)}
                  for error in list(violations.values())[:100]]
        raise Unprocessable(f"{len(violations)} people's goal weights do not total 100.00; the cycle stays open",
                            errors=errors)


def get_cycle(uow: GoalsUnitOfWork, actor: Actor | None, command: c.GetCycle) -> c.CycleView:
    with uow:
        return cycle_view(load_cycle(uow, command.cycle_id))


def list_cycles(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListCycles) -> c.CycleList:
    after = decode_cursor(command.cursor, 2)
    try:
        position = (date.fromisoformat(after[0]), after[1]) if after else None
    except (TypeError, ValueError):
        raise InvalidInput.field("cursor", "is not a cursor this list gave") from None
    with uow:
        cycles = uow.cycles.page(command.state, position, command.limit + 1)
    more = len(cycles) > command.limit
    cycles = cycles[:command.limit]
    cursor = encode_cursor(cycles[-1].starts_on.isoformat(), cycles[-1].id) if more else None
    return c.CycleList(items=[cycle_view(x) for x in cycles], next_cursor=cursor)
