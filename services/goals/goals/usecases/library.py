"""Assessment models: the indicator library (with versioned formulas), job-family templates, industry presets
installed as data, custom field values, assigning a template to many people at once, and score cards."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from chassis.errors import Conflict, InvalidInput, NotFound, Unprocessable
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, ManyPeople, person_resource, require
from goals.domain import formula as formulas
from goals.domain import templates as t
from goals.domain.cycles import Change
from goals.domain.errors import DomainError, FormulaError
from goals.domain.presets import load_preset, preset_codes
from goals.domain.status import Schedule, schedule_status
from goals.domain.weights import check_weights_so_far
from goals.repositories import GoalsUnitOfWork, insert_by_shape, table_of
from goals.rules import build_schedule, kpi_of
from goals.usecases.common import (
    SWEPT_STATES,
    RedGoal,
    Versioned,
    allow,
    check_version,
    load_cycle,
    load_goal,
    no_goal,
    person_id,
    reassess,
    roll_up,
    settle_colours,
    today,
)
from goals.usecases.progress import _pinned_formulas, recompute_formulas
from goals.views import decode_cursor, encode_cursor, indicator_view, template_view

# -- the library as domain objects ---------------------------------------------------------------------------------

def _indicator_data(row: m.Indicator, formula: str | None) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "kind": row.kind, "direction": row.direction, "unit": row.unit,
            "cumulative": row.cumulative,
            "target": row.target, "green": row.green, "yellow": row.yellow, "scoring": row.scoring,
            "formula": formula if row.has_formula else None, "description": row.description}


def library_of(uow: GoalsUnitOfWork, codes: Sequence[str], cycle: m.Cycle | None = None) -> dict[str, t.Indicator]:
    """Domain indicators by code; formula indicators carry the version `cycle` keeps (else the latest)."""
    rows = uow.library.indicators(codes)
    formula_codes = [code for code, row in rows.items() if row.has_formula]
    if cycle is not None:
        texts = _pinned_formulas(uow, cycle, formula_codes)
    else:
        texts = {code: versions[-1].text for code, versions in uow.library.formula_versions(formula_codes).items()}
    return {code: t.Indicator.model_validate(_indicator_data(row, texts.get(code))) for code, row in rows.items()}


def domain_template(row: m.Template) -> t.Template:
    return t.Template.model_validate({"code": row.code, "name": row.name, "job_family": row.job_family,
                                      "custom_fields": row.custom_fields, "items": row.items})


def _parse_formula(text: str, field: str = "formula") -> None:
    try:
        formulas.parse(text)
    except FormulaError as error:
        raise FormulaError(error.message, error.position, field=field) from None


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-able, with numbers in one canonical form (98 and 98.000000 alike) so that equal values compare equal."""
    return {k: (format(v.normalize(), "f") if isinstance(v, Decimal) else v) for k, v in values.items()}


# -- indicators and templates ----------------------------------------------------------------------------------------

def _check_saved_version(row: Versioned | None, expected_version: int | None, what: str) -> None:
    """Saving is create-or-replace; with `expected_version` it only replaces that version (409 otherwise)."""
    if expected_version is not None and row is None:
        raise Conflict(f"{what} does not exist, so it has no version {expected_version}",
                       errors=[{"field": "expected_version", "message": "nothing to replace: save without it"}])
    if row is not None:
        check_version(row, expected_version)


