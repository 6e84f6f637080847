"""Compliance's domain errors as problem documents: `register()` is called once from the service module (an
explicit call, not an import side effect). Each domain error has exactly one status:

InvalidInput -> 400 naming every wrong field; NotAllowed -> 403; NotFound -> 404; Conflict -> 409 (the state
forbids it now, or a duplicate); IntegrityError -> 422 (the data exists but cannot be trusted).
"""
from __future__ import annotations

from chassis import errors as problems
from compliance.domain import errors as domain

_registered = False


def _invalid(error: BaseException) -> problems.ServiceError:
    items = error.errors if isinstance(error, domain.InvalidInput) else ()
    fields = [{"field": ".".join(str(p) for p in item.path) or "body", "message": item.message} for item in items]
    return problems.InvalidInput(str(error), errors=fields)


def register() -> None:
    """Map compliance's domain errors to problem documents (idempotent)."""
    global _registered
    if _registered:
        return
    problems.register_error(domain.InvalidInput, _invalid)
    problems.register_error(domain.NotAllowed, lambda e: problems.Forbidden(str(e)))
    problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e)))
    problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e)))
    problems.register_error(domain.IntegrityError, lambda e: problems.Unprocessable(str(e)))
    _registered = True
