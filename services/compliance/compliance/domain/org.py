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

from chassis.access.org import (  # noqa: F401 - re-exported: the directory's vocabulary is shared
    SCOPED_ROLES,
    Forest,
    OrgUnit,
    OrgView,
    PersonStatus,
    Role,
    describe_loop,
    direct_reports_of,
    find_loops,
)
from chassis.access.org import Forest as _Forest
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


class OrgIndex:
    """An immutable, validated snapshot of the directory with O(1) relationship queries.

    Build it from the read model and rebuild it when the directory changes; queries never walk the
    tree, so decisions stay constant-time at any organisation size.
    """

    __slots__ = ("_grants", "_manager_tree", "_people", "_reports", "_unit_tree", "_units")

    def __init__(self, units: Iterable[OrgUnit], people: Iterable[Person], grants: Iterable[RoleGrant] = ()) -> None:
        errors: list[FieldError] = []
        self._units: dict[str, OrgUnit] = {}
        for unit in units:
            if unit.id in self._units:
                errors.append(FieldError(("units", unit.id), "duplicate org unit id"))
            self._units[unit.id] = unit
        self._people: dict[str, Person] = {}
        for person in people:
            if person.employee_number in self._people:
                errors.append(FieldError(("people", person.employee_number), "duplicate employee number"))
            self._people[person.employee_number] = person
        self._grants: dict[str, tuple[RoleGrant, ...]] = {}
        for position, grant in enumerate(grants):
            if grant.org_unit_id is not None and grant.org_unit_id not in self._units:
                errors.append(FieldError(("grants", position, "org_unit_id"), "unknown org unit"))
            self._grants[grant.subject] = (*self._grants.get(grant.subject, ()), grant)

        unit_parent = {unit.id: unit.parent_id for unit in self._units.values()}
        for unit in self._units.values():
            if unit.parent_id is not None and unit.parent_id not in self._units:
                errors.append(FieldError(("units", unit.id, "parent_id"), "unknown parent org unit"))
        for loop in find_loops(unit_parent):
            errors.append(FieldError(("units", loop[0], "parent_id"), f"org unit loop: {describe_loop(loop)}"))

        manager_of = {number: person.manager_id for number, person in self._people.items()}
        for number, person in self._people.items():
            if person.org_unit_id not in self._units:
                errors.append(FieldError(("people", number, "org_unit_id"), "unknown org unit"))
            if person.manager_id is not None and person.manager_id not in self._people:
                errors.append(FieldError(("people", number, "manager_id"), "unknown manager"))
        for loop in find_loops(manager_of):
            errors.append(FieldError(("people", loop[0], "manager_id"), f"manager loop: {describe_loop(loop)}"))
        if errors:
            raise InvalidInput("org directory is inconsistent", errors)

        self._unit_tree = _Forest(unit_parent)
        self._manager_tree = _Forest(manager_of)
        self._reports = direct_reports_of(self._people.values())

    @property
    def people(self) -> Mapping[str, Person]:
        return MappingProxyType(self._people)

    @property
    def units(self) -> Mapping[str, OrgUnit]:
        return MappingProxyType(self._units)

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def unit(self, unit_id: str) -> OrgUnit | None:
        return self._units.get(unit_id)

    def manager_of(self, person_id: str) -> str | None:
        person = self._people.get(person_id)
        return None if person is None else person.manager_id

    def reports_to(self, person_id: str, manager_id: str) -> bool:
        return person_id != manager_id and self._manager_tree.within(person_id, manager_id)

    def direct_reports(self, person_id: str) -> tuple[str, ...]:
        """The people whose manager is `person_id`."""
        return self._reports.get(person_id, ())

    def unit_within(self, unit_id: str, root_id: str) -> bool:
        """True when `unit_id` is `root_id` or below it."""
        return self._unit_tree.within(unit_id, root_id)

    def grants_of(self, subject: str) -> tuple[RoleGrant, ...]:
        return self._grants.get(subject, ())

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
