"""Access policy: one generic decision function over the actions the services register with it.

The engine knows the relations an actor can have to a resource (`Relation`, computed per decision from the actor
and the directory, an `OrgView`: never from ids in a request body) and no domain action: its table `RULES` is
empty until a service registers its own. Anything not registered is denied: least privilege by default.

Every action of the suite is declared once, as plain data, in its owner's table in `contracts.access` (relations
named by strings), and each service registers its table from its `access.register()` with `register_table`.
The tables are data in contracts, not rules in each service, because some actions are decided outside their
owner and services never import each other: every service checks compliance's `dsr.request` before exporting a
person's data, and compliance's `decide` RPC answers for any action of the suite. Such a process registers the
owner's very declaration (`register_table(COMPLIANCE, only=("dsr.request",))`), so the two cannot disagree, and
an action is always registered under the one owner that declares it.

API clients (third parties) hold no relationships: they may do only the actions `CLIENT_SCOPES` maps to a
scope they hold (each table declares the scopes of its own actions).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeGuard

from chassis.access.org import SCOPED_ROLES, GrantEntry, OrgView, PersonEntry, PersonStatus, Role
from chassis.errors import Forbidden, InvalidInput, NotFound
from contracts.access import ActionRule, ActionTable


class Relation(StrEnum):
    """How an actor stands to a resource. Computed per decision from the actor and the directory."""

    SELF = "self"  # the actor owns the resource
    DIRECT_MANAGER = "direct_manager"  # the owner reports directly to the actor
    INDIRECT_MANAGER = "indirect_manager"  # the owner is further down the actor's reporting line
    HR_SCOPE = "hr_scope"  # the actor is HR for an org unit containing the resource
    HRBP_SCOPE = "hrbp_scope"  # the actor is HRBP for an org unit containing the resource
    EMPLOYEE = "employee"  # the actor is a current member of the directory
    REPORTS_TO_OWNER = "reports_to_owner"  # the owner (a person) is one of the actor's managers
    UNIT_MEMBER = "unit_member"  # the resource belongs to an org unit the actor is in (or one above theirs)
    UNIT_LEAD = "unit_lead"  # ... and someone in that unit reports directly to the actor
    UNIT_HEAD = "unit_head"  # the actor is in the resource's org unit (or below it) and their manager is not
    UNIT_MANAGER = "unit_manager"  # a head of the resource's org unit reports to the actor, at any depth
    COLLEAGUE = "colleague"  # the actor is a member of the org unit the resource is in (a person's: the owner's unit)
    COMPANY_HR = "company_hr"  # a company-wide resource, and the actor is HR for a top-level org unit
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Scope:
    """An org-unit subtree over which a scoped role (HR, HRBP) applies."""

    role: Role
    org_unit_id: str


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, as the policy sees them. Build it with `resolve_actor` from the directory."""

    subject: str
    roles: frozenset[Role] = frozenset()
    scopes: frozenset[Scope] = frozenset()
    org_unit: str | None = None

    def __post_init__(self) -> None:
        if not self.subject:
            raise InvalidInput.field("subject", "an actor needs a subject")


@dataclass(frozen=True, slots=True)
class Resource:
    """What is acted on. `owner` is a person id; `org_unit` locates resources without an owner.

    `unit_owned` marks a resource that belongs to the org unit `org_unit` itself (a team's goal), `owner` being
    at most the person answering for it: HR scope then follows the unit, and the unit's members relate to it.
    A resource merely located by a unit (everything filed in it) is not unit-owned.
    """

    kind: str
    owner: str | None = None
    org_unit: str | None = None
    unit_owned: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    allow: tuple[Relation, ...]
    veto: tuple[Relation, ...] = field(default=())


# The engine's own tables hold no action: services fill them (register_table), each with its own declared actions.
_RULES: dict[str, Rule] = {}
_CLIENT_SCOPES: dict[str, str] = {}
_OWNERS: dict[str, str] = {}  # action -> the service whose table declares it