def _save_indicator(uow: GoalsUnitOfWork, actor: Actor | None, data: dict[str, Any], preset: str | None,
                    expected_version: int | None = None) -> c.IndicatorView:
    if data.get("formula") is not None:
        _parse_formula(data["formula"])
    indicator = t.Indicator.model_validate(data)
    row = uow.library.indicator(indicator.code, lock=True)
    _check_saved_version(row, expected_version, f"indicator {indicator.code}")
    versions = uow.library.formula_versions([indicator.code]).get(indicator.code, [])
    before = None
    now = uow.now()
    values = {"name": indicator.name, "kind": indicator.kind.value, "direction": indicator.direction.value,
              "unit": indicator.unit, "cumulative": indicator.cumulative, "target": indicator.target,
              "green": indicator.green, "yellow": indicator.yellow,
              "scoring": indicator.scoring.model_dump(mode="json"),
              "has_formula": indicator.formula is not None, "description": indicator.description}
    if row is None:
        row = m.Indicator(code=indicator.code, preset=preset, created_at=now, updated_at=now, version=1, **values)
        uow.session.add(row)
        uow.session.flush()
    else:
        before = _json_values({**{k: getattr(row, k) for k in values},
                               "formula": versions[-1].text if versions and row.has_formula else None})
        if before != _json_values({**values, "formula": indicator.formula}):
            for key, value in values.items():
                setattr(row, key, value)
            row.version += 1
            row.updated_at = now
    if indicator.formula is not None and (not versions or versions[-1].text != indicator.formula):
        history = [formulas.FormulaVersion(v.indicator_code, v.version, v.text, v.created_at) for v in versions]
        version = formulas.next_version(history, indicator.code, indicator.formula, now)
        stored = m.FormulaVersion(indicator_code=indicator.code, version=version.version, text=version.text,
                                  created_by=actor.subject if actor else "service:goals", created_at=now)
        uow.session.add(stored)
        versions = [*versions, stored]
    after = _json_values({**values, "formula": indicator.formula})
    view = indicator_view(row, versions)
    if before != after:
        uow.publish(c.IndicatorSaved(code=row.code, before=before, after=after, formula_version=view.formula_version))
    return view


def save_indicator(uow: GoalsUnitOfWork, actor: Actor | None, command: c.SaveIndicator) -> c.IndicatorView:
    with uow:
        require(uow, actor, "company.manage")
        return _save_indicator(uow, actor, command.model_dump(mode="python", exclude={"expected_version"}), None,
                               command.expected_version)


def _save_template(uow: GoalsUnitOfWork, data: dict[str, Any], preset: str | None,
                   expected_version: int | None = None) -> c.TemplateView:
    template = t.Template.model_validate(data)
    library = library_of(uow, [item.indicator for item in template.items])
    t.validate_template(template, library)
    row = uow.library.template(template.code, lock=True)
    _check_saved_version(row, expected_version, f"template {template.code}")
    now = uow.now()
    values = {"name": template.name, "job_family": template.job_family,
              "custom_fields": list(template.custom_fields),
              "items": [item.model_dump(mode="json") for item in template.items]}
    before = None
    if row is None:
        row = m.Template(code=template.code, preset=preset, created_at=now, updated_at=now, version=1, **values)
        uow.session.add(row)
    else:
        before = {k: getattr(row, k) for k in values}
        if before != values:
            for key, value in values.items():
                setattr(row, key, value)
            row.version += 1
            row.updated_at = now
    if before != values:
        uow.publish(c.TemplateSaved(code=row.code, before=before, after=values))
    return template_view(row)


def save_template(uow: GoalsUnitOfWork, actor: Actor | None, command: c.SaveTemplate) -> c.TemplateView:
    with uow:
        require(uow, actor, "company.manage")
        return _save_template(uow, command.model_dump(mode="python", exclude={"expected_version"}), None,
                              command.expected_version)


def list_indicators(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListIndicators) -> c.IndicatorList:
    after = decode_cursor(command.cursor)
    with uow:
        rows = uow.library.indicator_page(after[0] if after else None, command.limit + 1)
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        versions = uow.library.formula_versions([r.code for r in rows])
        return c.IndicatorList(items=[indicator_view(r, versions.get(r.code, [])) for r in rows],
                               next_cursor=encode_cursor(rows[-1].code) if more else None)


