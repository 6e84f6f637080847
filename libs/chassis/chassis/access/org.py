"""The org directory as access decisions read it: units, people, role grants, and an index over them.

Pure Python. `OrgIndex` answers every relationship question in constant time (pre-order intervals over
the unit tree and the manager tree), so a decision never walks a tree.

It is tolerant on purpose: a service's read model is built from events that may arrive in any order, so a
unit whose parent is not known yet is a root for now, and members of a loop (which compliance refuses to
create) belong to no subtree. Both can only take rights away, never grant them: least privilege.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class PersonStatus(StrEnum):
    ACTIVE = "active"
    LEAVE = "leave"
    TERMINATED = "terminated"


class Role(StrEnum):
    """Roles held by grant. Being an employee or a manager is a relationship, not a role."""

    HR = "hr"
    HRBP = "hrbp"
    AUDITOR = "auditor"
    ADMIN = "admin"


# HR and HRBP act over an org-unit subtree; auditors and administrators are organisation-wide.
SCOPED_ROLES = frozenset({Role.HR, Role.HRBP})


@dataclass(frozen=True, slots=True)
class OrgUnit:
    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """What access decisions need to know about a person."""

    id: str
    org_unit_id: str | None
    manager_id: str | None = None
    status: PersonStatus = PersonStatus.ACTIVE
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A role given to a subject (a person id or a non-person account id)."""

    subject: str
    role: Role
    org_unit_id: str | None = None


class PersonEntry(Protocol):
    """What the policy reads of a person: a `Member`, or a service's own read-model row with these attributes."""

    @property
    def id(self) -> str: ...
    @property
    def org_unit_id(self) -> str | None: ...
    @property
    def manager_id(self) -> str | None: ...
    @property
    def status(self) -> PersonStatus: ...


class UnitEntry(Protocol):
    """What the policy reads of an org unit (`OrgUnit`, or a read-model row)."""

    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...


class GrantEntry(Protocol):
    """What the policy reads of a role grant (`Grant`, or a read-model row)."""

    @property
    def subject(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def org_unit_id(self) -> str | None: ...


class OrgView(Protocol):
    """What the access policy reads."""

    def person(self, person_id: str) -> PersonEntry | None: ...

    def manager_of(self, person_id: str) -> str | None: ...

    def reports_to(self, person_id: str, manager_id: str) -> bool: ...

    def direct_reports(self, person_id: str) -> tuple[str, ...]: ...

    def unit(self, unit_id: str) -> UnitEntry | None: ...

    def unit_within(self, unit_id: str, root_id: str) -> bool: ...

    def grants_of(self, subject: str) -> tuple[GrantEntry, ...]: ...


def find_loops(parent_of: Mapping[str, str | None]) -> list[tuple[str, ...]]:
    """Every cycle in a child → parent mapping, each reported once, members in walk order."""
    done: set[str] = set()
    loops: list[tuple[str, ...]] = []
    for start in parent_of:
        walk: dict[str, int] = {}  # node → position on the current walk
        node: str | None = start
        while node is not None and node not in done and node not in walk:
            walk[node] = len(walk)
            node = parent_of.get(node)
        if node is not None and node in walk:
            members = list(walk)
            loops.append(tuple(members[walk[node]:]))
        done.update(walk)
    return loops


def describe_loop(loop: tuple[str, ...]) -> str:
    return " → ".join((*loop, loop[0]))


def direct_reports_of(people: Iterable[PersonEntry]) -> dict[str, tuple[str, ...]]:
    """manager id -> the ids of the people who report to them directly."""
    found: dict[str, list[str]] = {}
    for person in people:
        if person.manager_id is not None:
            found.setdefault(person.manager_id, []).append(person.id)
    return {manager: tuple(ids) for manager, ids in found.items()}


class Forest:
    """Pre-order intervals of a forest: `a` is in the subtree of `r` iff enter[r] <= enter[a] < end[r].

    A node whose parent is unknown is a root; nodes on a loop are in no subtree (not even their own).
    """

    __slots__ = ("end", "enter", "order")

    def __init__(self, parent_of: Mapping[str, str | None]) -> None:
        children: dict[str, list[str]] = {}
        roots: list[str] = []
        for node, parent in parent_of.items():
            if parent is None or parent not in parent_of:
                roots.append(node)
            else:
                children.setdefault(parent, []).append(node)
        order: list[str] = []
        stack = roots[::-1]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(reversed(children.get(node, ())))
        self.order = order
        self.enter = {node: index for index, node in enumerate(order)}
        size = dict.fromkeys(order, 1)
        for node in reversed(order):  # children come after their parent in pre-order
            parent = parent_of[node]
            if parent is not None and parent in size:
                size[parent] += size[node]
        self.end = {node: self.enter[node] + size[node] for node in order}

    def within(self, node: str, root: str) -> bool:
        enter = self.enter.get(node)
        start = self.enter.get(root)
        return enter is not None and start is not None and start <= enter < self.end[root]

    def subtree(self, root: str) -> list[str]:
        return self.order[self.enter[root]:self.end[root]]


class OrgIndex:
    """An immutable snapshot of the directory with O(1) relationship queries (implements OrgView)."""

    __slots__ = ("_grants", "_manager_tree", "_people", "_reports", "_unit_tree", "_units")

    def __init__(self, units: Iterable[OrgUnit], people: Iterable[PersonEntry],
                 grants: Iterable[GrantEntry] = ()) -> None:
        self._units = {unit.id: unit for unit in units}
        self._people = {person.id: person for person in people}
        self._reports = direct_reports_of(self._people.values())
        by_subject: dict[str, list[GrantEntry]] = {}
        for grant in grants:
            by_subject.setdefault(grant.subject, []).append(grant)
        self._grants = {subject: tuple(found) for subject, found in by_subject.items()}
        self._unit_tree = Forest({unit.id: unit.parent_id for unit in self._units.values()})
        self._manager_tree = Forest({pid: person.manager_id for pid, person in self._people.items()})

    @property
    def people(self) -> Mapping[str, PersonEntry]:
        return self._people

    @property
    def units(self) -> Mapping[str, OrgUnit]:
        return self._units

    def person(self, person_id: str) -> PersonEntry | None:
        return self._people.get(person_id)

    def unit(self, unit_id: str) -> OrgUnit | None:
        return self._units.get(unit_id)

    def manager_of(self, person_id: str) -> str | None:
        person = self._people.get(person_id)
        return None if person is None else person.manager_id

    def reports_to(self, person_id: str, manager_id: str) -> bool:
        """True when `person_id` is in the reporting line of `manager_id` (directly or indirectly)."""
        return person_id != manager_id and self._manager_tree.within(person_id, manager_id)

    def direct_reports(self, person_id: str) -> tuple[str, ...]:
        """The people whose manager is `person_id`."""
        return self._reports.get(person_id, ())

    def unit_within(self, unit_id: str, root_id: str) -> bool:
        """True when `unit_id` is `root_id` or below it."""
        return self._unit_tree.within(unit_id, root_id)

    def grants_of(self, subject: str) -> tuple[GrantEntry, ...]:
        return self._grants.get(subject, ())

    def reporting_line(self, manager_id: str) -> list[str]:
        """Everyone who reports to `manager_id`, directly or indirectly, in pre-order."""
        if manager_id not in self._manager_tree.enter:
            return []
        return self._manager_tree.subtree(manager_id)[1:]

    def units_within(self, root_id: str) -> list[str]:
        """`root_id` and every unit below it."""
        if root_id not in self._unit_tree.enter:
            return []
        return self._unit_tree.subtree(root_id)
