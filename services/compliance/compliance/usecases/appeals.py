"""Appeals: an employee appeals a rating or a goal result → HR is notified (event) → HR reviews and decides
(uphold, or amend with the corrected values) within the deadline → the owning service applies the amendment
from `AppealDecided`. Every step is an event, so the whole trail is in the audit log."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from chassis.access import Resource
from chassis.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RpcTimeout,
    ServiceError,
    ServiceUnavailable,
    Unprocessable,
)
from chassis.ids import new_id
from chassis.remote import RpcCaller
from compliance.domain.appeals import (
    OPEN_STATES,
    Appeal,
    AppealDecision,
    AppealState,
    AppealTarget,
    AppealTargetKind,
    TargetFacts,
    amendment_changes,
    ensure_no_open_appeal,
    may_not_review,
    not_appealable,
)
from compliance.models import AppealRow
from compliance.repositories import ComplianceUnitOfWork
from compliance.usecases.common import acting, dumps, loads, person_actor
from compliance.usecases.settings import current as current_policy
from contracts.actor import Actor
from contracts.compliance import (
    OWNING_SERVICE,
    AmendmentChange,
    AppealDecided,
    AppealOverdue,
    AppealRef,
    AppealReviewStarted,
    AppealsPage,
    AppealSubmitted,
    AppealTargetFacts,
    AppealView,
    AppealWithdrawn,
    DecideAppeal,
    DescribeAppealTarget,
    ListAppeals,
    SubmitAppeal,
)
from contracts.goals import AppealAmendment

# -- what the owning service confirms about a target --------------------------------------------------------------

def _goal_facts(rpc: RpcCaller, ref: str, timeout: float) -> TargetFacts:
    goal = rpc.call("goals.get_goal", {"goal_id": ref}, timeout=timeout)
    owner = goal.get("owner") or {}
    kpi = goal.get("kpi") or {}
    key_results = goal.get("key_results") or []
    # the values an amendment may change (contracts.goals.AppealAmendment), as they stand: the changes' `before`
    current = {"target": kpi.get("target"), "actual": kpi.get("actual"),
               "key_result_targets": {kr["id"]: kr.get("target") for kr in key_results if "id" in kr},
               "key_result_values": {kr["id"]: kr.get("current") for kr in key_results if "id" in kr},
               "progress": goal.get("progress")}
    return TargetFacts(owner_id=owner.get("id") if owner.get("kind") == "person" else None,
                       responsible_id=goal.get("responsible_id"), org_unit_id=goal.get("org_unit_id"),
                       current=current)


TargetFactsReader = Callable[[RpcCaller, str, float], TargetFacts]


def _described_facts(service: str) -> TargetFactsReader:
    def facts(rpc: RpcCaller, ref: str, timeout: float) -> TargetFacts:
        answer = rpc.call(f"{service}.describe_appeal_target", DescribeAppealTarget(kind="rating", ref=ref)
                          .model_dump(mode="json"), timeout=timeout)
        found = AppealTargetFacts.model_validate(answer)
        return TargetFacts(found.owner_id, found.responsible_id, found.rated_by, found.org_unit_id, found.current)
    return facts


# target kind -> what an amended decision may change, as the owning service accepts it (checked when HR decides,
# so a wrong amendment is a 400 naming the field, not a silent `appeal.not_applied` later); a kind without one
# (rating, until feedback publishes its schema) is passed on as given
AMENDMENTS: dict[str, type[BaseModel]] = {"goal_result": AppealAmendment}


def check_amendment(kind: str, amendment: Mapping[str, Any] | None) -> None:
    schema = AMENDMENTS.get(kind)
    if schema is None or not amendment:
        return
    try:
        schema.model_validate(amendment)
    except ValidationError as error:
        errors = [{"field": ".".join(["amendment", *map(str, e["loc"])]), "message": e["msg"]}
                  for e in error.errors()]
        raise InvalidInput(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors) from None


# target kind -> how to ask its owning service (over RPC, as the appellant, with a timeout). A new kind adds a line.
TARGET_FACTS: dict[str, TargetFactsReader] = {
    "goal_result": _goal_facts,
    "rating": _described_facts(OWNING_SERVICE["rating"]),
}


def confirm_target(rpc: RpcCaller, kind: str, ref: str, timeout: float) -> TargetFacts | None:
    """The facts of the target from its owning service, None when it does not exist or the appellant may not
    read it. ServiceUnavailable when the service does not answer in time: an appeal is never accepted unchecked."""
    service = OWNING_SERVICE[kind]
    try:
        return TARGET_FACTS[kind](rpc, ref, timeout)
    except RpcTimeout:
        raise ServiceUnavailable(f"{service} did not confirm the {kind.replace('_', ' ')} within {timeout:g}s; "
                                 "try again shortly") from None
    except ServiceError as error:
        if error.status in (400, 403, 404):
            return None
        raise ServiceUnavailable(f"{service} could not confirm the {kind.replace('_', ' ')} ({error.status}); "
                                 "try again shortly") from None
    except (ValueError, TypeError, AttributeError):
        raise ServiceUnavailable(f"{service} answered with something that is not a target's facts") from None


def _domain(row: AppealRow) -> Appeal:
    decision = loads(row.decision)
    return Appeal(
        id=row.appeal_id, appellant=row.appellant,
        target=AppealTarget(AppealTargetKind(row.target_kind), row.target_ref), reasons=row.reasons,
        attachments=tuple(loads(row.attachments, [])), state=AppealState(row.state), submitted_at=row.submitted_at,
        due_at=row.due_at, reviewer=row.reviewer, review_started_at=row.review_started_at,
        decision=None if decision is None else AppealDecision(
            AppealState(decision["outcome"]), decision["reason"], decision["decided_by"],
            # a decided appeal is closed when decided (_store): closed_at is its decision's time
            row.closed_at or row.submitted_at, decision.get("amendment")),
    )


def _store(row: AppealRow, appeal: Appeal) -> None:
    row.state, row.reviewer, row.review_started_at = appeal.state.value, appeal.reviewer, appeal.review_started_at
    if appeal.decision is not None:
        d = appeal.decision
        row.decision = dumps({"outcome": d.outcome.value, "reason": d.reason, "decided_by": d.decided_by,
                              "amendment": d.amendment})
        row.closed_at = d.decided_at
    if appeal.withdrawn_at is not None:
        row.closed_at = appeal.withdrawn_at


def _view(row: AppealRow, now: datetime) -> AppealView:
    decision = loads(row.decision) or {}
    appeal = _domain(row)
    return AppealView(
        appeal_id=row.appeal_id, appellant=row.appellant, target_kind=row.target_kind, target_ref=row.target_ref,
        owning_service=OWNING_SERVICE[row.target_kind], reasons=row.reasons, attachments=loads(row.attachments, []),
        state=row.state, submitted_at=row.submitted_at, due_at=row.due_at, overdue=appeal.is_overdue(now),
        reviewer=row.reviewer, outcome_reason=decision.get("reason"), decided_by=decision.get("decided_by"),
        decided_at=row.closed_at if decision else None, amendment=decision.get("amendment"), rated_by=row.rated_by,
    )


def _resource(row: AppealRow) -> Resource:
    return Resource("appeal", owner=row.appellant, org_unit=row.org_unit_id)


def submit_appeal(uow: ComplianceUnitOfWork, actor: Actor | None, command: SubmitAppeal, rpc: RpcCaller | None = None,
                  checked_kinds: frozenset[str] | set[str] = frozenset(), timeout: float = 3.0) -> AppealView:
    """An appeal against the appellant's own result. For a kind in `checked_kinds` the owning service confirms,
    before anything is written, that the target exists and is the appellant's (asked as the appellant, outside
    the transaction); a missing target and a colleague's answer the same 422 naming `target_ref`."""
    target = AppealTarget(AppealTargetKind(command.target_kind), command.target_ref)
    facts: TargetFacts | None = None
    if command.target_kind in checked_kinds and actor is not None and actor.kind == "person":
        if rpc is None:
            raise ServiceUnavailable(f"{OWNING_SERVICE[command.target_kind]} cannot be asked to confirm the target")
        facts = confirm_target(rpc, command.target_kind, command.target_ref, timeout)
        refused = not_appealable(actor.subject, target, facts)
        if refused is not None:
            with uow:
                uow.record_denial(actor, "appeal.create", Resource("appeal", owner=actor.subject), refused)
            raise Unprocessable(refused, errors=[{"field": "target_ref", "message": refused}])
    with uow:
        me = person_actor(uow, actor, "appeal.create", Resource("appeal"))
        uow.access.require(me, "appeal.create", Resource("appeal", owner=me.subject))
        open_rows = uow.appeals.open_for(me.subject, command.target_ref)
        ensure_no_open_appeal([_domain(row) for row in open_rows], me.subject, target)
        now = uow.now()
        appeal = Appeal.submit(id=new_id(), appellant=me.subject, target=target, reasons=command.reasons,
                               attachments=command.attachments, at=now,
                               decision_days=current_policy(uow).appeal_decision_days)
        person = uow.people.get(me.subject)
        # who rated: as the owning service says, else the appellant's manager (who scores a goal's result)
        rated_by = facts.rated_by if facts is not None and facts.rated_by else (
            None if person is None else person.manager_id)
        row = AppealRow(appeal_id=appeal.id, appellant=appeal.appellant,
                        org_unit_id=None if person is None else person.org_unit_id,
                        target_kind=target.kind.value, target_ref=target.ref, reasons=appeal.reasons,
                        attachments=dumps(list(appeal.attachments)), state=appeal.state.value,
                        submitted_at=appeal.submitted_at, due_at=appeal.due_at, rated_by=rated_by,
                        target_snapshot=None if facts is None or facts.current is None else dumps(dict(facts.current)))
        uow.appeals.add(row)
        uow.publish(AppealSubmitted(appeal_id=row.appeal_id, appellant=row.appellant, org_unit_id=row.org_unit_id,
                                    target_kind=row.target_kind, target_ref=row.target_ref,
                                    owning_service=OWNING_SERVICE[row.target_kind], due_at=row.due_at))
        return _view(row, now)