def list_templates(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListTemplates) -> c.TemplateList:
    after = decode_cursor(command.cursor)
    with uow:
        rows = uow.library.template_page(command.job_family, after[0] if after else None, command.limit + 1)
    more = len(rows) > command.limit
    rows = rows[:command.limit]
    return c.TemplateList(items=[template_view(r) for r in rows],
                          next_cursor=encode_cursor(rows[-1].code) if more else None)


def list_presets(uow: GoalsUnitOfWork, actor: Actor | None) -> c.PresetList:
    items = []
    for code in preset_codes():
        preset = load_preset(code)
        items.append(c.PresetView(code=preset.code, name=preset.name, description=preset.description,
                                  indicators=[i.code for i in preset.indicators],
                                  templates=[x.code for x in preset.templates]))
    return c.PresetList(items=items)


def install_preset(uow: GoalsUnitOfWork, actor: Actor | None, command: c.InstallPreset) -> c.PresetView:
    preset = load_preset(command.code)
    with uow:
        require(uow, actor, "company.manage")
        for indicator in preset.indicators:
            _save_indicator(uow, actor, indicator.model_dump(mode="python"), preset.code)
        uow.session.flush()
        for template in preset.templates:
            _save_template(uow, template.model_dump(mode="python"), preset.code)
    return c.PresetView(code=preset.code, name=preset.name, description=preset.description,
                        indicators=[i.code for i in preset.indicators], templates=[x.code for x in preset.templates])


# -- formulas and custom fields ------------------------------------------------------------------------------------

def check_formula(command: c.CheckFormula) -> c.FormulaCheck:
    parsed = formulas.parse(command.formula)
    result = formulas.check(parsed, set(command.variables), expect=None)
    return c.FormulaCheck(ok=True, result_type=result.value, variables=sorted(parsed.variables))


def set_custom_fields(uow: GoalsUnitOfWork, actor: Actor | None, command: c.SetCustomFields) -> c.CustomFieldsView:
    with uow:
        cycle = load_cycle(uow, command.cycle_id)
        allow(cycle, Change.PROGRESS if cycle.state != "draft" else Change.DEFINE)
        if uow.access.index.person(command.person_id) is None:
            raise InvalidInput.field("person_id", "no such person in the directory")
        require(uow, actor, "people.configure", person_resource(command.person_id))
        _check_declared(uow, cycle.id, command.person_id, command.values)
        stored = uow.library.custom_values(cycle.id, command.person_id, lock=True)
        before = {name: row.value for name, row in stored.items()}
        for name, value in sorted(command.values.items()):
            row = stored.get(name)
            if row is None:
                uow.session.add(m.CustomFieldValue(cycle_id=cycle.id, person_id=command.person_id, field=name,
                                                   value=value, updated_at=uow.now()))
            else:
                row.value, row.updated_at = value, uow.now()
        after = {**before, **command.values}
        recomputed: list[str] = []
        if after != before:
            uow.session.flush()
            uow.publish(c.CustomFieldsSet(cycle_id=cycle.id, person_id=command.person_id, before=before, after=after))
            templates = uow.session.scalars(select(m.Goal.template_code).where(
                m.Goal.cycle_id == cycle.id, m.Goal.owner_id == command.person_id, m.Goal.computed.is_(True))
                .distinct()).all()
            for code in sorted(code for code in templates if code is not None):
                recomputed += recompute_formulas(uow, cycle.id, command.person_id, code, list(command.values))
        return c.CustomFieldsView(cycle_id=cycle.id, person_id=command.person_id, values=after,
                                  recomputed_goal_ids=recomputed)


def _check_declared(uow: GoalsUnitOfWork, cycle_id: str, person_id: str, values: Mapping[str, Any]) -> None:
    """Only the custom fields the person's templates (in this cycle) declare may be set: 400 naming the field."""
    codes = [code for code in uow.session.scalars(select(m.Goal.template_code).where(
        m.Goal.cycle_id == cycle_id, m.Goal.owner_kind == "person", m.Goal.owner_id == person_id,
        m.Goal.template_code.is_not(None)).distinct()) if code is not None]
    declared = {name for code in codes if (row := uow.library.template(code)) is not None
                for name in row.custom_fields or []}
    stray = sorted(set(values) - declared)
    if stray:
        why = (f"not a custom field of the person's template ({', '.join(sorted(codes))})" if codes
               else "the person has no template in this cycle that declares custom fields")
        raise InvalidInput(f"values.{stray[0]}: {why}",
                           errors=[{"field": f"values.{name}", "message": why} for name in stray])


