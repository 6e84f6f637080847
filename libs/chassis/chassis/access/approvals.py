"""Approval chains by grade, the same for every service (feedback's ratings, incentives' bonus proposals and
redemptions): who approves an item about a person, in which order, and the approve / send-back state of it.

The chain comes from two places only: the org read model (managers, units, HR/HRBP grants: facts of the
directory) and a configurable table, grade -> steps::

    table = ApprovalTable.parse({"M>=3": ["direct_manager", "skip_level", "hrbp"],
                                 "P>=7": ["direct_manager", "hrbp"],
                                 "*":    ["direct_manager"]})
    chain = approval_chain(index, person_id="e1", grade="M4", table=table, requested_by="m1")

A table key is a grade ("M3", exact), a track and a lowest level ("M>=3": M3, M4, ...) or "*" (anything
else); the first matching key in the table's order wins.

Nobody approves their own item: neither the person the item is about nor whoever requested it is ever an
approver. A manager step that would name one of them moves up the reporting line; an HR/HRBP step takes the
next holder of the role over the person's unit (the nearest scope first, then the units above) who is not
already in the chain, so that the HR step is a second pair of eyes. A person approves at one step only. A step
with nobody left is reported as `unresolved` rather than silently skipped: the caller decides (usually a 422
naming the step).

Pure: the standard library, chassis.errors and the org model only.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from chassis.access.org import Grant, OrgView, PersonStatus, Role
from chassis.errors import Conflict, Forbidden, InvalidInput


class Step(StrEnum):
    DIRECT_MANAGER = "direct_manager"
    SKIP_LEVEL = "skip_level"  # the direct manager's manager
    HRBP = "hrbp"
    HR = "hr"


_GRADE = re.compile(r"^([A-Za-z]*)(\d+)$")
_KEY = re.compile(r"^([A-Za-z]*)(>=)?(\d+)$")


def parse_grade(grade: str | None) -> tuple[str, int] | None:
    """("M", 3) for "M3"; None when the grade has no level."""
    found = _GRADE.match((grade or "").strip())
    return (found.group(1).upper(), int(found.group(2))) if found else None


@dataclass(frozen=True, slots=True)
class GradeRule:
    """Grades of one track (letters) from `lowest` up (`exact`: that level only); track None = every grade."""

    key: str
    steps: tuple[Step, ...]
    track: str | None = None
    lowest: int = 0
    exact: bool = False

    def matches(self, grade: str | None) -> bool:
        if self.track is None:
            return True
        parsed = parse_grade(grade)
        if parsed is None or parsed[0] != self.track:
            return False
        return parsed[1] == self.lowest if self.exact else parsed[1] >= self.lowest


@dataclass(frozen=True, slots=True)
class ApprovalTable:
    rules: tuple[GradeRule, ...]

    @classmethod
    def parse(cls, table: Mapping[str, Sequence[str]]) -> ApprovalTable:
        """From configuration; an unknown step or a malformed key is an InvalidInput naming it."""
        rules = []
        for key, steps in table.items():
            try:
                parsed_steps = tuple(Step(step) for step in steps)
            except ValueError:
                raise InvalidInput.field(f"approval_table.{key}",
                                         f"steps must be among {', '.join(s.value for s in Step)}") from None
            if not parsed_steps:
                raise InvalidInput.field(f"approval_table.{key}", "at least one approval step")
            if len(set(parsed_steps)) != len(parsed_steps):
                raise InvalidInput.field(f"approval_table.{key}", "a step appears twice")
            if key.strip() == "*":
                rules.append(GradeRule(key, parsed_steps))
                continue
            found = _KEY.match(key.replace(" ", ""))
            if found is None:
                raise InvalidInput.field(f"approval_table.{key}", "a key is a grade (M3), a track and lowest "
                                                                  "level (M>=3) or *")
            rules.append(GradeRule(key, parsed_steps, found.group(1).upper(), int(found.group(3)),
                                   exact=found.group(2) is None))
        if not rules:
            raise InvalidInput.field("approval_table", "an approval table needs at least one row")
        return cls(tuple(rules))

    def steps_for(self, grade: str | None) -> tuple[Step, ...]:
        for rule in self.rules:
            if rule.matches(grade):
                return rule.steps
        raise InvalidInput.field("grade", f"no approval rule covers grade {grade!r} (add a '*' row)")


DEFAULT_TABLE = ApprovalTable.parse({"*": ["direct_manager"]})


@dataclass(frozen=True, slots=True)
class Approver:
    step: Step
    person_id: str


@dataclass(frozen=True, slots=True)
class Chain:
    approvers: tuple[Approver, ...]
    unresolved: tuple[Step, ...] = ()  # steps nobody eligible could take

    @property
    def complete(self) -> bool:
        return not self.unresolved and bool(self.approvers)


def all_grants(org: OrgView) -> Iterable[Grant]:
    """Every grant the read model knows (OrgIndex keeps them by subject)."""
    by_subject = getattr(org, "_grants", None)
    if by_subject is None:
        return ()
    return (grant for found in by_subject.values() for grant in found)


def _active(org: OrgView, person_id: str | None) -> bool:
    person = None if person_id is None else org.person(person_id)
    return person is not None and person.status != PersonStatus.TERMINATED


def _left(org: OrgView, subject: str) -> bool:
    person = org.person(subject)  # a grant may name a non-person account: only people leave
    return person is not None and person.status == PersonStatus.TERMINATED


def _units_up(org: OrgView, unit_id: str | None) -> list[str]:
    """The unit and its ancestors, nearest first (a loop stops the walk)."""
    found: list[str] = []
    while unit_id is not None and unit_id not in found:
        found.append(unit_id)
        unit = org.unit(unit_id)
        unit_id = None if unit is None else unit.parent_id
    return found


def approval_chain(org: OrgView, person_id: str, grade: str | None, table: ApprovalTable,
                   requested_by: str | None = None, grants: Iterable[Grant] | None = None) -> Chain:
    """The ordered approvers of an item about `person_id` (of `grade`), requested by `requested_by`."""
    excluded = {person_id} | ({requested_by} if requested_by else set())
    person = org.person(person_id)
    holders: dict[tuple[Role, str], list[str]] = {}
    for grant in all_grants(org) if grants is None else grants:
        if grant.org_unit_id is not None:
            holders.setdefault((grant.role, grant.org_unit_id), []).append(grant.subject)
    chosen: list[Approver] = []
    unresolved: list[Step] = []
    taken: set[str] = set()

    def manager_above(start: str | None, passing: AbstractSet[str] = frozenset()) -> str | None:
        seen: set[str] = set()
        current = start
        while current is not None and current not in seen:
            seen.add(current)
            if current not in excluded and current not in passing and _active(org, current):
                return current
            current = org.manager_of(current)
        return None

    for step in table.steps_for(grade):
        candidate: str | None = None
        if step is Step.DIRECT_MANAGER:
            candidate = manager_above(org.manager_of(person_id))
        elif step is Step.SKIP_LEVEL:
            # the direct manager's manager by the reporting line (when the direct manager requested the item, the
            # skip-level is still their manager, not one further up), past whoever already approves at a step
            direct = org.manager_of(person_id)
            candidate = None if direct is None else manager_above(org.manager_of(direct), passing=taken)
        else:
            role = Role.HRBP if step is Step.HRBP else Role.HR
            unit = None if person is None else person.org_unit_id
            for scope in _units_up(org, unit):
                eligible = sorted(s for s in holders.get((role, scope), ())
                                  if s not in excluded and s not in taken and not _left(org, s))
                if eligible:
                    candidate = eligible[0]
                    break
        if candidate is None:
            unresolved.append(step)
        elif candidate not in taken:  # one person approves once, at their first step
            taken.add(candidate)
            chosen.append(Approver(step, candidate))
    return Chain(tuple(chosen), tuple(unresolved))


# -- the state of one item going through its chain -----------------------------------------------------------------

class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SENT_BACK = "sent_back"


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    person_id: str
    outcome: str  # "approved" | "sent_back"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Approval:
    """Where an item stands: the chain, how far it got, and every decision so far."""

    approvers: tuple[Approver, ...]
    position: int = 0
    status: Status = Status.PENDING
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def current(self) -> Approver | None:
        if self.status is not Status.PENDING or self.position >= len(self.approvers):
            return None
        return self.approvers[self.position]

    def to_json(self) -> dict[str, Any]:
        return {"approvers": [{"step": a.step.value, "person_id": a.person_id} for a in self.approvers],
                "position": self.position, "status": self.status.value,
                "decisions": [{"step": d.step.value, "person_id": d.person_id, "outcome": d.outcome,
                               "reason": d.reason} for d in self.decisions]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Approval:
        return cls(tuple(Approver(Step(a["step"]), a["person_id"]) for a in data["approvers"]),
                   int(data["position"]), Status(data["status"]),
                   tuple(Decision(Step(d["step"]), d["person_id"], d["outcome"], d.get("reason", ""))
                         for d in data.get("decisions", ())))


def start(chain: Chain) -> Approval:
    if not chain.complete:
        missing = ", ".join(step.value for step in chain.unresolved) or "every step"
        raise InvalidInput.field("approval_chain", f"nobody can approve at: {missing}")
    return Approval(chain.approvers)


def _turn(approval: Approval, actor_id: str) -> Approver:
    if approval.status is not Status.PENDING:
        raise Conflict(f"the item is already {approval.status.value}",
                       errors=[{"field": "status", "message": approval.status.value}])
    current = approval.current
    if current is None or current.person_id != actor_id:
        expected = "nobody" if current is None else f"{current.step.value} ({current.person_id})"
        raise Forbidden(f"not the current approver: the item waits for {expected}",
                        errors=[{"field": "actor_id", "message": "not the current approver"}])
    return current


def approve(approval: Approval, actor_id: str, reason: str = "") -> Approval:
    """The current approver approves; the last approval approves the item."""
    current = _turn(approval, actor_id)
    position = approval.position + 1
    status = Status.APPROVED if position >= len(approval.approvers) else Status.PENDING
    return replace(approval, position=position, status=status,
                   decisions=(*approval.decisions, Decision(current.step, actor_id, "approved", reason)))


def send_back(approval: Approval, actor_id: str, reason: str) -> Approval:
    """The current approver sends the item back to whoever prepares it, with a mandatory reason."""
    if not reason or not reason.strip():
        raise InvalidInput.field("reason", "sending back needs a reason")
    current = _turn(approval, actor_id)
    return replace(approval, status=Status.SENT_BACK,
                   decisions=(*approval.decisions, Decision(current.step, actor_id, "sent_back", reason.strip())))


def resubmit(approval: Approval) -> Approval:
    """A sent-back item, corrected, starts its chain again (the decisions stay as history)."""
    if approval.status is not Status.SENT_BACK:
        raise Conflict("only a sent-back item is resubmitted", errors=[{"field": "status",
                                                                       "message": approval.status.value}])
    return replace(approval, position=0, status=Status.PENDING)