# Read-only live views of what the services registered in this process.
RULES = MappingProxyType(_RULES)
CLIENT_SCOPES = MappingProxyType(_CLIENT_SCOPES)
OWNERS = MappingProxyType(_OWNERS)


def register_rules(rules: dict[str, Rule], client_scopes: dict[str, str] | None = None) -> None:
    """Add actions to the policy (idempotent): the primitive under `register_table`, for rules built in code.

    Re-registering an action with the same rule is a no-op; with a different rule it is a programming error, so
    two services can never silently disagree about what an action means.
    """
    for action, rule in rules.items():
        known = _RULES.get(action)
        if known is not None and known != rule:
            raise ValueError(f"access action {action!r} is already registered with another rule")
    for action, scope in (client_scopes or {}).items():
        if action not in rules and action not in _RULES:
            raise ValueError(f"client scope for unknown action {action!r}")
        known_scope = _CLIENT_SCOPES.get(action)
        if known_scope is not None and known_scope != scope:
            raise ValueError(f"client scope of {action!r} is already registered as {known_scope!r}")
    _RULES.update(rules)
    _CLIENT_SCOPES.update(client_scopes or {})


def rule_of(declared: ActionRule) -> Rule:
    """The engine's rule for a declared one; a relation name the engine does not know is a ValueError."""
    try:
        return Rule(declared.kind, tuple(map(Relation, declared.allow)), tuple(map(Relation, declared.veto)))
    except ValueError as error:
        raise ValueError(f"unknown relation in the rule for a {declared.kind!r}: {error}") from None


def register_table(table: ActionTable, only: Iterable[str] | None = None) -> None:
    """Register a service's declared actions (all of them, or `only` those named: another owner's actions this
    process decides too), with their client scopes. Idempotent; an action already registered under another
    owner is a ValueError."""
    names = list(table.rules) if only is None else list(only)
    unknown = [name for name in names if name not in table.rules]
    if unknown:
        raise ValueError(f"{table.owner} declares no action {', '.join(map(repr, unknown))}")
    for name in names:
        owner = _OWNERS.get(name)
        if owner is not None and owner != table.owner:
            raise ValueError(f"access action {name!r} is already registered by {owner}, not {table.owner}")
    rules = {name: rule_of(table.rules[name]) for name in names}
    register_rules(rules, {name: scope for name, scope in table.client_scopes.items() if name in rules})
    _OWNERS.update(dict.fromkeys(names, table.owner))


def _resource_unit(resource: Resource, org: OrgView) -> str | None:
    # People's data follows the person: their current unit decides HR scope, not where a record was filed.
    # A unit's own resource stays with the unit, whoever answers for it.
    if resource.owner is not None and not resource.unit_owned:
        owner = org.person(resource.owner)
        if owner is not None:
            return owner.org_unit_id
    return resource.org_unit


def _in_scope(actor: Actor, role: Role, resource: Resource, org: OrgView) -> bool:
    if role not in actor.roles:
        return False
    unit = _resource_unit(resource, org)
    if unit is None:
        return False
    return any(scope.role == role and org.unit_within(unit, scope.org_unit_id) for scope in actor.scopes)


def _is_self(actor: Actor, resource: Resource, org: OrgView) -> bool:
    # Relationships are facts of the directory: an id that merely equals the owner's is not enough.
    return resource.owner == actor.subject and org.person(actor.subject) is not None


def _is_direct_manager(actor: Actor, resource: Resource, org: OrgView) -> bool:
    owner = resource.owner
    return owner is not None and owner != actor.subject and org.manager_of(owner) == actor.subject


def _is_indirect_manager(actor: Actor, resource: Resource, org: OrgView) -> bool:
    owner = resource.owner
    return owner is not None and org.reports_to(owner, actor.subject) and org.manager_of(owner) != actor.subject


def _is_employee(actor: Actor, resource: Resource, org: OrgView) -> bool:
    return org.person(actor.subject) is not None


def _reports_to_owner(actor: Actor, resource: Resource, org: OrgView) -> bool:
    owner = resource.owner
    return owner is not None and not resource.unit_owned and org.reports_to(actor.subject, owner)