# -- assigning a template ------------------------------------------------------------------------------------------

def _template_with_library(uow: GoalsUnitOfWork, code: str,
                           cycle: m.Cycle) -> tuple[t.Template, dict[str, t.Indicator]]:
    """A stored template (404 naming `template_code` when there is none) and the indicators it uses, as the
    cycle sees them."""
    row = uow.library.template(code)
    if row is None:
        raise NotFound(f"no template {code}", errors=[{"field": "template_code", "message": "no such template"}])
    template = domain_template(row)
    return template, library_of(uow, [item.indicator for item in template.items], cycle)


def _error_items(error: DomainError) -> list[c.ErrorItem]:
    return [c.ErrorItem(field=error.field or "person_id", message=error.message)]


def assign_template(uow: GoalsUnitOfWork, actor: Actor | None, command: c.AssignTemplate) -> c.AssignmentResult:
    """Instantiate a template for every assignee in one transaction; a person who cannot get it (outside the
    actor's reach, not in the directory, already assigned, weights already taken) is reported, not fatal.
    One template.assigned event per person lists the goals created for them."""
    with uow:
        cycle = load_cycle(uow, command.cycle_id)
        allow(cycle, Change.DEFINE)
        template, library = _template_with_library(uow, command.template_code, cycle)
        parent = None
        if command.parent_goal_id is not None:
            parent = load_goal(uow, command.parent_goal_id, lock=True, field="parent_goal_id")
            require(uow, actor, "goal.read", GoalRef.of(parent), missing=no_goal(parent.id, "parent_goal_id"))
        outcomes = t.instantiate_all(template, library, [t.Assignee(a.person_id, a.targets)
                                                         for a in command.assignees])
        people = [o.person_id for o in outcomes if o.ok]
        taken = _weights_taken(uow, cycle.id, people, template.code)
        index = uow.access.index
        schedule = build_schedule(cycle.starts_on, cycle.ends_on)
        # a draft cycle's schedule has not started: its goals are coloured when it opens
        start_colour = _starting_colour(cycle, schedule, today(uow)) if cycle.state in SWEPT_STATES else "green"
        now = uow.now()
        scoring = {item.indicator: library[item.indicator].scoring.model_dump(mode="json") for item in template.items}
        access = ManyPeople(uow, actor, "goal.create")
        creator = person_id(actor)
        # set-wise: the goals as a few kinds of goal (a template item with its target: `shapes`) and, per goal, its
        # id, owner and unit; one INSERT ... SELECT each for goals and key results (repositories.insert_by_shape)
        shapes: list[dict[str, Any]] = []
        shape_at: dict[tuple[int, Decimal], int] = {}
        goal_ids: list[str] = []
        owners: list[str] = []
        units: list[str | None] = []
        shape_of: list[int] = []
        events: list[c.TemplateAssigned] = []
        results: list[c.AssignmentOutcome] = []
        for outcome in outcomes:
            person = index.person(outcome.person_id)
            errors: list[c.ErrorItem] = []
            if outcome.error is not None:
                errors = _error_items(outcome.error)
            elif person is None:
                errors = [c.ErrorItem(field="person_id", message="no such person in the directory")]
            else:
                allowed, reason = access.decide(outcome.person_id)
                if not allowed:
                    uow.record_denial(actor, "goal.create", person_resource(outcome.person_id), reason)
                    errors = [c.ErrorItem(field="person_id", message=reason)]
                elif outcome.person_id in taken:
                    errors = [c.ErrorItem(field="person_id", message=taken[outcome.person_id])]
            if errors or person is None:
                results.append(c.AssignmentOutcome(person_id=outcome.person_id, ok=False, errors=errors))
                continue
            created: list[c.AssignedGoal] = []
            for position, draft in enumerate(outcome.drafts):
                # an item's draft differs between people only by its target (thresholds follow from it)
                key = (position, draft.target)
                shape = shape_at.get(key)
                if shape is None:
                    shape = shape_at[key] = len(shapes)
                    shapes.append(_draft_shape(draft, scoring[draft.indicator_code]))
                goal_id = new_id()
                goal_ids.append(goal_id)
                owners.append(outcome.person_id)
                units.append(person.org_unit_id)
                shape_of.append(shape)
                created.append(c.AssignedGoal(goal_id=goal_id, title=draft.title, kind=draft.kind.value,
                                              weight=draft.weight, target=draft.target, unit=draft.unit,
                                              indicator_code=draft.indicator_code))
            events.append(c.TemplateAssigned(
                person_id=outcome.person_id, cycle_id=cycle.id, template_code=template.code,
                org_unit_id=person.org_unit_id, parent_id=parent.id if parent else None, start_on=cycle.starts_on,
                due_on=cycle.ends_on, goals=created))
            results.append(c.AssignmentOutcome(person_id=outcome.person_id, ok=True,
                                               goal_ids=[g.goal_id for g in created]))
        insert_by_shape(uow.session, table_of(m.Goal), {"id": goal_ids, "owner_id": owners, "responsible_id": owners,
                                                         "org_unit_id": units}, shape_of, shapes, {
            "cycle_id": cycle.id, "parent_id": parent.id if parent else None, "owner_kind": "person",
            "description": "", "start_on": cycle.starts_on, "due_on": cycle.ends_on, "schedule": "linear",
            "actual": None, "kpi_band": None, "own_progress": Decimal(0), "progress": Decimal(0), "confidence": None,
            "colour": start_colour, "colour_since": now.date(), "resources_needed": [], "template_code": template.code,
            "anonymized_at": None, "created_by": creator, "created_at": now, "updated_at": now, "version": 1})
        # an OKR item's goal is an objective with one key result from 0 to its target
        okr = [i for i, k in enumerate(shape_of) if shapes[k]["kind"] == "okr"]
        insert_by_shape(uow.session, table_of(m.KeyResult),
                        {"id": [new_id() for _ in okr], "goal_id": [goal_ids[i] for i in okr]},
                        [shape_of[i] for i in okr],
                        [{"title": s["title"], "target": s["_target"], "unit": s["unit"]} for s in shapes],
                        {"position": 0, "start_value": Decimal(0), "current": Decimal(0), "weight": Decimal(1)})
        uow.publish(*events)
        if goal_ids and start_colour == "red" and cycle.state in SWEPT_STATES:
            # goals assigned behind schedule are red from the start: each gets its review
            settle_colours(uow, [RedGoal(goal_id, cycle.id, owner, "person", owner, now.date())
                                 for goal_id, owner in zip(goal_ids, owners, strict=True)], [], today(uow))
        if parent is not None and goal_ids:
            reassess(uow, roll_up(uow, parent.id))
        succeeded = sum(1 for r in results if r.ok)
        return c.AssignmentResult(template_code=template.code, cycle_id=cycle.id, created=succeeded,
                                  failed=len(results) - succeeded, goals_created=len(goal_ids), results=results)


