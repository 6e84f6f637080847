"""Who is told about which event: one table, keyed by event type name, easy to extend.

A route names the notification `kind` (what templates are keyed by), its priority (high: inbox, email and SMS;
normal: inbox and email; low: inbox and the daily email digest), who receives it (resolved from the org read
model through a `Directory`), and the allow-list of event fields a template may show. Nothing else of the event
reaches a message: ratings, pay, amendments and free text never appear in an allow-list (FORBIDDEN_FIELDS).

Feedback and incentives events join by adding rows here (their type names), nothing else.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

Priority = Literal["high", "normal", "low"]

# Never shown in an email or SMS, whatever a template says (and never in a route's allow-list: a test checks).
FORBIDDEN_FIELDS = frozenset({
    "rating", "ratings", "score", "scores", "grade", "pay", "salary", "bonus", "amount", "points", "amendment",
    "reason", "reasons", "comment", "summary", "rationale", "progress", "changes", "applied", "outcome_reason",
    "label", "components", "total", "box", "performance", "potential", "track", "rating_label", "averages",
})


class Directory(Protocol):
    """What recipient resolution needs from the org read model."""

    def is_active(self, person_id: str) -> bool: ...

    def manager_of(self, person_id: str) -> str | None: ...

    def unit_of(self, person_id: str) -> str | None: ...

    def hr_for_unit(self, unit_id: str) -> list[str]: ...

    def admins(self) -> list[str]: ...


RecipientHow = Literal["person", "manager_of", "hr_of_person", "hr_of_unit", "pick", "admins"]


@dataclass(frozen=True)
class Recipient:
    """`person`: the id in `field`; `manager_of`: that person's manager; `hr_of_person` / `hr_of_unit`: the HR
    closest to the person's unit or to the unit in `field`; `pick`: the id in the field that `choices` maps
    `field`'s value to (the other party of a negotiation); `admins`: every administrator."""

    how: RecipientHow
    field: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Route:
    event_type: str
    kind: str
    priority: Priority
    recipients: tuple[Recipient, ...]
    fields: tuple[str, ...]
    subject_field: str | None = None
    when: tuple[tuple[str, Any], ...] = field(default=())  # (field, value) pairs that must hold

    def applies(self, data: Mapping[str, Any]) -> bool:
        return all(data.get(name) == value for name, value in self.when)


def _r(how: RecipientHow, field: str = "", **choices: str) -> Recipient:
    return Recipient(how, field, tuple(choices.items()))