def _missing(appeal_id: str) -> str:
    return f"no appeal {appeal_id!r}"


def _load(uow: ComplianceUnitOfWork, appeal_id: str, lock: bool = False) -> AppealRow:
    row = uow.appeals.get(appeal_id, lock=lock)
    if row is None:
        raise NotFound(_missing(appeal_id))
    return row


def _require(uow: ComplianceUnitOfWork, actor: Actor | None, action: str, row: AppealRow) -> Actor:
    """The action on this appeal. Who may not even read it gets the 404 of a missing appeal (a 403 would confirm
    that it exists); the appellant and HR in scope, who may read it, get the honest 403."""
    uow.access.require(actor, action, _resource(row), missing=_missing(row.appeal_id), visible_with="appeal.read")
    return acting(actor)


def get_appeal(uow: ComplianceUnitOfWork, actor: Actor | None, command: AppealRef) -> AppealView:
    with uow:
        row = _load(uow, command.appeal_id)
        _require(uow, actor, "appeal.read", row)
        return _view(row, uow.now())


def list_appeals(uow: ComplianceUnitOfWork, actor: Actor | None, command: ListAppeals) -> AppealsPage:
    """The appellant's own appeals, and those HR/HRBP may read; oldest deadline first within the page."""
    with uow:
        found = []
        for row in uow.appeals.scan(command.state, command.after):
            if uow.access.can(actor, "appeal.read", _resource(row)):
                found.append(_view(row, uow.now()))
                if len(found) > command.limit:
                    break
        page = found[:command.limit]
        more = len(found) > command.limit
        return AppealsPage(appeals=page, next_cursor=page[-1].appeal_id if more else None)