def _weights_taken(uow: GoalsUnitOfWork, cycle_id: str, people: Sequence[str], template_code: str) -> dict[str, str]:
    """People who cannot take a template's 100 weight points: why, by person."""
    found: dict[str, dict[str, Decimal]] = {}
    assigned: set[str] = set()
    for start in range(0, len(people), 5000):
        chunk = people[start:start + 5000]
        for row in uow.session.execute(select(m.Goal.owner_id, m.Goal.id, m.Goal.weight, m.Goal.template_code).where(
                m.Goal.cycle_id == cycle_id, m.Goal.owner_kind == "person", m.Goal.owner_id.in_(chunk))):
            found.setdefault(row.owner_id, {})[row.id] = row.weight
            if row.template_code == template_code:
                assigned.add(row.owner_id)
    taken = {}
    for person, weights in found.items():
        if person in assigned:
            taken[person] = f"already has template {template_code} in this cycle"
            continue
        try:
            check_weights_so_far(weights, adding=Decimal(100))
        except DomainError:
            total = sum(weights.values(), Decimal(0))
            taken[person] = f"already has goals weighing {total}; the template needs all 100"
    return taken


def _starting_colour(cycle: m.Cycle, schedule: Schedule, on: date) -> str:
    """The colour of a goal with no progress yet on the cycle's schedule."""
    return schedule_status(schedule, Decimal(0), on, cycle.red_after_weeks).colour.value


