"""The notifications domain's errors (no framework imports); `notifications.errors.register` maps them to
problem documents: InvalidInput -> 400 naming the field, NotAllowed -> 403, NotFound -> 404, Conflict -> 409."""
from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(DomainError):
    """A value is malformed or breaks a rule about values."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class ForbiddenField(InvalidInput):
    """A template names a field its kind may not show (ratings, pay, anything off the allow-list)."""


class UnsafeUrl(InvalidInput):
    """A webhook URL the suite must not call (private, loopback, link-local addresses; plain http in
    production)."""


class PatternNotAllowed(InvalidInput):
    """A subscription asks for event types outside its client's `event_patterns`."""


class NotAllowed(DomainError):
    """The actor may not do this."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass
