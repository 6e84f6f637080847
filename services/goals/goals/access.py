"""Every access decision of the goals service goes through `require` / `can` here, on top of chassis.access
(the org read model kept from compliance's events, and the generic policy engine). Goals' policy actions are
declared as data in `contracts.access.GOALS` (compliance's `decide` answers for them too) and registered by
`register()`, called once from the service.

Goals' own actions, and the policy action each is decided by (the relations are the table's):

=====================  ===================================================================================
goal.read              of one goal, `goal.read`: the owner, their manager chain, HR/HRBP of their unit; so
                       that goals can align upwards, also a person whose manager owns the goal, and the
                       members of an org unit (or of a unit below it) for the unit's own goals, its head and
                       the managers up the chain above it;
                       of a person's or a unit's goals as a whole (lists, boards that may reach down a
                       reporting line), `goal.browse`: the line, HR, a unit's head and the managers above it;
                       besides, the cycle's visibility opens goals, progress and colour (never private
                       comments, custom fields or scores) to every employee (`goal.read.company`) or to the
                       owner's unit (`goal.read.unit`): `read_level` tells LINE from PUBLIC
goal.create            `goal.create`: for a person's goal the person, their manager, HR; for an org-unit goal
                       HR of the unit (company HR included), a lead of the unit (a member of it to whom
                       someone in it reports directly), its head (a member whose manager is outside it, with
                       or without reports yet) or any manager up the chain above its head
goal.update            `goal.update` (the owner or their direct manager)
goal.progress          `goal.progress`: the owner only (the person answering for the goal)
goal.negotiate         `goal.update`; the negotiation itself admits only the owner and their manager
commitment.record      `goal.approve` (the owner's managers, never the owner)
people.configure       `customfield.write`: custom field values of a person, by their managers or HR, never by
                       the person themself
company.manage         `cycle.manage` on a company-wide resource: cycles, the indicator library, templates,
                       presets, the sweep (HR for the whole company, administrators)
=====================  ===================================================================================

The actor always comes from the call context; ids in a payload only say what is acted on. A denial is recorded
under goals' action name. A caller who may not read a goal gets, for anything done to it by id, the same 404 as
for a goal that does not exist (`require(..., missing=no_goal(id))`); one who reads it gets the honest 403.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NoReturn, Protocol

from chassis.access.org import OrgIndex
from chassis.access.policy import Resource, register_table
from chassis.errors import Forbidden, ServiceError
from contracts.access import COMPLIANCE, GOALS
from contracts.actor import Actor

if TYPE_CHECKING:
    from goals.repositories import GoalsUnitOfWork


class GoalLike(Protocol):
    """What access needs of a goal (a model row, or a row of a query)."""

    @property
    def responsible_id(self) -> str: ...
    @property
    def org_unit_id(self) -> str | None: ...
    @property
    def owner_kind(self) -> str: ...
    @property
    def owner_id(self) -> str: ...
    @property
    def cycle_id(self) -> str: ...


class CycleLike(Protocol):
    @property
    def visibility(self) -> str: ...

GOAL = "goal"

# goals' action -> (the policy action in contracts.access.GOALS, the resource kind it is decided on)
POLICY = {
    "goal.read": ("goal.read", GOAL),
    "goal.create": ("goal.create", GOAL),
    "goal.update": ("goal.update", GOAL),
    "goal.progress": ("goal.progress", GOAL),
    "goal.negotiate": ("goal.update", GOAL),
    "commitment.record": ("goal.approve", GOAL),
    "people.configure": ("customfield.write", "customfield"),
    "company.manage": ("cycle.manage", "cycle"),
}


def register() -> None:
    """Goals' policy actions (contracts.access.GOALS) in the chassis policy, and compliance's `dsr.request`, which
    the data-subject export checks (idempotent)."""
    register_table(GOALS)
    register_table(COMPLIANCE, only=("dsr.request",))


@dataclass(frozen=True)
class GoalRef:
    """What a decision needs to know about a goal."""

    responsible_id: str
    org_unit_id: str | None
    owner_kind: str = "person"
    owner_id: str | None = None
    cycle_id: str | None = None  # whose visibility opens the goal to colleagues

    @classmethod
    def of(cls, goal: GoalLike) -> GoalRef:
        return cls(goal.responsible_id, goal.org_unit_id, goal.owner_kind, goal.owner_id, goal.cycle_id)

    @property
    def resource(self) -> Resource:
        """An org-unit goal belongs to its unit; the responsible person answers for it."""
        if self.owner_kind == "org_unit":
            return Resource(GOAL, owner=self.responsible_id, org_unit=self.owner_id, unit_owned=True)
        return Resource(GOAL, owner=self.responsible_id, org_unit=self.org_unit_id)


def person_resource(person_id: str) -> Resource:
    return Resource(GOAL, owner=person_id)


def unit_resource(org_unit_id: str) -> Resource:
    """Everything filed under a unit (the board of a unit): not the unit's own goals only."""
    return Resource(GOAL, org_unit=org_unit_id)


