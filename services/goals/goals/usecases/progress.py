"""Progress updates: a new value for a key result or a KPI, with a comment and a confidence; the full history
keeps who, when, before and after. Formula indicators that read the changed value are recomputed."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from chassis.errors import InvalidInput, Unprocessable
from chassis.uow import retrying
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import LINE, GoalRef, require, require_read
from goals.domain import formula as formulas
from goals.domain.cycles import Change, Cycle, CycleState, Period
from goals.domain.errors import FormulaError
from goals.domain.progress import update_key_result, update_kpi
from goals.repositories import GoalsUnitOfWork
from goals.rules import AMOUNT_QUANTUM, domain_key_results, fits_amount, kpi_band, kpi_of
from goals.usecases.common import allow, load_cycle, load_goal, no_goal, reassess, recompute, roll_up, touch
from goals.views import decode_cursor, encode_cursor, goal_view, progress_view

SYSTEM = "service:goals"


def record_progress(uow: GoalsUnitOfWork, actor: Actor | None, command: c.RecordProgress) -> c.ProgressRecorded:
    # read models no longer deadlock (migration 0008), but goal rows still can: two updates recomputing one
    # person's formula goals lock them from different starts. Everything is in the transaction: run it again.
    return retrying(lambda: _record_progress(uow, actor, command))


def _record_progress(uow: GoalsUnitOfWork, actor: Actor | None, command: c.RecordProgress) -> c.ProgressRecorded:
    with uow:
        goal = load_goal(uow, command.goal_id, lock=True)
        actor = require(uow, actor, "goal.progress", GoalRef.of(goal), missing=no_goal(goal.id))
        cycle = load_cycle(uow, goal.cycle_id)
        allow(cycle, Change.PROGRESS)
        if goal.computed:
            raise Unprocessable(f"goal {goal.id} is computed by its formula; record the values it reads instead",
                                errors=[{"field": "goal_id", "message": "computed by a formula"}])
        update = _apply(uow, goal, command.key_result_id, command.value, command.comment, command.confidence,
                        actor.subject, private=command.private)
        if command.confidence is not None:
            goal.confidence = command.confidence
        settle(uow, goal)
        recompute_formulas(uow, goal.cycle_id, goal.owner_id, goal.template_code, [goal.indicator_code])
        krs = uow.goals.key_results([goal.id]).get(goal.id, [])
        pieces = uow.goals.segments([goal.id]).get(goal.id, [])
        return c.ProgressRecorded(update=progress_view(update), goal=goal_view(goal, krs, pieces))


def _apply(uow: GoalsUnitOfWork, goal: m.Goal, key_result_id: str | None, value: Decimal, comment: str,
           confidence: Decimal | None, actor_id: str, *, private: bool = False) -> m.ProgressUpdate:
    """Record a new value on the goal (or one of its key results) and its history row; publish it."""
    at = uow.now()
    value = value.quantize(AMOUNT_QUANTUM)
    if goal.kind == "kpi":
        if key_result_id is not None:
            raise InvalidInput.field("key_result_id", "a KPI goal has no key results")
        _, change = update_kpi(kpi_of(goal), value, actor_id=actor_id, at=at, comment=comment, confidence=confidence)
        goal.actual = value
        goal.kpi_band = kpi_band(goal)
        before_progress = goal.own_progress
        recompute(uow, goal, [])
    else:
        krs = uow.goals.key_results([goal.id]).get(goal.id, [])
        if key_result_id is None:
            raise InvalidInput.field("key_result_id", "give the key result this value is for")
        kr = next((k for k in krs if k.id == key_result_id), None)
        if kr is None:
            raise InvalidInput.field("key_result_id", "is not a key result of this goal")
        domain_kr = next(k for k in domain_key_results(krs) if k.id == kr.id)
        _, change = update_key_result(domain_kr, value, actor_id=actor_id, at=at, comment=comment,
                                      confidence=confidence)
        kr.current = value
        before_progress = goal.own_progress
        recompute(uow, goal, krs)
    touch(goal, uow)
    update = uow.progress.add(m.ProgressUpdate(
        goal_id=goal.id, key_result_id=key_result_id, actor_id=actor_id, at=at, before_value=change.before_value,
        after_value=change.after_value, before_progress=before_progress, after_progress=goal.own_progress,
        comment=comment, confidence=confidence, private=private))
    uow.publish(c.GoalProgressed(
        goal_id=goal.id, cycle_id=goal.cycle_id, responsible_id=goal.responsible_id, key_result_id=key_result_id,
        update_id=update.id, before_value=update.before_value, after_value=update.after_value,
        before_progress=update.before_progress, after_progress=update.after_progress, confidence=confidence,
        comment=comment, at=at))
    return update


def settle(uow: GoalsUnitOfWork, goal: m.Goal) -> None:
    """After a goal's progress changed: roll it up the tree and re-decide the colours that moved."""
    reassess(uow, [goal, *roll_up(uow, goal.parent_id)])


