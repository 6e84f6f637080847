"""Incentives' domain errors as problem documents: `register()` is called once by the service module (an explicit
call, not an import side effect).

InvalidInput -> 400 naming the field; RuleError -> 400 with the position in the rule; NotFound -> 404; NotAllowed
-> 422 naming the field (beyond balance or stock, over budget, out of state), or 403 when the field is `actor_id`
(approving one's own item, not the current approver); Conflict -> 409.
"""
from __future__ import annotations

from chassis import errors as problems
from incentives.domain import errors as domain

_registered = False


def _items(error: domain.DomainError, **extra) -> list[dict]:
    item = {"field": error.field or "body", "message": error.message, **extra}
    if error.ids:
        item["ids"] = list(error.ids)
    return [item]


def _not_allowed(error: domain.NotAllowed) -> problems.ServiceError:
    if error.field == "actor_id":
        return problems.Forbidden(error.message, errors=_items(error))
    return problems.Unprocessable(str(error), errors=_items(error))


def register() -> None:
    """Map incentives' domain errors to problem documents (idempotent)."""
    global _registered
    if _registered:
        return
    problems.register_error(domain.DomainError, lambda e: problems.Unprocessable(str(e), errors=_items(e)))
    problems.register_error(domain.InvalidInput, lambda e: problems.InvalidInput(str(e), errors=_items(e)))
    problems.register_error(domain.RuleError, lambda e: problems.InvalidInput(
        str(e), errors=_items(e, position=e.position), position=e.position))
    problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e), errors=_items(e)))
    problems.register_error(domain.NotAllowed, _not_allowed)
    problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e), errors=_items(e)))
    _registered = True
