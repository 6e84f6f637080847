"""The notifications domain's errors as problem documents: `register()` maps them once (service.py calls it)."""
from __future__ import annotations

from chassis import errors as problems
from notifications.domain import errors as domain


def _items(error: domain.DomainError) -> list[dict]:
    return [{"field": error.field or "body", "message": error.message}]


_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    problems.register_error(domain.DomainError, lambda e: problems.Unprocessable(str(e), errors=_items(e)))
    problems.register_error(domain.InvalidInput, lambda e: problems.InvalidInput(str(e), errors=_items(e)))
    problems.register_error(domain.NotAllowed, lambda e: problems.Forbidden(str(e), errors=_items(e)))
    problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e), errors=_items(e)))
    problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e), errors=_items(e)))
