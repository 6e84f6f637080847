"""The goal tree: create goals (OKR or KPI, owned by a person or an org unit, under any parent), change them,
read them, set a person's weights."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, String, bindparam, select

from chassis.errors import InvalidInput, Unprocessable
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, person_resource, read_level, require, require_read, unit_resource
from goals.domain.cycles import Change
from goals.domain.goal import GoalKind
from goals.domain.tree import check_reparent
from goals.domain.weights import check_weights, check_weights_so_far
from goals.repositories import GoalsUnitOfWork
from goals.rules import (
    build_schedule,
    check_kpi,
    kpi_band,
    kpi_of,
    milestones_of,
    scaled_thresholds,
    segments_of,
)
from goals.usecases.common import (
    actor_id,
    allow,
    check_version,
    load_cycle,
    load_goal,
    no_goal,
    reassess,
    recompute,
    record_change,
    roll_up,
    today,
    touch,
)
from goals.views import change_view, decode_cursor, encode_cursor, goal_view, goal_views, headline_target


def _owner(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CreateGoal) -> tuple[str, str | None]:
    """(responsible person, org unit) of a new goal; checks the owner exists in the directory."""
    index = uow.access.index
    owner = command.owner
    if owner.kind == "person":
        person = index.person(owner.id)
        if person is None:
            raise InvalidInput.field("owner.id", f"no person {owner.id} in the directory")
        if command.responsible_id not in (None, owner.id):
            raise InvalidInput.field("responsible_id", "a person's goal is their own responsibility")
        return owner.id, person.org_unit_id
    if index.unit(owner.id) is None:
        raise InvalidInput.field("owner.id", f"no org unit {owner.id} in the directory")
    responsible = command.responsible_id or (actor.subject if actor is not None and actor.kind == "person" else None)
    if responsible is None or index.person(responsible) is None:
        raise InvalidInput.field("responsible_id", "an org-unit goal needs a person in the directory to speak for it")
    return responsible, owner.id


def _person_weights_so_far(uow: GoalsUnitOfWork, cycle_id: str, person: str, changes: dict[str, Decimal],
                           adding: Decimal = Decimal(0)) -> None:
    weights = {g.id: g.weight for g in uow.goals.person_goals(cycle_id, person)}
    weights.update(changes)
    check_weights_so_far(weights, adding=adding)


def create_goal(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CreateGoal) -> c.GoalView:
    with uow:
        return add_goal(uow, actor, command)


def add_goal(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CreateGoal) -> c.GoalView:
    """create_goal inside a unit of work the caller opened (a bulk import adds many goals in one)."""
    cycle = load_cycle(uow, command.cycle_id)
    allow(cycle, Change.DEFINE)
    responsible, org_unit = _owner(uow, actor, command)
    owner = command.owner
    resource = person_resource(responsible) if owner.kind == "person" else unit_resource(owner.id)
    require(uow, actor, "goal.create", resource)
    kind = GoalKind(command.kind)
    if kind is GoalKind.KPI and (command.kpi is None or command.key_results):
        raise InvalidInput.field("kpi", "a KPI goal has a KPI (direction, target, thresholds) and no key results")
    if kind is GoalKind.OKR and command.kpi is not None:
        raise InvalidInput.field("kpi", "an OKR goal has key results, not a KPI")
    if kind is GoalKind.OKR and not command.key_results:
        # progress and colour come from the key results: without one the goal would be red at once
        raise InvalidInput.field("key_results", "an OKR goal needs at least one key result")
    parent = None
    if command.parent_id is not None:
        parent = load_goal(uow, command.parent_id, lock=True, field="parent_id")
        require(uow, actor, "goal.read", GoalRef.of(parent), missing=no_goal(parent.id, "parent_id"))
    start_on = command.start_on or cycle.starts_on
    due_on = command.due_on or cycle.ends_on
    schedule = build_schedule(start_on, due_on, [(x.on, x.fraction) for x in command.milestones])
    kpi = command.kpi
    if kpi is not None:
        check_kpi(kpi.direction, kpi.target, kpi.green, kpi.yellow)
    goal_id = new_id()
    if command.owner.kind == "person":
        _person_weights_so_far(uow, cycle.id, responsible, {}, command.weight)
    now = uow.now()
    goal = m.Goal(
        id=goal_id, cycle_id=cycle.id, parent_id=command.parent_id, owner_kind=command.owner.kind,
        owner_id=command.owner.id, responsible_id=responsible, org_unit_id=org_unit, title=command.title,
        description=command.description, kind=kind.value, weight=command.weight, start_on=start_on,
        due_on=due_on, schedule="milestones" if command.milestones else "linear",
        direction=kpi.direction if kpi else None, target=kpi.target if kpi else None,
        unit=kpi.unit if kpi else "", green=kpi.green if kpi else None, yellow=kpi.yellow if kpi else None,
        cumulative=kpi.cumulative if kpi else False,
        actual=None, kpi_band=None, own_progress=Decimal(0), progress=Decimal(0), confidence=None,
        colour="green", colour_since=today(uow), resources_needed=[], indicator_code=None, template_code=None,
        computed=False, scoring=None, created_by=actor.subject if actor else "anonymous", created_at=now,
        updated_at=now, version=1,
    )
    krs = [m.KeyResult(id=new_id(), goal_id=goal_id, position=i, title=kr.title, start_value=kr.start,
                       target=kr.target, current=kr.start, unit=kr.unit, weight=kr.weight)
           for i, kr in enumerate(command.key_results)]
    uow.goals.add(goal)
    uow.session.add_all(krs)
    uow.session.flush()
    if command.milestones:
        uow.goals.replace_segments(goal.id, segments_of(schedule))
    recompute(uow, goal, krs)
    pieces = uow.goals.segments([goal.id]).get(goal.id, [])
    uow.publish(c.GoalCreated(
        goal_id=goal.id, cycle_id=goal.cycle_id, parent_id=goal.parent_id, owner=command.owner,
        responsible_id=responsible, org_unit_id=org_unit, title=goal.title, kind=goal.kind, weight=goal.weight,
        start_on=goal.start_on, due_on=goal.due_on, target=headline_target(goal, krs), unit=_unit(goal, krs)))
    # a goal created behind schedule is red at once, and gets its review like any other red goal
    reassess(uow, [goal, *(roll_up(uow, parent.id) if parent is not None else [])])
    return goal_view(goal, krs, pieces)


def _unit(goal: m.Goal, krs: Sequence[m.KeyResult]) -> str:
    return goal.unit if goal.kind == "kpi" or len(krs) != 1 else krs[0].unit


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def update_goal(uow: GoalsUnitOfWork, actor: Actor | None, command: c.UpdateGoal) -> c.GoalView:
    given = command.model_fields_set - {"goal_id", "expected_version"}
    if not given:
        raise InvalidInput.field("goal_id", "nothing to change: give at least one field")
    with uow:
        goal = load_goal(uow, command.goal_id, lock=True)
        require(uow, actor, "goal.update", GoalRef.of(goal), missing=no_goal(goal.id))
        check_version(goal, command.expected_version)
        cycle = load_cycle(uow, goal.cycle_id)
        allow(cycle, Change.DEFINE)
        krs = uow.goals.key_results([goal.id]).get(goal.id, [])
        pieces = uow.goals.segments([goal.id]).get(goal.id, [])
        changes: dict[str, dict[str, Any]] = {}

        def change(field: str, before: Any, after: Any) -> None:
            if before != after:
                changes[field] = {"before": _json(before), "after": _json(after)}

        for field in ("title", "description"):
            if field in given and getattr(command, field) is not None:
                change(field, getattr(goal, field), getattr(command, field))
                setattr(goal, field, getattr(command, field))
        if "weight" in given and command.weight is not None:
            if goal.owner_kind == "person":
                _person_weights_so_far(uow, goal.cycle_id, goal.responsible_id, {goal.id: command.weight})
            change("weight", goal.weight, command.weight)
            goal.weight = command.weight
        old_parent = goal.parent_id
        if "parent_id" in given and command.parent_id != goal.parent_id:
            _reparent(uow, actor, goal, command.parent_id)
            change("parent_id", old_parent, goal.parent_id)
        _update_schedule(uow, goal, pieces, command, given, change)
        _update_targets(uow, goal, krs, command, given, change)
        if not changes:
            return goal_view(goal, krs, uow.goals.segments([goal.id]).get(goal.id, []))
        touch(goal, uow)
        recompute(uow, goal, krs)
        settled = [goal, *roll_up(uow, goal.parent_id)]
        if old_parent != goal.parent_id:
            settled += roll_up(uow, old_parent)
        reassess(uow, settled)
        record_change(uow, goal, actor_id(uow, actor), changes, source="update")
        return goal_view(goal, krs, uow.goals.segments([goal.id]).get(goal.id, []))


def _reparent(uow: GoalsUnitOfWork, actor: Actor | None, goal: m.Goal, parent_id: str | None) -> None:
    if parent_id is not None:
        parent = load_goal(uow, parent_id, lock=True, field="parent_id")
        require(uow, actor, "goal.read", GoalRef.of(parent), missing=no_goal(parent_id, "parent_id"))
        chain = uow.goals.parent_chain(parent_id)
        parents = {g.id: g.parent_id for g in chain}
        parents[goal.id] = goal.parent_id
        check_reparent(goal.id, parent_id, parents)
    goal.parent_id = parent_id


Recorder = Callable[[str, Any, Any], None]  # (field, before, after) into the change trail


def _update_schedule(uow: GoalsUnitOfWork, goal: m.Goal, pieces: Sequence[m.ScheduleSegment], command: c.UpdateGoal,
                     given: set[str], change: Recorder) -> None:
    if not given & {"start_on", "due_on", "milestones"}:
        return
    old_milestones = milestones_of(goal, pieces)
    start_on = command.start_on if "start_on" in given and command.start_on else goal.start_on
    due_on = command.due_on if "due_on" in given and command.due_on else goal.due_on
    if "milestones" in given and command.milestones is not None:
        milestones = [(x.on, x.fraction) for x in command.milestones]
    else:
        milestones = old_milestones
    schedule = build_schedule(start_on, due_on, milestones)
    change("start_on", goal.start_on, start_on)
    change("due_on", goal.due_on, due_on)
    if milestones != old_milestones:
        change("milestones", [[d.isoformat(), str(f)] for d, f in old_milestones],
               [[d.isoformat(), str(f)] for d, f in milestones])
    goal.start_on, goal.due_on = start_on, due_on
    goal.schedule = "milestones" if milestones else "linear"
    uow.goals.replace_segments(goal.id, segments_of(schedule) if milestones else [])


def _update_targets(uow: GoalsUnitOfWork, goal: m.Goal, krs: list[m.KeyResult], command: c.UpdateGoal,
                    given: set[str], change: Recorder) -> None:
    if goal.kind == "kpi":
        if given & {"key_result_targets", "add_key_results"}:
            raise InvalidInput.field("key_result_targets", "a KPI goal has no key results")
        kpi = kpi_of(goal)
        target = command.kpi_target if "kpi_target" in given and command.kpi_target is not None else kpi.target
        bands = (command.kpi_thresholds or {}) if "kpi_thresholds" in given else {}
        green, yellow = ((kpi.thresholds.green, kpi.thresholds.yellow) if len(bands) == 2
                         else scaled_thresholds(goal, target))
        green, yellow = bands.get("green", green), bands.get("yellow", yellow)
        check_kpi(kpi.direction, target, green, yellow, field="kpi_thresholds")
        change("target", goal.target, target)
        change("green", goal.green, green)
        change("yellow", goal.yellow, yellow)
        goal.target, goal.green, goal.yellow = target, green, yellow
        goal.kpi_band = kpi_band(goal)
        return
    if given & {"kpi_target", "kpi_thresholds"}:
        raise InvalidInput.field("kpi_target", "an OKR goal's targets are its key results' targets")
    by_id = {kr.id: kr for kr in krs}
    for kr_id, target in sorted((command.key_result_targets or {}).items()):
        kr = by_id.get(kr_id)
        if kr is None:
            raise InvalidInput.field(f"key_result_targets.{kr_id}", "is not a key result of this goal")
        change(f"key_results.{kr_id}.target", kr.target, target)
        kr.target = target
    for i, added in enumerate(command.add_key_results or []):
        kr = m.KeyResult(id=new_id(), goal_id=goal.id, position=len(krs), title=added.title, start_value=added.start,
                         target=added.target, current=added.start, unit=added.unit, weight=added.weight)
        uow.session.add(kr)
        krs.append(kr)
        change(f"add_key_results.{i}", None, {"id": kr.id, "title": kr.title, "target": str(kr.target)})


@dataclass(frozen=True)
class _Visibility:
    visibility: str  # of the goal's cycle: who reads the goal besides its line (access.read_level)


# get_goal's read in one round trip (built once, a bound parameter): the goal, its cycle's visibility and its key
# results in order (none for a KPI: one row with NULLs)
_GOAL_ID: BindParameter[str] = bindparam("goal_id", type_=String)
GOAL_TO_READ = (select(m.Goal, m.Cycle.visibility, m.KeyResult)
                .join(m.Cycle, m.Cycle.id == m.Goal.cycle_id)
                .outerjoin(m.KeyResult, m.KeyResult.goal_id == m.Goal.id)
                .where(m.Goal.id == _GOAL_ID).order_by(m.KeyResult.position))


def get_goal(uow: GoalsUnitOfWork, actor: Actor | None, command: c.GetGoal) -> c.GoalView:
    with uow:
        rows = uow.session.execute(GOAL_TO_READ, {"goal_id": command.goal_id}).all()
        if not rows:
            raise no_goal(command.goal_id)
        goal, visibility = rows[0][0], _Visibility(rows[0][1])
        require_read(uow, actor, GoalRef.of(goal), visibility, missing=no_goal(goal.id))
        key_results = [row[2] for row in rows if row[2] is not None]
        segments = uow.goals.segments([goal.id]).get(goal.id, ()) if goal.schedule == "milestones" else ()
        return goal_view(goal, key_results, segments)


def list_goal_changes(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListGoalChanges) -> c.GoalChangeList:
    """The change trail of a goal, newest first: readable by everyone who reads the goal."""
    before = decode_cursor(command.cursor)
    if before is not None and not isinstance(before[0], int):
        raise InvalidInput.field("cursor", "is not a cursor this list gave")
    with uow:
        goal = load_goal(uow, command.goal_id)
        require_read(uow, actor, GoalRef.of(goal), uow.cycles.get(goal.cycle_id), missing=no_goal(goal.id))
        stmt = select(m.GoalChange).where(m.GoalChange.goal_id == goal.id)
        if before is not None:
            stmt = stmt.where(m.GoalChange.id < before[0])
        rows = list(uow.session.scalars(stmt.order_by(m.GoalChange.id.desc()).limit(command.limit + 1)))
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        return c.GoalChangeList(items=[change_view(r) for r in rows],
                                next_cursor=encode_cursor(rows[-1].id) if more else None)


def list_goals(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListGoals) -> c.GoalList:
    after = decode_cursor(command.cursor)
    owner = command.owner_id or (actor.subject if actor is not None else None)
    if owner is None:
        raise InvalidInput.field("owner_id", "give the owner whose goals to list")
    with uow:
        cycle = load_cycle(uow, command.cycle_id)
        goals = uow.goals.page_of_owner(command.cycle_id, owner, after[0] if after else None, command.limit + 1)
        more = len(goals) > command.limit
        goals = goals[:command.limit]
        if goals:
            require_read(uow, actor, GoalRef.of(goals[0]), cycle)  # one owner: one decision for the page
        else:
            require_read(uow, actor, person_resource(owner), cycle)
        return c.GoalList(items=goal_views(uow, goals), next_cursor=encode_cursor(goals[-1].id) if more else None)


def get_goal_tree(uow: GoalsUnitOfWork, actor: Actor | None, command: c.GetGoalTree) -> c.GoalTree:
    with uow:
        root = load_goal(uow, command.goal_id)
        require_read(uow, actor, GoalRef.of(root), uow.cycles.get(root.cycle_id), missing=no_goal(root.id))
        ancestors = uow.goals.parent_chain(root.parent_id)
        below = uow.goals.subtree(root.id, command.depth)
        depth = {root.id: 0}
        for goal in below:  # parents first; every goal below the root has its parent among them
            if goal.parent_id is not None:
                depth[goal.id] = depth[goal.parent_id] + 1

        def node(goal: m.Goal, level: int) -> c.GoalNode:
            if read_level(uow, actor, GoalRef.of(goal), uow.cycles.get(goal.cycle_id)) is None:
                return c.GoalNode(id=goal.id, parent_id=goal.parent_id, depth=level, readable=False)
            return c.GoalNode(id=goal.id, parent_id=goal.parent_id, depth=level, readable=True, title=goal.title,
                              owner=c.OwnerRef(kind=goal.owner_kind, id=goal.owner_id), kind=goal.kind,
                              weight=goal.weight, progress=goal.progress, colour=goal.colour)

        return c.GoalTree(root_id=root.id,
                          ancestors=[node(g, -(i + 1)) for i, g in enumerate(ancestors)],
                          nodes=[node(root, 0), *(node(g, depth[g.id]) for g in below)])


def set_weights(uow: GoalsUnitOfWork, actor: Actor | None, command: c.SetWeights) -> c.WeightsView:
    with uow:
        cycle = load_cycle(uow, command.cycle_id)
        require(uow, actor, "goal.update", person_resource(command.person_id))
        allow(cycle, Change.DEFINE)
        goals = {g.id: g for g in uow.goals.person_goals(cycle.id, command.person_id, lock=True)}
        unknown = sorted(set(command.weights) - set(goals))
        if unknown:
            raise InvalidInput(f"weights.{unknown[0]}: not a goal of {command.person_id} in this cycle",
                               errors=[{"field": f"weights.{g}", "message": "not a goal of this person in this cycle"}
                                       for g in unknown])
        missing = sorted(set(goals) - set(command.weights))
        if missing:
            raise Unprocessable(f"every goal of the person needs a weight; missing {', '.join(missing)}",
                                errors=[{"field": f"weights.{g}", "message": "missing"} for g in missing])
        check_weights(command.weights)
        for goal_id, weight in sorted(command.weights.items()):
            goal = goals[goal_id]
            if goal.weight != weight:
                record_change(uow, goal, actor_id(uow, actor),
                              {"weight": {"before": str(goal.weight), "after": str(weight)}}, source="weights")
                goal.weight = weight
                touch(goal, uow)
        parents = {g.parent_id for g in goals.values() if g.parent_id is not None}
        settled = [a for parent in sorted(parents) for a in roll_up(uow, parent)]
        reassess(uow, settled)
        total = sum(command.weights.values(), Decimal(0))
        return c.WeightsView(cycle_id=cycle.id, person_id=command.person_id, weights=command.weights, total=total)
