"""Feedback's domain errors as problem documents: `register()` is called once by the service class body (an
explicit call, not an import side effect)."""
from __future__ import annotations

from chassis import errors as problems
from feedback.domain import errors as domain

_registered = False


def _items(error: domain.DomainError) -> list[dict]:
    return [{"field": error.field or "body", "message": error.message}]


def _not_allowed(error: domain.NotAllowed) -> problems.ServiceError:
    if error.field == "actor":
        return problems.Forbidden(error.message, errors=_items(error))
    return problems.Unprocessable(str(error), errors=_items(error))


def register() -> None:
    """Map feedback's domain errors to problem documents (idempotent)."""
    global _registered
    if _registered:
        return
    problems.register_error(domain.DomainError, lambda e: problems.Unprocessable(str(e), errors=_items(e)))
    problems.register_error(domain.InvalidInput, lambda e: problems.InvalidInput(str(e), errors=_items(e)))
    problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e), errors=_items(e)))
    problems.register_error(domain.NotAllowed, _not_allowed)
    problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e), errors=_items(e)))
    _registered = True