def _owning_unit(resource: Resource) -> str | None:
    return resource.org_unit if resource.unit_owned else None


def _in_unit(person: PersonEntry | None, unit: str, org: OrgView) -> TypeGuard[PersonEntry]:
    return person is not None and person.org_unit_id is not None and org.unit_within(person.org_unit_id, unit)


def _is_unit_member(actor: Actor, resource: Resource, org: OrgView) -> bool:
    unit = _owning_unit(resource)
    return unit is not None and _in_unit(org.person(actor.subject), unit, org)


def _is_unit_lead(actor: Actor, resource: Resource, org: OrgView) -> bool:
    # The directory has no unit heads: a lead is a member of the unit to whom someone in it reports directly.
    unit = _owning_unit(resource)
    if unit is None or not _in_unit(org.person(actor.subject), unit, org):
        return False
    return any(_in_unit(person, unit, org) and person.status != PersonStatus.TERMINATED
               for person in map(org.person, org.direct_reports(actor.subject)))


def _subject_unit(resource: Resource) -> str | None:
    # the unit a resource is about as a whole: a unit's own resource, or everything filed in a unit
    return resource.org_unit if resource.unit_owned or resource.owner is None else None


def _is_unit_head(actor: Actor, resource: Resource, org: OrgView) -> bool:
    # The directory names no unit heads: the top of the unit's own line is a member whose manager is outside it
    # (a new lead with nobody reporting yet included).
    unit = _subject_unit(resource)
    me = org.person(actor.subject)
    if unit is None or not _in_unit(me, unit, org):
        return False
    manager = org.manager_of(actor.subject)
    return manager is None or not _in_unit(org.person(manager), unit, org)


def _is_unit_manager(actor: Actor, resource: Resource, org: OrgView) -> bool:
    # above the unit: a head of the unit (a member whose manager is outside it) is in the actor's reporting line
    unit = _subject_unit(resource)
    if unit is None:
        return False
    seen, todo = {actor.subject}, list(org.direct_reports(actor.subject))
    while todo:
        person_id = todo.pop()
        if person_id in seen:
            continue
        seen.add(person_id)
        person = org.person(person_id)
        if (_in_unit(person, unit, org) and person.status != PersonStatus.TERMINATED
                and not _in_unit(org.person(person.manager_id) if person.manager_id else None, unit, org)):
            return True
        todo.extend(org.direct_reports(person_id))
    return False


def _is_colleague(actor: Actor, resource: Resource, org: OrgView) -> bool:
    unit = _resource_unit(resource, org)
    return unit is not None and _in_unit(org.person(actor.subject), unit, org)


def _is_company_hr(actor: Actor, resource: Resource, org: OrgView) -> bool:
    if resource.owner is not None or resource.org_unit is not None or Role.HR not in actor.roles:
        return False
    # top-level: no parent at all (a unit whose parent is merely unknown yet is not the company)
    return any(scope.role == Role.HR and (unit := org.unit(scope.org_unit_id)) is not None and unit.parent_id is None
               for scope in actor.scopes)


_CHECKS: dict[Relation, Callable[[Actor, Resource, OrgView], bool]] = {
    Relation.SELF: _is_self,
    Relation.DIRECT_MANAGER: _is_direct_manager,
    Relation.INDIRECT_MANAGER: _is_indirect_manager,
    Relation.HR_SCOPE: lambda actor, resource, org: _in_scope(actor, Role.HR, resource, org),
    Relation.HRBP_SCOPE: lambda actor, resource, org: _in_scope(actor, Role.HRBP, resource, org),
    Relation.EMPLOYEE: _is_employee,
    Relation.REPORTS_TO_OWNER: _reports_to_owner,
    Relation.UNIT_MEMBER: _is_unit_member,
    Relation.UNIT_LEAD: _is_unit_lead,
    Relation.UNIT_HEAD: _is_unit_head,
    Relation.UNIT_MANAGER: _is_unit_manager,
    Relation.COLLEAGUE: _is_colleague,
    Relation.COMPANY_HR: _is_company_hr,
    Relation.AUDITOR: lambda actor, resource, org: Role.AUDITOR in actor.roles,
    Relation.ADMIN: lambda actor, resource, org: Role.ADMIN in actor.roles,
}

