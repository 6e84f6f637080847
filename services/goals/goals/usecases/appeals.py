"""Appeals decided by compliance: an "amended" decision against a goal result changes the goal (its KPI target or
measured value, its key results' targets or values), with the appeal's reason in the goal's change trail.

Nothing arriving over the broker is trusted: the goal must exist and be the appellant's, the amendment must fit
the goal; otherwise nothing changes and `appeal.not_applied` says why. Redelivery is harmless (the inbox)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from chassis.errors import ServiceError
from contracts import goals as c
from contracts.compliance import AppealDecided
from contracts.envelope import Envelope
from goals import models as m
from goals.domain.errors import DomainError
from goals.repositories import GoalsUnitOfWork
from goals.rules import AMOUNT_QUANTUM, check_kpi, kpi_band, kpi_of, scaled_thresholds
from goals.usecases.common import payload_of, reassess, recompute, record_change, roll_up, touch
from goals.usecases.progress import _apply

log = logging.getLogger(__name__)

GOAL_RESULT = "goal_result"
SERVICE = "goals"


class NotApplicable(Exception):
    pass


def apply_appeal_decision(uow: GoalsUnitOfWork, envelope: Envelope) -> None:
    decided = payload_of(envelope, AppealDecided)
    with uow:  # the inbox records the event as handled, applied or not
        if decided.outcome != "amended" or decided.owning_service != SERVICE or decided.target_kind != GOAL_RESULT:
            return
        try:
            _amend(uow, decided)
        except NotApplicable as why:
            log.warning("appeal %s not applied to goal %s: %s", decided.appeal_id, decided.target_ref, why)
            uow.publish(c.AppealNotApplied(appeal_id=decided.appeal_id, target_ref=decided.target_ref,
                                           reason=str(why)))


def _amend(uow: GoalsUnitOfWork, decided: AppealDecided) -> None:
    try:
        amendment = c.AppealAmendment.model_validate(decided.amendment or {})
    except ValidationError as error:
        first = error.errors()[0]
        raise NotApplicable(f"amendment.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if not amendment.model_fields_set:
        raise NotApplicable("the amendment names nothing to change")
    goal = uow.goals.get(decided.target_ref, lock=True)
    if goal is None:
        raise NotApplicable("no such goal")
    if decided.appellant not in (goal.responsible_id, goal.owner_id):
        raise NotApplicable("the goal is not the appellant's")
    krs = uow.goals.key_results([goal.id]).get(goal.id, [])
    changes = _check(goal, krs, amendment)
    reason = f"appeal {decided.appeal_id} amended: {decided.reason}"
    trail: dict[str, Any] = {}
    by_id = {kr.id: kr for kr in krs}
    if amendment.target is not None:
        target, (green, yellow) = changes["target"], changes["bands"]
        trail["target"] = {"before": _s(goal.target), "after": _s(target)}
        goal.target, goal.green, goal.yellow = target, green, yellow
        goal.kpi_band = kpi_band(goal)
    for kr_id, kr_target in sorted((amendment.key_result_targets or {}).items()):
        kr_target = kr_target.quantize(AMOUNT_QUANTUM)
        trail[f"key_results.{kr_id}.target"] = {"before": _s(by_id[kr_id].target), "after": _s(kr_target)}
        by_id[kr_id].target = kr_target
    # corrected measurements go through the progress history like any other value, by the deciding HR
    if amendment.actual is not None:
        trail["actual"] = {"before": _s(goal.actual), "after": _s(amendment.actual.quantize(AMOUNT_QUANTUM))}
        _apply(uow, goal, None, amendment.actual, reason, None, decided.decided_by)
    for kr_id, value in sorted((amendment.key_result_values or {}).items()):
        trail[f"key_results.{kr_id}.current"] = {"before": _s(by_id[kr_id].current),
                                                  "after": _s(value.quantize(AMOUNT_QUANTUM))}
        _apply(uow, goal, kr_id, value, reason, None, decided.decided_by)
    touch(goal, uow)
    recompute(uow, goal)
    reassess(uow, [goal, *roll_up(uow, goal.parent_id)])
    record_change(uow, goal, decided.decided_by, trail, source="appeal", reason=reason,
                  via_appeal_id=decided.appeal_id)


def _check(goal: m.Goal, krs: Sequence[m.KeyResult], amendment: c.AppealAmendment) -> dict[str, Any]:
    """Everything the amendment asks, checked against the goal before anything changes."""
    checked: dict[str, Any] = {}
    kpi = goal.kind == "kpi"
    if not kpi and (amendment.target is not None or amendment.actual is not None):
        raise NotApplicable("an OKR goal's targets and values are its key results'")
    if kpi and (amendment.key_result_targets or amendment.key_result_values):
        raise NotApplicable("a KPI goal has no key results")
    if goal.computed and amendment.actual is not None:
        raise NotApplicable("the goal is computed by its formula: amend the values it reads")
    ids = {kr.id for kr in krs}
    unknown = sorted(set(amendment.key_result_targets or {}) | set(amendment.key_result_values or {}) - ids)
    if unknown:
        raise NotApplicable(f"{unknown[0]} is not a key result of the goal")
    try:
        if amendment.target is not None:
            target = amendment.target.quantize(AMOUNT_QUANTUM)
            green, yellow = scaled_thresholds(goal, target, field="amendment.target")
            check_kpi(kpi_of(goal).direction, target, green, yellow, field="amendment.target")
            checked["target"], checked["bands"] = target, (green, yellow)
    except (DomainError, ServiceError) as error:
        raise NotApplicable(str(error)) from None
    return checked


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
