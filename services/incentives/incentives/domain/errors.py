"""The incentives domain's errors: plain exceptions the service maps to problem documents in one place
(`incentives.errors.register`, called from the service).

Every error names the `field` that is wrong (a dotted path into the request, e.g. `items.0.points`) and, when
useful, the `ids` involved. Mapping: InvalidInput -> 400; RuleError -> 400 with the position in the rule;
NotAllowed -> 422 (the state or a business rule forbids it: beyond balance or stock, over budget), or 403 when
`field == "actor_id"` (the actor is not the party who may act, e.g. approving their own item); NotFound -> 404;
Conflict -> 409.
"""
from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, ids: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.ids = tuple(ids)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, field: str, message: str, *, ids: Iterable[str] = ()) -> None:
        super().__init__(message, field=field, ids=ids)


class RuleError(InvalidInput):
    """A rule (the formula language) does not parse, does not type-check, or names an unknown input."""

    code = "rule_error"

    def __init__(self, field: str, message: str, position: int) -> None:
        self.position = position
        super().__init__(field, message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (at position {self.position})"


class NotFound(DomainError):
    code = "not_found"


class NotAllowed(DomainError):
    """Well-formed, but the current state, a balance, a stock, a budget or the acting party forbids it."""

    code = "not_allowed"


class Conflict(DomainError):
    code = "conflict"
