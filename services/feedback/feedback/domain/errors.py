"""Feedback's domain errors. `errors.register(...)` maps them to problem documents, once, from the service:
InvalidInput -> 400 naming the field; NotFound -> 404; NotAllowed -> 403 when the actor may not (field
`actor`), else 422 (the state forbids it); Conflict -> 409."""
from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """Well-formed, but the state (or, with field 'actor', the acting party) forbids it."""


class Conflict(DomainError):
    pass
