"""One hierarchy of domain errors, so the service layer can map them to 4xx problem documents.

Every error carries ``field`` (a dotted path into the request or record that is wrong, or None),
``ids`` (the offending entity ids) and optional ``details`` (further ``(field, message)`` pairs when
several things are wrong at once). The service maps them to problem documents in `goals.errors.register()`:
InvalidInput -> 400 naming the field (FormulaError with its position), except WeightTotalError and
InfeasibleAllocation -> 422 (each value is valid; together they break a rule); NotFound -> 404; NotAllowed ->
403 when the acting party may not (field ``actor_id``), else 422 (the cycle's state or the negotiation's turn
forbids it); Conflict -> 409 (the request contradicts stored data, e.g. a cycle in the goal tree or a stale
proposal id); any other DomainError -> 422.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


class DomainError(Exception):
    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        ids: Iterable[str] = (),
        details: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.ids = tuple(ids)
        self.details = tuple(details)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(DomainError):
    """A value is malformed or breaks a rule about values (range, total, reference)."""

    code = "invalid_input"

    def __init__(
        self,
        field: str,
        message: str,
        *,
        ids: Iterable[str] = (),
        details: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message, field=field, ids=ids, details=details)


class NotFound(DomainError):
    code = "not_found"


class NotAllowed(DomainError):
    """The operation is well-formed but the current state or the acting party forbids it."""

    code = "not_allowed"


class Conflict(DomainError):
    """The operation contradicts existing data (tree cycle, stale or duplicate id)."""

    code = "conflict"


class WeightTotalError(InvalidInput):
    """A person's goal weights in a cycle do not total exactly 100.00."""

    code = "weight_total"

    def __init__(
        self, total: Decimal, goal_ids: Iterable[str], *, field: str = "weights", rule: str = "must total 100.00"
    ) -> None:
        self.total = total
        goal_ids = tuple(goal_ids)
        super().__init__(
            field,
            f"weights {rule}, got {total} over goals {', '.join(map(str, goal_ids)) or '(none)'}",
            ids=goal_ids,
        )


class InfeasibleAllocation(InvalidInput):
    """The per-child minimums/maximums cannot be met by the total to allocate."""

    code = "infeasible_allocation"


class FormulaError(InvalidInput):
    """A formula cannot be parsed or checked; ``position`` is the 0-based character offset."""

    code = "formula_error"

    def __init__(self, message: str, position: int, *, field: str = "formula") -> None:
        self.position = position
        super().__init__(field, message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (at position {self.position})"


class FormulaEvaluationError(FormulaError):
    """Evaluation failed (division by zero, missing variable, number out of range)."""

    code = "formula_evaluation"