def start_review(uow: ComplianceUnitOfWork, actor: Actor | None, command: AppealRef) -> AppealView:
    with uow:
        row = _load(uow, command.appeal_id, lock=True)
        me = _require(uow, actor, "appeal.review", row)
        _refuse_rater(uow, me, row, "appeal.review")
        appeal = _domain(row).start_review(me.subject, uow.now())
        _store(row, appeal)
        uow.publish(AppealReviewStarted(appeal_id=row.appeal_id, appellant=row.appellant, reviewer=me.subject))
        return _view(row, uow.now())


def decide_appeal(uow: ComplianceUnitOfWork, actor: Actor | None, command: DecideAppeal) -> AppealView:
    with uow:
        row = _load(uow, command.appeal_id, lock=True)
        me = _require(uow, actor, "appeal.decide", row)
        _refuse_rater(uow, me, row, "appeal.decide")
        now = uow.now()
        appeal = _domain(row)
        if appeal.state == AppealState.SUBMITTED:  # deciding at once implies the review
            appeal = appeal.start_review(me.subject, now)
        if command.outcome == "amended":
            check_amendment(row.target_kind, command.amendment)
        appeal = appeal.decide(AppealState(command.outcome), command.reason, by=me.subject, at=now,
                               amendment=command.amendment)
        _store(row, appeal)
        d = appeal.decision
        if d is None:  # decide() always records the decision
            raise RuntimeError(f"appeal {row.appeal_id} decided without a decision")
        changes = amendment_changes(d.amendment, loads(row.target_snapshot))
        uow.publish(AppealDecided(
            appeal_id=row.appeal_id, appellant=row.appellant, outcome=d.outcome.value, reason=d.reason,
            target_kind=row.target_kind, target_ref=row.target_ref, owning_service=OWNING_SERVICE[row.target_kind],
            amendment=None if d.amendment is None else dict(d.amendment), decided_by=d.decided_by,
            target_id=row.target_ref, changes=[AmendmentChange(**change) for change in changes],
            org_unit_id=row.org_unit_id, decided_at=d.decided_at))
        return _view(row, now)


