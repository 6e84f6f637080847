"""The one error hierarchy of the compliance domain.

`compliance.errors.register()` (called once from the service) maps each class to one HTTP status
(problem+json): InvalidInput → 400 with `errors` listing field paths, NotAllowed → 403, NotFound → 404,
Conflict → 409, IntegrityError → 422 (the data exists but cannot be trusted). Anything else escaping the domain is
a bug (500). Where no rule is involved, use cases raise the chassis errors (chassis.errors) directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One wrong field: `path` from the request root, e.g. ("people", 3, "email")."""

    path: tuple[str | int, ...]
    message: str

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer of the field, the form problem documents carry."""
        return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in self.path)


class DomainError(Exception):
    """Base of every rule violation the domain reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The input breaks a rule; `errors` names every offending field that was found."""

    def __init__(self, message: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.errors: tuple[FieldError, ...] = tuple(errors)

    @classmethod
    def at(cls, path: Sequence[str | int], message: str) -> InvalidInput:
        return cls(message, [FieldError(tuple(path), message)])


class NotAllowed(DomainError):
    """The actor may not do this (policy) or the rule forbids this actor (e.g. withdrawing someone else's appeal)."""


class Conflict(DomainError):
    """The request is valid but the current state forbids it (wrong state, duplicate)."""


class NotFound(DomainError):
    """A referenced thing does not exist."""


class IntegrityError(DomainError):
    """Stored data failed an integrity check: a tampered or truncated archive, or a wrong key.

    It shares its name with sqlalchemy.exc.IntegrityError: where both are in scope, refer to this one
    as `errors.IntegrityError`.
    """
