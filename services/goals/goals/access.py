"""Every access decision of the goals service goes through `require` / `can` here, on top of chassis.access
(the org read model kept from compliance's events, and the one policy table).

Goals' own actions, and the policy rule each stands on:

=====================  ===================================================================================
goal.read              `goal.read` (the owner, their manager chain, HR/HRBP of their unit); and, so that
                       goals can align upwards, a person reads the goals of their own managers and the
                       org-unit goals of the unit they belong to (or one above it)
goal.create            `goal.create` for a person's goal (the person, their manager, HR); for an org-unit
                       goal HR scoped to that unit, company management, or a lead of the unit (a member
                       of it to whom someone in it reports directly)
goal.update            `goal.update` (the owner or their direct manager)
goal.progress          the owner only (the person responsible for the goal): progress is their account
goal.negotiate         `goal.update`; the negotiation itself admits only the owner and their manager
commitment.record      `goal.approve` (the owner's managers, never the owner)
people.configure       custom field values of a person: `goal.approve`, or HR for the person (`goal.create`
                       by someone other than the person)
company.manage         cycles, the indicator library, templates, presets, the sweep: `cycle.manage` over a
                       root unit of the organisation (HR for the whole company, administrators)
=====================  ===================================================================================

The actor always comes from the call context; ids in a payload only say what is acted on.
"""
from __future__ import annotations

from dataclasses import dataclass

from chassis.access import Resource
from chassis.errors import Forbidden
from contracts.actor import Actor

GOAL = "goal"


@dataclass(frozen=True)
class GoalRef:
    """What a decision needs to know about a goal."""

    responsible_id: str
    org_unit_id: str | None
    owner_kind: str = "person"
    owner_id: str | None = None

    @classmethod
    def of(cls, goal) -> GoalRef:
        return cls(goal.responsible_id, goal.org_unit_id, goal.owner_kind, goal.owner_id)

    @property
    def resource(self) -> Resource:
        return Resource(GOAL, owner=self.responsible_id, org_unit=self.org_unit_id)


def person_resource(person_id: str) -> Resource:
    return Resource(GOAL, owner=person_id)


def unit_resource(org_unit_id: str) -> Resource:
    return Resource(GOAL, org_unit=org_unit_id)


def _is_person(actor: Actor | None) -> bool:
    return actor is not None and actor.kind == "person"


def _member_of_unit(uow, actor: Actor, unit_id: str) -> bool:
    index = uow.access.index
    me = index.person(actor.subject)
    return me is not None and me.org_unit_id is not None and index.unit_within(me.org_unit_id, unit_id)


def _leads_unit(uow, actor: Actor, unit_id: str | None) -> bool:
    index = uow.access.index
    if unit_id is None or not _member_of_unit(uow, actor, unit_id):
        return False
    return any(index.manager_of(p) == actor.subject and (index.person(p).org_unit_id or "") != ""
               and index.unit_within(index.person(p).org_unit_id, unit_id)
               for p in index.reporting_line(actor.subject))


def _roots(uow) -> list[str]:
    index = uow.access.index
    return [unit.id for unit in index.units.values() if unit.parent_id is None or index.unit(unit.parent_id) is None]


def decide(uow, actor: Actor | None, action: str, target: GoalRef | Resource | None = None) -> tuple[bool, str]:
    """(allowed, reason) for a goals action; `target` is a goal, a person/unit resource, or None for company
    management."""
    access = uow.access
    if action == "company.manage":
        reasons = []
        for root in _roots(uow) or [None]:
            decision = access.decide(actor, "cycle.manage", Resource("cycle", org_unit=root))
            if decision.allowed:
                return True, decision.reason
            reasons.append(decision.reason)
        return False, reasons[0]
    resource = target.resource if isinstance(target, GoalRef) else target
    if action == "goal.read":
        decision = access.decide(actor, "goal.read", resource)
        if decision.allowed:
            return True, decision.reason
        if isinstance(target, GoalRef) and _is_person(actor):
            if target.owner_kind == "org_unit" and _member_of_unit(uow, actor, target.owner_id):
                return True, "goal.read allowed: the actor belongs to the owning org unit"
            if target.owner_kind == "person" and uow.access.index.reports_to(actor.subject, target.responsible_id):
                return True, "goal.read allowed: the owner is one of the actor's managers"
        return False, decision.reason
    if action == "goal.create":
        decision = access.decide(actor, "goal.create", resource)
        if decision.allowed or resource.owner is not None:
            return decision.allowed, decision.reason
        if _is_person(actor) and _leads_unit(uow, actor, resource.org_unit):
            return True, "goal.create allowed: the actor leads the org unit"
        return decide(uow, actor, "company.manage")
    if action in ("goal.update", "goal.negotiate"):
        decision = access.decide(actor, "goal.update", resource)
        return decision.allowed, decision.reason
    if action == "goal.progress":
        if actor is not None and actor.kind in ("service", "system"):
            return True, "goal.progress allowed: the service acts on its own behalf"
        if _is_person(actor) and actor.subject == resource.owner:
            decision = access.decide(actor, "goal.update", resource)
            return decision.allowed, decision.reason
        return False, "only the goal's owner records its progress"
    if action == "commitment.record":
        decision = access.decide(actor, "goal.approve", resource)
        return decision.allowed, decision.reason
    if action == "people.configure":
        decision = access.decide(actor, "goal.approve", resource)
        if decision.allowed:
            return True, decision.reason
        if _is_person(actor) and actor.subject == resource.owner:
            return False, "people do not set their own custom fields"
        decision = access.decide(actor, "goal.create", resource)
        return decision.allowed, decision.reason
    return False, f"unknown action {action!r}"


def can(uow, actor: Actor | None, action: str, target: GoalRef | Resource | None = None) -> bool:
    return decide(uow, actor, action, target)[0]


def require(uow, actor: Actor | None, action: str, target: GoalRef | Resource | None = None) -> None:
    """Allow, or record the denial (compliance audits it) and raise Forbidden (403)."""
    allowed, reason = decide(uow, actor, action, target)
    if not allowed:
        resource = target.resource if isinstance(target, GoalRef) else target or Resource("cycle")
        uow.record_denial(actor, action, resource, reason)
        raise Forbidden(reason)


class ManyPeople:
    """One action decided for many people (assigning a template to thousands). For a person who is neither the
    actor nor in the actor's reporting line, every relation the policy knows is decided by the person's org
    unit (HR/HRBP scope) or by the actor alone (auditor, admin, employee): such decisions are shared per unit."""

    def __init__(self, uow, actor: Actor | None, action: str):
        self.uow, self.actor, self.action = uow, actor, action
        self._by_unit: dict[str | None, tuple[bool, str]] = {}

    def decide(self, person_id: str) -> tuple[bool, str]:
        index = self.uow.access.index
        subject = self.actor.subject if self.actor is not None else None
        person = index.person(person_id)
        if person is None or subject is None or person_id == subject or index.reports_to(person_id, subject):
            return decide(self.uow, self.actor, self.action, person_resource(person_id))
        unit = person.org_unit_id
        if unit not in self._by_unit:
            self._by_unit[unit] = decide(self.uow, self.actor, self.action, person_resource(person_id))
        return self._by_unit[unit]


def manager_of(uow, person_id: str) -> str | None:
    return uow.access.index.manager_of(person_id)