def _policy_resource(action: str, kind: str, target: GoalRef | Resource | None) -> Resource:
    resource = target.resource if isinstance(target, GoalRef) else target
    if action == "company.manage" or resource is None:
        return Resource(kind)  # company-wide
    if action == "goal.create" and resource.owner is None:
        return replace(resource, unit_owned=True)  # a goal without an owning person is the unit's own
    return replace(resource, kind=kind)


def decide(uow: GoalsUnitOfWork, actor: Actor | None, action: str,
           target: GoalRef | Resource | None = None) -> tuple[bool, str]:
    """(allowed, reason) for a goals action; `target` is a goal, a person/unit resource, or None for company
    management."""
    policy = POLICY.get(action)
    if policy is None:
        return False, f"unknown action {action!r}"
    policy_action, kind = policy
    if action == "goal.read" and not isinstance(target, GoalRef):
        policy_action = "goal.browse"
    decision = uow.access.decide(actor, policy_action, _policy_resource(action, kind, target))
    return decision.allowed, decision.reason


LINE, PUBLIC = "line", "public"
_VISIBLE_TO = {"company": "goal.read.company", "unit": "goal.read.unit"}  # private: the line only


def read_level(uow: GoalsUnitOfWork, actor: Actor | None, target: GoalRef | Resource,
               cycle: CycleLike | None) -> str | None:
    """How much of a goal (or of a person's or a unit's goals) the actor reads: LINE (everything: the owner, their
    line, their unit's heads and managers above it, HR), PUBLIC (goals, progress and colour, as the cycle's
    visibility opens them to colleagues; never private comments, custom fields or scores) or None."""
    if can(uow, actor, "goal.read", target):
        return LINE
    action = _VISIBLE_TO.get(getattr(cycle, "visibility", None) or "private")
    if action is None:
        return None
    resource = target.resource if isinstance(target, GoalRef) else target
    return PUBLIC if uow.access.decide(actor, action, replace(resource, kind=GOAL)).allowed else None


def require_read(uow: GoalsUnitOfWork, actor: Actor | None, target: GoalRef | Resource, cycle: CycleLike | None, *,
                 missing: ServiceError | None = None) -> str:
    """`read_level`, or the line's decision recorded as a denial: `missing` (404) when given, else 403."""
    level = read_level(uow, actor, target, cycle)
    if level is None:
        require(uow, actor, "goal.read", target, missing=missing, cycle=cycle)
    return level or LINE


def can(uow: GoalsUnitOfWork, actor: Actor | None, action: str, target: GoalRef | Resource | None = None) -> bool:
    return decide(uow, actor, action, target)[0]