_ROUTES = [
    # -- goals
    Route("jixiao.goals.goal.status_changed.v1", "goal.turned_red", "normal",
          (_r("person", "responsible_id"), _r("manager_of", "responsible_id")),
          ("goal_id", "cycle_id", "on", "before", "after"), "goal_id", when=(("after", "red"),)),
    Route("jixiao.goals.review.opened.v1", "goal.review_opened", "high",
          (_r("person", "owner_id"), _r("person", "manager_id")),
          ("review_id", "goal_id", "cycle_id", "opened_on"), "review_id"),
    Route("jixiao.goals.proposal.opened.v1", "proposal.to_answer", "normal",
          (_r("pick", "proposed_by", owner="manager_id", manager="owner_id"),),
          ("proposal_id", "negotiation_id", "cycle_id", "proposed_by"), "proposal_id"),
    Route("jixiao.goals.proposal.resolved.v1", "proposal.resolved", "low",
          (_r("person", "owner_id"), _r("person", "manager_id")),
          ("proposal_id", "negotiation_id", "cycle_id", "outcome"), "proposal_id"),
    # -- compliance
    Route("jixiao.compliance.appeal.submitted.v1", "appeal.submitted", "high",
          (_r("hr_of_unit", "org_unit_id"), _r("hr_of_person", "appellant"), _r("person", "appellant")),
          ("appeal_id", "target_kind", "owning_service", "due_at"), "appeal_id"),
    Route("jixiao.compliance.appeal.review_started.v1", "appeal.review_started", "low",
          (_r("person", "appellant"),), ("appeal_id",), "appeal_id"),
    Route("jixiao.compliance.appeal.decided.v1", "appeal.decided", "high",
          (_r("person", "appellant"),), ("appeal_id", "target_kind", "outcome"), "appeal_id"),
    Route("jixiao.compliance.appeal.overdue.v1", "appeal.overdue", "high",
          (_r("hr_of_unit", "org_unit_id"), _r("hr_of_person", "appellant"), _r("person", "reviewer")),
          ("appeal_id", "state", "due_at"), "appeal_id"),
    # -- feedback
    Route("jixiao.feedback.checkin.overdue.v1", "checkin.overdue", "normal",
          (_r("person", "manager_id"), _r("hr_of_person", "person_id")),
          ("checkin_id", "month", "person_id", "due_by"), "checkin_id"),
    Route("jixiao.feedback.activity.zero_detected.v1", "activity.zero", "normal",
          (_r("person", "manager_id"),), ("person_id", "weeks", "detected_on"), "person_id"),
    Route("jixiao.feedback.rating.finalized.v1", "result.available", "normal",
          (_r("person", "person_id"),), ("rating_id", "review_cycle_id"), "rating_id"),
    # -- incentives (amounts and points never shown: the message says where to look)
    Route("jixiao.incentives.nomination.decided.v1", "nomination.decided", "normal",
          (_r("person", "person_id"),), ("nomination_id", "target_level"), "nomination_id"),
    Route("jixiao.incentives.bonus.proposed.v1", "approval.waiting", "normal",
          (_r("person", "waiting_for"),), ("proposal_id", "pool_code", "person_id"), "proposal_id"),
    Route("jixiao.incentives.points.redeemed.v1", "redemption.decided", "low",
          (_r("person", "person_id"),), ("redemption_id", "reward_code", "quantity"), "redemption_id"),
    Route("jixiao.incentives.points.refunded.v1", "redemption.refunded", "low",
          (_r("person", "person_id"),), ("redemption_id", "reward_code"), "redemption_id"),
    Route("jixiao.compliance.dsr.closed.v1", "dsr.incomplete", "high", (_r("admins"),),
          ("request_id", "kind", "state"), "request_id", when=(("state", "incomplete"),)),
]

ROUTES: dict[str, tuple[Route, ...]] = {}
for _route in _ROUTES:
    ROUTES[_route.event_type] = (*ROUTES.get(_route.event_type, ()), _route)
KINDS: dict[str, Route] = {route.kind: route for route in _ROUTES}


def routes_for(event_type: str, data: Mapping[str, Any]) -> list[Route]:
    return [route for route in ROUTES.get(event_type, ()) if route.applies(data)]


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":  # an ISO time from the wire
        try:
            return _text(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    return "" if value is None else str(value)[:200]


def template_fields(route: Route, data: Mapping[str, Any]) -> dict[str, str]:
    """The allow-listed fields of an event, as text: all a template can ever see."""
    return {name: _text(data.get(name)) for name in route.fields if name not in FORBIDDEN_FIELDS}


def _ids(value: Any) -> Iterable[str]:
    if isinstance(value, str) and value:
        yield value


def recipients(route: Route, data: Mapping[str, Any], directory: Directory) -> list[str]:
    """The people to tell, in the route's order, each once, only people active in the directory."""
    found: list[str] = []
    for rule in route.recipients:
        value = data.get(rule.field) if rule.field else None
        if rule.how == "person":
            found.extend(_ids(value))
        elif rule.how == "manager_of":
            for person in _ids(value):
                found.extend(_ids(directory.manager_of(person)))
        elif rule.how == "hr_of_unit":
            for unit in _ids(value):
                found.extend(directory.hr_for_unit(unit))
        elif rule.how == "hr_of_person":
            for person in _ids(value):
                person_unit = directory.unit_of(person)
                if person_unit:
                    found.extend(directory.hr_for_unit(person_unit))
        elif rule.how == "pick":
            target = dict(rule.choices).get(value) if isinstance(value, str) else None
            if target:
                found.extend(_ids(data.get(target)))
        elif rule.how == "admins":
            found.extend(directory.admins())
    out: list[str] = []
    for person in found:
        if person not in out and directory.is_active(person):
            out.append(person)
    return out
