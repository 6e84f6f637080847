"""Org directory: people, the org-unit tree, role grants, and the validating index compliance keeps.

The shared vocabulary (units, roles, statuses, the forest index) lives in chassis.access.org, which every
service's read model uses; this module adds the directory's full person record and strict validation.

A person's id is their employee number; `manager_id` holds the manager's employee number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import cast

# re-exported: the directory's vocabulary is shared with every service's read model
from chassis.access.org import SCOPED_ROLES as SCOPED_ROLES
from chassis.access.org import OrgIndex as SharedOrgIndex
from chassis.access.org import OrgUnit as OrgUnit
from chassis.access.org import OrgView as OrgView
from chassis.access.org import PersonStatus as PersonStatus
from chassis.access.org import Role as Role
from chassis.access.org import describe_loop as describe_loop
from chassis.access.org import find_loops as find_loops
from compliance.domain.errors import FieldError, InvalidInput, NotFound


class CareerSequence(StrEnum):
    TECHNICAL = "technical"
    MANAGEMENT = "management"


@dataclass(frozen=True, slots=True)
class Person:
    employee_number: str
    name: str
    org_unit_id: str
    email: str | None = None
    phone: str | None = None
    manager_id: str | None = None
    job_family: str | None = None
    grade: str | None = None
    sequence: CareerSequence | None = None
    location: str | None = None
    status: PersonStatus = PersonStatus.ACTIVE

    @property
    def id(self) -> str:
        return self.employee_number


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """A role given to a subject (a person's employee number, or a non-person account id)."""

    subject: str
    role: Role
    org_unit_id: str | None = None

    def __post_init__(self) -> None:
        if self.role in SCOPED_ROLES and self.org_unit_id is None:
            raise InvalidInput.at(("org_unit_id",), f"role {self.role} needs an org unit scope")
        if self.role not in SCOPED_ROLES and self.org_unit_id is not None:
            raise InvalidInput.at(("org_unit_id",), f"role {self.role} is organisation-wide and takes no scope")


def _chain(start: str, parent_of: Mapping[str, str | None], what: str) -> list[str]:
    if start not in parent_of:
        raise NotFound(f"unknown {what} {start!r}")
    walked = [start]
    seen = {start}
    node = parent_of[start]
    while node is not None:
        if node in seen:
            loop = tuple(walked[walked.index(node) :])
            raise InvalidInput.at((start,), f"{what} loop: {describe_loop(loop)}")
        seen.add(node)
        walked.append(node)
        node = parent_of.get(node)
    return walked[1:]


def unit_ancestors(unit_id: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """Ancestors of an org unit, nearest first; a parent loop is InvalidInput."""
    return _chain(unit_id, parent_of, "org unit")


def unit_descendants(unit_id: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """Every unit below `unit_id` (not itself), breadth first."""
    if unit_id not in parent_of:
        raise NotFound(f"unknown org unit {unit_id!r}")
    children: dict[str, list[str]] = {}
    for child, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: list[str] = []
    seen = {unit_id}
    frontier = [unit_id]
    while frontier:
        nxt = []
        for node in frontier:
            for child in children.get(node, ()):
                if child not in seen:  # a loop below would otherwise never end
                    seen.add(child)
                    nxt.append(child)
        found.extend(nxt)
        frontier = nxt
    return found


def manager_chain(person_id: str, manager_of: Mapping[str, str | None]) -> list[str]:
    """Managers of a person, direct manager first; a manager loop is InvalidInput."""
    return _chain(person_id, manager_of, "manager")


def reports_to(person_id: str, manager_id: str, manager_of: Mapping[str, str | None]) -> bool:
    """True when `person_id` is in the reporting line of `manager_id` (directly or indirectly)."""
    return manager_id in manager_chain(person_id, manager_of)


def _check_consistent(units: list[OrgUnit], people: list[Person], grants: list[RoleGrant]) -> None:
    """Raise InvalidInput listing every inconsistency of a directory snapshot."""
    errors: list[FieldError] = []
    unit_ids: set[str] = set()
    for unit in units:
        if unit.id in unit_ids:
            errors.append(FieldError(("units", unit.id), "duplicate org unit id"))
        unit_ids.add(unit.id)
    by_number: dict[str, Person] = {}
    for person in people:
        if person.employee_number in by_number:
            errors.append(FieldError(("people", person.employee_number), "duplicate employee number"))
        by_number[person.employee_number] = person
    for position, grant in enumerate(grants):
        if grant.org_unit_id is not None and grant.org_unit_id not in unit_ids:
            errors.append(FieldError(("grants", position, "org_unit_id"), "unknown org unit"))

    unit_parent = {unit.id: unit.parent_id for unit in units}
    for unit_id, parent_id in unit_parent.items():
        if parent_id is not None and parent_id not in unit_ids:
            errors.append(FieldError(("units", unit_id, "parent_id"), "unknown parent org unit"))
    for loop in find_loops(unit_parent):
        errors.append(FieldError(("units", loop[0], "parent_id"), f"org unit loop: {describe_loop(loop)}"))

    manager_of = {number: person.manager_id for number, person in by_number.items()}
    for number, person in by_number.items():
        if person.org_unit_id not in unit_ids:
            errors.append(FieldError(("people", number, "org_unit_id"), "unknown org unit"))
        if person.manager_id is not None and person.manager_id not in by_number:
            errors.append(FieldError(("people", number, "manager_id"), "unknown manager"))
    for loop in find_loops(manager_of):
        errors.append(FieldError(("people", loop[0], "manager_id"), f"manager loop: {describe_loop(loop)}"))
    if errors:
        raise InvalidInput("org directory is inconsistent", errors)


class OrgIndex(SharedOrgIndex):
    """The shared index (O(1) relationship queries, chassis.access.org) built only from a consistent directory:
    duplicate ids, unknown units or managers and loops are refused, naming each. Lookups of unknown ids raise
    NotFound instead of answering empty.

    Build it from the read model and rebuild it when the directory changes; queries never walk the
    tree, so decisions stay constant-time at any organisation size.
    """

    __slots__ = ()

    def __init__(self, units: Iterable[OrgUnit], people: Iterable[Person], grants: Iterable[RoleGrant] = ()) -> None:
        units, people, grants = list(units), list(people), list(grants)
        _check_consistent(units, people, grants)
        super().__init__(units, people, grants)

    @property
    def people(self) -> Mapping[str, Person]:
        # this index is built from compliance's own Person records only (see __init__)
        return MappingProxyType(cast(dict[str, Person], self._people))

    @property
    def units(self) -> Mapping[str, OrgUnit]:
        return MappingProxyType(self._units)

    def ancestors(self, unit_id: str) -> list[str]:
        """Ancestors of an org unit, nearest first."""
        if unit_id not in self._units:
            raise NotFound(f"unknown org unit {unit_id!r}")
        chain = []
        parent = self._units[unit_id].parent_id
        while parent is not None:  # validated acyclic at build time
            chain.append(parent)
            parent = self._units[parent].parent_id
        return chain

    def descendants(self, unit_id: str) -> list[str]:
        """Units below `unit_id`, not itself, in pre-order."""
        if unit_id not in self._units:
            raise NotFound(f"unknown org unit {unit_id!r}")
        return self._unit_tree.subtree(unit_id)[1:]

    def manager_chain(self, person_id: str) -> list[str]:
        """Managers of a person, direct manager first."""
        if person_id not in self._people:
            raise NotFound(f"unknown person {person_id!r}")
        chain = []
        manager = self._people[person_id].manager_id
        while manager is not None:  # validated acyclic at build time
            chain.append(manager)
            manager = self._people[manager].manager_id
        return chain

    def reporting_line(self, manager_id: str) -> list[str]:
        """Everyone who reports to `manager_id`, directly or indirectly, in pre-order."""
        if manager_id not in self._people:
            raise NotFound(f"unknown person {manager_id!r}")
        return self._manager_tree.subtree(manager_id)[1:]
