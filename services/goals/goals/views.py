"""Stored rows as contract views (what the RPCs answer), and the opaque cursors of paged lists."""
from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from chassis.errors import InvalidInput
from contracts import goals as c
from goals import models as m
from goals.domain.progress import kr_progress
from goals.rules import milestones_of, stored_progress

_SCALES = {"amount": Decimal("0.000001"), "weight": Decimal("0.01"), "fraction": Decimal("1e-9"),
           "confidence": Decimal("0.001"), "kr_weight": Decimal("0.0001")}


def _n(value: Decimal | None, scale: str) -> Decimal | None:
    """A number as its column stores it, whether it was just written or read back (12 -> 12.000000)."""
    return None if value is None else Decimal(value).quantize(_SCALES[scale])


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, arity: int = 1) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InvalidInput.field("cursor", "is not a cursor this list gave") from None
    if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, (str, int)) for v in values):
        raise InvalidInput.field("cursor", "is not a cursor this list gave")
    return values


def cycle_view(cycle: m.Cycle) -> c.CycleView:
    return c.CycleView(id=cycle.id, name=cycle.name, period=cycle.period, starts_on=cycle.starts_on,
                       ends_on=cycle.ends_on, state=cycle.state, red_after_weeks=cycle.red_after_weeks,
                       visibility=cycle.visibility or "company", opened_at=cycle.opened_at, version=cycle.version)


def key_result_view(kr: m.KeyResult) -> c.KeyResultView:
    return c.KeyResultView(id=kr.id, title=kr.title, start=_n(kr.start_value, "amount"),
                           target=_n(kr.target, "amount"), current=_n(kr.current, "amount"), unit=kr.unit,
                           weight=_n(kr.weight, "kr_weight"),
                           progress=stored_progress(kr_progress(kr.start_value, kr.target, kr.current)))


def goal_view(goal: m.Goal, key_results: Sequence[m.KeyResult] = (),
              segments: Sequence[m.ScheduleSegment] = ()) -> c.GoalView:
    kpi = None
    if goal.kind == "kpi":
        kpi = c.KpiView(direction=goal.direction, target=_n(goal.target, "amount"), unit=goal.unit,
                        green=_n(goal.green, "amount"), yellow=_n(goal.yellow, "amount"),
                        actual=_n(goal.actual, "amount"), cumulative=goal.cumulative)
    return c.GoalView(
        id=goal.id, cycle_id=goal.cycle_id, parent_id=goal.parent_id,
        owner=c.OwnerRef(kind=goal.owner_kind, id=goal.owner_id), responsible_id=goal.responsible_id,
        org_unit_id=goal.org_unit_id, title=goal.title, description=goal.description, kind=goal.kind,
        weight=_n(goal.weight, "weight"), start_on=goal.start_on, due_on=goal.due_on,
        milestones=[c.MilestoneView(on=on, fraction=_n(fraction, "fraction"))
                    for on, fraction in milestones_of(goal, segments)],
        key_results=[key_result_view(kr) for kr in key_results], kpi=kpi,
        own_progress=_n(goal.own_progress, "fraction"), progress=_n(goal.progress, "fraction"),
        confidence=_n(goal.confidence, "confidence"), colour=goal.colour,
        colour_since=goal.colour_since, resources_needed=list(goal.resources_needed or []),
        indicator_code=goal.indicator_code, template_code=goal.template_code, version=goal.version,
        created_at=goal.created_at, updated_at=goal.updated_at,
    )


def goal_views(uow, goals: Sequence[m.Goal]) -> list[c.GoalView]:
    ids = [g.id for g in goals]
    krs = uow.goals.key_results(ids)
    segments = uow.goals.segments([g.id for g in goals if g.schedule == "milestones"])
    return [goal_view(g, krs.get(g.id, ()), segments.get(g.id, ())) for g in goals]


def headline_target(goal: m.Goal, key_results: Sequence[m.KeyResult]) -> Decimal | None:
    """The KPI's target, or the only key result's target (what allocation and events call 'the target')."""
    if goal.kind == "kpi":
        return goal.target
    return key_results[0].target if len(key_results) == 1 else None


def progress_view(update: m.ProgressUpdate, *, full: bool = True) -> c.ProgressUpdateView:
    """`full`: the reader is in the owner's line (or HR); others do not read a private comment."""
    comment = update.comment if full or not update.private else ""
    return c.ProgressUpdateView(id=update.id, goal_id=update.goal_id, key_result_id=update.key_result_id,
                                actor_id=update.actor_id, at=update.at,
                                before_value=_n(update.before_value, "amount"),
                                after_value=_n(update.after_value, "amount"),
                                before_progress=_n(update.before_progress, "fraction"),
                                after_progress=_n(update.after_progress, "fraction"), comment=comment,
                                confidence=_n(update.confidence, "confidence"), private=bool(update.private))


def change_view(row: m.GoalChange) -> c.GoalChangeView:
    return c.GoalChangeView(id=row.id, goal_id=row.goal_id, at=row.at, actor_id=row.actor_id, source=row.source,
                            changes=row.changes, reason=row.reason)


def review_view(review: m.Review) -> c.ReviewView:
    return c.ReviewView(id=review.id, goal_id=review.goal_id, cycle_id=review.cycle_id, owner_id=review.owner_id,
                        manager_id=review.manager_id, opened_on=review.opened_on, reason=review.reason,
                        state=review.state, summary=review.summary, completed_by=review.completed_by,
                        completed_at=review.completed_at, red_since=review.red_since)


def commitment_view(commitment: m.Commitment, history: Sequence[m.CommitmentChange]) -> c.CommitmentView:
    return c.CommitmentView(
        id=commitment.id, goal_id=commitment.goal_id, kind=commitment.kind, description=commitment.description,
        amount=_n(commitment.amount, "amount"), currency=commitment.currency,
        from_org_unit_id=commitment.from_org_unit_id,
        provider_id=commitment.provider_id, due_on=commitment.due_on, state=commitment.state,
        history=[c.CommitmentChangeView(before=h.before, after=h.after, actor_id=h.actor_id, at=h.at, note=h.note)
                 for h in history],
        version=commitment.version,
    )


def indicator_view(indicator: m.Indicator, versions: Sequence[m.FormulaVersion]) -> c.IndicatorView:
    latest = versions[-1] if versions else None
    return c.IndicatorView(
        code=indicator.code, name=indicator.name, kind=indicator.kind, direction=indicator.direction,
        unit=indicator.unit, cumulative=indicator.cumulative, target=indicator.target, green=indicator.green,
        yellow=indicator.yellow,
        scoring=c.ScoringRule.model_validate(indicator.scoring),
        formula=latest.text if latest is not None and indicator.has_formula else None,
        formula_version=latest.version if latest is not None and indicator.has_formula else None,
        description=indicator.description, version=indicator.version,
    )


def template_view(template: m.Template) -> c.TemplateView:
    return c.TemplateView(code=template.code, name=template.name, job_family=template.job_family,
                          custom_fields=list(template.custom_fields),
                          items=[c.TemplateItem.model_validate(item) for item in template.items],
                          version=template.version)