def recompute_formulas(uow: GoalsUnitOfWork, cycle_id: str, person: str, template_code: str | None,
                       changed: list[str | None]) -> list[str]:
    """Recompute a person's formula indicators (of one assigned template) that read a changed indicator value
    or custom field, with the formula version the cycle keeps. Returns the goals that got a new value."""
    changed_names = {name for name in changed if name}
    if template_code is None or not changed_names:
        return []
    from sqlalchemy import select

    siblings = list(uow.session.scalars(select(m.Goal).where(
        m.Goal.cycle_id == cycle_id, m.Goal.owner_kind == "person", m.Goal.owner_id == person,
        m.Goal.template_code == template_code).order_by(m.Goal.id).with_for_update()))
    # a computed goal comes from a template's indicator, so it has its code
    computed = [(g, g.indicator_code) for g in siblings if g.computed and g.indicator_code is not None]
    if not computed:
        return []
    cycle = load_cycle(uow, cycle_id)
    pinned = _pinned_formulas(uow, cycle, [code for _, code in computed])
    values: dict[str, Decimal] = {f.field: f.value for f in uow.library.custom_values(cycle_id, person).values()}
    values.update((g.indicator_code, g.actual) for g in siblings
                  if not g.computed and g.actual is not None and g.indicator_code is not None)
    updated: list[m.Goal] = []
    # Formulas may read other formulas: repeat while something new became computable (bounded by their number).
    for _ in range(len(computed)):
        progressed = False
        for goal, code in computed:
            text = pinned.get(code)
            if text is None:
                continue
            parsed = formulas.parse(text)
            if not parsed.variables & (changed_names | set(updated_codes(updated))):
                continue
            if not parsed.variables <= values.keys():
                continue  # some input has no value yet
            try:
                value = formulas.evaluate(parsed, {k: values[k] for k in parsed.variables})
            except FormulaError:
                continue  # e.g. a division by zero on today's values: keep the last computed value
            if not fits_amount(Decimal(value)):
                continue  # beyond what an amount holds: as with a division by zero, the last value stands
            value = Decimal(value).quantize(AMOUNT_QUANTUM)
            if goal.actual == value:
                continue
            version = pinned_version_number(uow, cycle, code)
            _apply(uow, goal, None, value, f"computed by formula {code} v{version}", None, SYSTEM)
            settle(uow, goal)
            values[code] = value
            updated.append(goal)
            progressed = True
        if not progressed:
            break
    return [g.id for g in updated]


def updated_codes(goals: list[m.Goal]) -> list[str]:
    return [g.indicator_code for g in goals if g.indicator_code]


def _domain_cycle(cycle: m.Cycle) -> Cycle:
    return Cycle(cycle.id, Period(cycle.period), cycle.starts_on, cycle.ends_on, CycleState(cycle.state),
                 cycle.red_after_weeks, cycle.opened_at)


def _versions(uow: GoalsUnitOfWork, codes: Sequence[str]) -> dict[str, list[formulas.FormulaVersion]]:
    return {code: [formulas.FormulaVersion(v.indicator_code, v.version, v.text, v.created_at) for v in versions]
            for code, versions in uow.library.formula_versions(codes).items()}


def _pinned_formulas(uow: GoalsUnitOfWork, cycle: m.Cycle, codes: Sequence[str]) -> dict[str, str]:
    """Formula text per indicator code as the cycle uses it: the version it started with."""
    domain_cycle = _domain_cycle(cycle)
    return {code: formulas.pinned_version(history, domain_cycle).text
            for code, history in _versions(uow, codes).items() if history}


def pinned_version_number(uow: GoalsUnitOfWork, cycle: m.Cycle, code: str) -> int:
    history = _versions(uow, [code]).get(code)
    return formulas.pinned_version(history, _domain_cycle(cycle)).version if history else 0


def list_progress(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListProgress) -> c.ProgressHistory:
    before = decode_cursor(command.cursor)
    with uow:
        goal = load_goal(uow, command.goal_id)
        level = require_read(uow, actor, GoalRef.of(goal), uow.cycles.get(goal.cycle_id), missing=no_goal(goal.id))
        if before is not None and not isinstance(before[0], int):
            raise InvalidInput.field("cursor", "is not a cursor this list gave")
        rows = uow.progress.page(goal.id, before[0] if before else None, command.limit + 1)
    more = len(rows) > command.limit
    rows = rows[:command.limit]
    return c.ProgressHistory(items=[progress_view(r, full=level == LINE) for r in rows],
                             next_cursor=encode_cursor(rows[-1].id) if more else None)
