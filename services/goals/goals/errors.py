"""The goals domain's errors as problem documents (imported by service.py, which registers them once).

InvalidInput -> 400 naming the field (and the ids involved); a formula error also gives the position;
a weight total or an infeasible allocation -> 422 naming the goals or children; NotFound -> 404; NotAllowed
-> 422 (the cycle's state or the negotiation's turn forbids it), or 403 when the actor is not the party who may
act; Conflict -> 409.
"""
from __future__ import annotations

import re

from chassis import errors as problems
from goals.domain import errors as domain


def _path(field: str | None) -> str:
    """Field paths as the contracts name them: `items[2].weight` -> `items.2.weight`."""
    return re.sub(r"\[(\d+)\]", r".\1", field) if field else "body"


def _items(error: domain.DomainError, **extra) -> list[dict]:
    first = {"field": _path(error.field), "message": error.message, **extra}
    if error.ids:
        first["ids"] = list(error.ids)
    return [first, *({"field": _path(field), "message": message} for field, message in error.details[1:])]


def _invalid(error: domain.InvalidInput) -> problems.ServiceError:
    return problems.InvalidInput(str(error), errors=_items(error))


def _rule(error: domain.DomainError) -> problems.ServiceError:
    return problems.Unprocessable(str(error), errors=_items(error))


def _formula(error: domain.FormulaError) -> problems.ServiceError:
    return problems.InvalidInput(str(error), errors=_items(error, position=error.position), position=error.position)


def _not_allowed(error: domain.NotAllowed) -> problems.ServiceError:
    if error.field == "actor_id":
        return problems.Forbidden(error.message, errors=_items(error))
    return _rule(error)


problems.register_error(domain.DomainError, _rule)
problems.register_error(domain.InvalidInput, _invalid)
problems.register_error(domain.WeightTotalError, _rule)
problems.register_error(domain.InfeasibleAllocation, _rule)
problems.register_error(domain.FormulaError, _formula)
problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e), errors=_items(e)))
problems.register_error(domain.NotAllowed, _not_allowed)
problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e), errors=_items(e)))
