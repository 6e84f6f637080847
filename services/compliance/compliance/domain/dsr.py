"""Data-subject requests (access/export, erasure) as a saga over the services holding the data.

requested → collecting (one part per service: pending → done | failed | blocked) → completed when
every part is done, otherwise incomplete. An incomplete request can be retried. An erasure is never
reported complete while any service could not erase, including records kept under a legal hold.
Transitions return a new request; the caller stores it and publishes what changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from compliance.domain.errors import Conflict, InvalidInput, NotFound


class DsrKind(StrEnum):
    ACCESS = "access"  # export everything held about the subject
    ERASURE = "erasure"


class DsrState(StrEnum):
    REQUESTED = "requested"
    COLLECTING = "collecting"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"


class PartStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"  # erasure refused for held records


@dataclass(frozen=True, slots=True)
class DsrPart:
    service: str
    status: PartStatus = PartStatus.PENDING
    detail: str = ""
    export_ref: str | None = None  # where an access part left its export (object-store key)
    held_records: tuple[str, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DsrRequest:
    id: str
    kind: DsrKind
    subject: str
    requested_by: str
    requested_at: datetime
    due_at: datetime
    state: DsrState = DsrState.REQUESTED
    parts: tuple[DsrPart, ...] = ()
    closed_at: datetime | None = None

    @classmethod
    def open(
        cls, *, id: str, kind: DsrKind, subject: str, requested_by: str, at: datetime, deadline_days: int
    ) -> DsrRequest:
        """A new request, due `deadline_days` calendar days later (PIPL preset 15, GDPR 30)."""
        if deadline_days < 1:
            raise InvalidInput.at(("deadline_days",), "must be at least 1")
        if kind not in (DsrKind.ACCESS, DsrKind.ERASURE):
            raise InvalidInput.at(("kind",), "a request is for access or erasure")
        return cls(id, DsrKind(kind), subject, requested_by, at, at + timedelta(days=deadline_days))

    def start(self, services: Iterable[str], at: datetime) -> DsrRequest:
        """Fan out: one pending part per service that holds personal data."""
        if self.state != DsrState.REQUESTED:
            raise Conflict(f"request {self.id} is already {self.state}")
        names = list(dict.fromkeys(services))
        if not names:
            raise InvalidInput.at(("services",), "at least one service must take part")
        return replace(self, state=DsrState.COLLECTING, parts=tuple(DsrPart(name, updated_at=at) for name in names))

    def part(self, service: str) -> DsrPart:
        for part in self.parts:
            if part.service == service:
                return part
        raise NotFound(f"request {self.id} has no part for {service}")

    def record_done(self, service: str, at: datetime, *, export_ref: str | None = None) -> DsrRequest:
        if self.kind == DsrKind.ACCESS and export_ref is None:
            raise InvalidInput.at(("export_ref",), "an access part must say where its export is")
        return self._report(DsrPart(service, PartStatus.DONE, "", export_ref, (), at))

    def record_failed(self, service: str, at: datetime, reason: str) -> DsrRequest:
        if not reason.strip():
            raise InvalidInput.at(("reason",), "say why the part failed")
        return self._report(DsrPart(service, PartStatus.FAILED, reason, None, (), at))

    def record_blocked(self, service: str, at: datetime, held_records: Iterable[str], reason: str) -> DsrRequest:
        """The service erased what it could but must keep `held_records` under a legal hold."""
        if self.kind != DsrKind.ERASURE:
            raise Conflict("legal holds do not block access requests")
        held = tuple(held_records)
        if not held or not reason.strip():
            raise InvalidInput.at(("held_records",), "name the held records and the hold's reason")
        return self._report(DsrPart(service, PartStatus.BLOCKED, reason, None, held, at))

    def _report(self, outcome: DsrPart) -> DsrRequest:
        current = self.part(outcome.service)
        if current.status != PartStatus.PENDING:
            if _same_outcome(current, outcome):
                return self  # a redelivered report
            raise Conflict(f"{outcome.service} already reported {current.status} for request {self.id}")
        if self.state != DsrState.COLLECTING:
            raise Conflict(f"request {self.id} is {self.state}, not collecting")
        parts = tuple(outcome if part.service == outcome.service else part for part in self.parts)
        updated = replace(self, parts=parts)
        if any(part.status == PartStatus.PENDING for part in parts):
            return updated
        final = DsrState.COMPLETED if all(part.status == PartStatus.DONE for part in parts) else DsrState.INCOMPLETE
        return replace(updated, state=final, closed_at=outcome.updated_at)

    def retry(self, at: datetime) -> DsrRequest:
        """Send failed and blocked parts again (e.g. after an outage, or once a hold is released)."""
        if self.state != DsrState.INCOMPLETE:
            raise Conflict(f"only an incomplete request can be retried; {self.id} is {self.state}")
        parts = tuple(
            part if part.status == PartStatus.DONE else DsrPart(part.service, updated_at=at) for part in self.parts
        )
        return replace(self, state=DsrState.COLLECTING, parts=parts, closed_at=None)

    def expire(self, at: datetime, deadline: timedelta) -> DsrRequest:
        """Parts still pending `deadline` after they were asked fail: a service that never answers leaves the
        request incomplete (to be retried), never complete and never open for ever."""
        if self.state != DsrState.COLLECTING:
            return self
        updated = self
        for part in self.parts:
            asked = part.updated_at or self.requested_at
            if part.status == PartStatus.PENDING and at - asked >= deadline:
                updated = updated.record_failed(part.service, at, f"no answer within {_duration(deadline)}")
        return updated

    def outstanding(self) -> list[str]:
        """Why the request is not complete, one line per unfinished part."""
        lines = []
        for part in self.parts:
            if part.status == PartStatus.BLOCKED:
                lines.append(f"{part.service}: {len(part.held_records)} records kept under legal hold ({part.detail})")
            elif part.status == PartStatus.FAILED:
                lines.append(f"{part.service}: failed ({part.detail})")
            elif part.status == PartStatus.PENDING:
                lines.append(f"{part.service}: pending")
        return lines

    def is_overdue(self, now: datetime) -> bool:
        """Past the legal deadline and not completed (an incomplete request is still owed)."""
        return self.state != DsrState.COMPLETED and now > self.due_at


def _same_outcome(current: DsrPart, outcome: DsrPart) -> bool:
    return (current.status, current.detail, current.export_ref, current.held_records) == (
        outcome.status,
        outcome.detail,
        outcome.export_ref,
        outcome.held_records,
    )


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{span.total_seconds():g}s"