def _draft_shape(draft: t.GoalDraft, scoring: dict[str, Any]) -> dict[str, Any]:
    """The columns of a template's goal that come from its item and target (the same for everyone given them);
    `_target` is the key result's target of an OKR, not a goals column."""
    kpi = draft.kind.value == "kpi"
    thresholds = draft.thresholds
    return {
        "title": draft.title, "kind": draft.kind.value, "weight": draft.weight,
        "direction": draft.direction.value if kpi else None, "target": draft.target if kpi else None,
        "unit": draft.unit, "cumulative": kpi and draft.cumulative,
        "green": thresholds.green if kpi and thresholds else None,
        "yellow": thresholds.yellow if kpi and thresholds else None, "indicator_code": draft.indicator_code,
        "computed": draft.formula is not None, "scoring": scoring, "_target": draft.target,
    }


# -- score cards -----------------------------------------------------------------------------------------------------

def get_scorecard(uow: GoalsUnitOfWork, actor: Actor | None, command: c.GetScoreCard) -> c.ScoreCard:
    with uow:
        cycle = load_cycle(uow, command.cycle_id)
        require(uow, actor, "goal.read", person_resource(command.person_id))
        template, library = _template_with_library(uow, command.template_code, cycle)
        goals = list(uow.session.scalars(select(m.Goal).where(
            m.Goal.cycle_id == cycle.id, m.Goal.owner_id == command.person_id,
            m.Goal.template_code == template.code)))
        if not goals:
            raise NotFound(f"{command.person_id} has no goals from template {template.code} in this cycle",
                           errors=[{"field": "template_code", "message": "not assigned to this person"}])
        krs = uow.goals.key_results([g.id for g in goals])
        values: dict[str, Decimal] = {}
        targets: dict[str, Decimal] = {}
        for goal in goals:
            code = goal.indicator_code  # a template's goal is its indicator's
            if code is None:
                continue
            if goal.kind == "kpi":
                targets[code] = kpi_of(goal).target
                if goal.actual is not None and not goal.computed:
                    values[code] = goal.actual
            elif krs.get(goal.id):
                targets[code] = krs[goal.id][0].target
                values[code] = krs[goal.id][0].current
        fields = {name: v.value for name, v in uow.library.custom_values(cycle.id, command.person_id).items()}
        try:
            # a value not measured yet shows as missing (0 points): the manager still sees the rest of the card
            card = t.score_card(template, library, values, fields, targets, partial=True)
        except DomainError as error:
            raise Unprocessable(f"the score card cannot be computed yet: {error}",
                                errors=[{"field": error.field or "values", "message": error.message}]) from None
        return c.ScoreCard(cycle_id=cycle.id, person_id=command.person_id, template_code=template.code,
                           items=[c.ScoreItem(indicator=i.indicator_code, value=i.value, target=i.target,
                                              points=i.points, weight=i.weight, weighted_points=i.weighted_points,
                                              missing=i.missing)
                                  for i in card.items], total=card.total)