def _refuse_rater(uow: ComplianceUnitOfWork, actor: Actor, row: AppealRow, action: str) -> None:
    refused = may_not_review(actor.subject, row.appellant, row.rated_by)
    if refused is not None:
        uow.record_denial(actor, action, _resource(row), refused)
        raise Forbidden(refused)


def notify_overdue(uow: ComplianceUnitOfWork, batch: int = 500) -> int:
    """The deadline sweep: tell HR, once per appeal, that an open appeal is past its deadline (AppealOverdue).
    Returns how many were notified."""
    with uow:
        now = uow.now()
        rows = uow.appeals.overdue([state.value for state in OPEN_STATES], now, batch)
        late = [row for row in rows if _domain(row).is_overdue(now)]
        for row in late:
            row.overdue_notified_at = now
            uow.publish(AppealOverdue(appeal_id=row.appeal_id, appellant=row.appellant, org_unit_id=row.org_unit_id,
                                      state=row.state, reviewer=row.reviewer, due_at=row.due_at,
                                      owning_service=OWNING_SERVICE[row.target_kind]))
    return len(late)


def withdraw_appeal(uow: ComplianceUnitOfWork, actor: Actor | None, command: AppealRef) -> AppealView:
    with uow:
        row = _load(uow, command.appeal_id, lock=True)
        me = _require(uow, actor, "appeal.withdraw", row)
        appeal = _domain(row).withdraw(me.subject, uow.now())
        _store(row, appeal)
        uow.publish(AppealWithdrawn(appeal_id=row.appeal_id, appellant=row.appellant))
        return _view(row, uow.now())