def require(uow: GoalsUnitOfWork, actor: Actor | None, action: str, target: GoalRef | Resource | None = None, *,
            missing: ServiceError | None = None, cycle: CycleLike | None = None) -> Actor:
    """Allow, or record the denial (compliance audits it) and raise.

    `missing` is the very error the use case answers for a record that does not exist (`no_goal(goal_id)`): a
    caller who may not read the goal gets it instead of 403, so a 404 for a missing goal beside a 403 for an
    existing one confirms nothing. A caller who reads the goal (its line, or a colleague as `cycle`'s visibility
    allows) gets the honest 403 for what it may not do. As the chassis guard (`uow.access.require(...,
    missing=..., visible_with=...)`), with goals' own notion of who reads a goal and the same 404 problem.
    Returns the actor, who is then known to be authenticated."""
    allowed, reason = decide(uow, actor, action, target)
    if not allowed or actor is None:  # nobody authenticated is never allowed
        deny(uow, actor, action, target, reason, missing=missing, cycle=cycle)
    return actor


def deny(uow: GoalsUnitOfWork, actor: Actor | None, action: str, target: GoalRef | Resource | None, reason: str,
         *, missing: ServiceError | None = None, cycle: CycleLike | None = None) -> NoReturn:
    """Record the denial under goals' action and raise `missing` when the actor may not know the record exists
    (it cannot read `target`), else Forbidden with the reason (for decisions a use case makes itself: the parties
    to a negotiation, a review, a commitment)."""
    resource = target.resource if isinstance(target, GoalRef) else target or Resource("cycle")
    uow.record_denial(actor, action, resource, reason)
    if missing is not None and target is not None:
        if cycle is None and isinstance(target, GoalRef) and target.cycle_id is not None:
            cycle = uow.cycles.get(target.cycle_id)
        if read_level(uow, actor, target, cycle) is None:
            raise missing
    raise Forbidden(reason)


class ManyPeople:
    """One action decided for many people (assigning a template to thousands). For a person who is neither the
    actor nor related to them by the reporting line (in either direction), every relation the policy knows is
    decided by the person's org unit (HR/HRBP scope) or by the actor alone (auditor, admin, employee): such
    decisions are shared per unit."""

    def __init__(self, uow: GoalsUnitOfWork, actor: Actor | None, action: str) -> None:
        self.uow, self.actor, self.action = uow, actor, action
        self.index = uow.access.index  # once: asking the cache per person cost more than the decisions
        self._by_unit: dict[str | None, tuple[bool, str]] = {}

    def decide(self, person_id: str) -> tuple[bool, str]:
        index = self.index
        subject = self.actor.subject if self.actor is not None else None
        person = index.person(person_id)
        if (person is None or subject is None or person_id == subject or index.reports_to(person_id, subject)
                or index.reports_to(subject, person_id)):
            return decide(self.uow, self.actor, self.action, person_resource(person_id))
        unit = person.org_unit_id
        if unit not in self._by_unit:
            self._by_unit[unit] = decide(self.uow, self.actor, self.action, person_resource(person_id))
        return self._by_unit[unit]


def manager_of(uow: GoalsUnitOfWork, person_id: str) -> str | None:
    return uow.access.index.manager_of(person_id)


def unit_lead(index: OrgIndex, unit_id: str, near: str | None) -> str | None:
    """The lead of an org unit as the directory shows it (it names no unit heads): the highest member of the unit
    in the reporting line of `near` (the person answering for the unit's goal), or else a member of the unit
    whose manager is outside it and to whom someone in it reports. None when the unit has nobody like that."""

    def inside(person_id: str | None) -> bool:
        person = index.person(person_id) if person_id else None
        return person is not None and person.org_unit_id is not None and index.unit_within(person.org_unit_id,
                                                                                            unit_id)

    if near is not None and inside(near):
        lead, seen = near, {near}
        while (up := index.manager_of(lead)) is not None and up not in seen and inside(up):
            lead = up
            seen.add(up)
        return lead
    for person_id in sorted(getattr(index, "people", {})):
        if inside(person_id) and not inside(index.manager_of(person_id)) and any(
                inside(r) for r in index.direct_reports(person_id)):
            return person_id
    return index.manager_of(near) if near else None