_AS = {
    Relation.SELF: "the owner",
    Relation.DIRECT_MANAGER: "the owner's direct manager",
    Relation.INDIRECT_MANAGER: "an indirect manager of the owner",
    Relation.HR_SCOPE: "HR for the owner's org unit",
    Relation.HRBP_SCOPE: "HRBP for the owner's org unit",
    Relation.EMPLOYEE: "an employee",
    Relation.REPORTS_TO_OWNER: "in the owner's reporting line",
    Relation.UNIT_MEMBER: "a member of the owning org unit",
    Relation.UNIT_LEAD: "a lead of the owning org unit",
    Relation.UNIT_HEAD: "the head of the org unit (its top member)",
    Relation.UNIT_MANAGER: "a manager up the chain of the org unit's head",
    Relation.COLLEAGUE: "a member of the same org unit",
    Relation.COMPANY_HR: "HR for the whole company",
    Relation.AUDITOR: "an auditor",
    Relation.ADMIN: "an administrator",
}


def can(actor: Actor, action: str, resource: Resource, org: OrgView) -> Decision:
    """Decide whether `actor` may perform `action` on `resource`. Deny unless a rule allows."""
    rule = RULES.get(action)
    if rule is None:
        return Decision(False, f"unknown action {action!r}")
    if resource.kind != rule.kind:
        return Decision(False, f"{action} applies to a {rule.kind}, not a {resource.kind}")
    me = org.person(actor.subject)
    if me is not None and me.status == PersonStatus.TERMINATED:
        return Decision(False, "the actor has left the organisation")
    for relation in rule.veto:
        if _CHECKS[relation](actor, resource, org):
            return Decision(False, f"{action} denied: the actor is {_AS[relation]} (conflict of interest)")
    for relation in rule.allow:
        if _CHECKS[relation](actor, resource, org):
            return Decision(True, f"{action} allowed: the actor is {_AS[relation]}")
    return Decision(False, f"no rule allows {action} to this actor")


def client_can(scopes: Iterable[str], action: str, resource: Resource) -> Decision:
    """The decision for an API client holding `scopes` (the gateway verified them)."""
    rule = RULES.get(action)
    if rule is None:
        return Decision(False, f"unknown action {action!r}")
    if resource.kind != rule.kind:
        return Decision(False, f"{action} applies to a {rule.kind}, not a {resource.kind}")
    needed = CLIENT_SCOPES.get(action)
    if needed is None:
        return Decision(False, f"{action} is not open to API clients")
    held = set(scopes)
    area = needed.split(":", 1)[0]
    if needed in held or f"{area}:*" in held or "*" in held:
        return Decision(True, f"{action} allowed: the client holds scope {needed}")
    return Decision(False, f"{action} needs scope {needed}")


def require(actor: Actor, action: str, resource: Resource, org: OrgView) -> None:
    """`can`, raising Forbidden with the reason when denied (nothing recorded: see OrgAccess for that)."""
    decision = can(actor, action, resource, org)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def resolve_actor(org: OrgView, subject: str, extra_roles: Iterable[Role] = ()) -> Actor:
    """The actor for an authenticated subject, with roles and scopes from the directory's grants."""
    grants = org.grants_of(subject)
    person = org.person(subject)
    extra = frozenset(extra_roles)
    if person is None and not grants and not extra:
        raise NotFound(f"unknown subject {subject!r}")
    return Actor(
        subject=subject,
        roles=frozenset(grant.role for grant in grants) | extra,
        scopes=scopes_of(grants),
        org_unit=None if person is None else person.org_unit_id,
    )


def scopes_of(grants: Iterable[GrantEntry]) -> frozenset[Scope]:
    return frozenset(
        Scope(grant.role, grant.org_unit_id)
        for grant in grants
        if grant.role in SCOPED_ROLES and grant.org_unit_id is not None
    )
