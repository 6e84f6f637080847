"""The goals domain's errors as problem documents: `register()` is called once by goals/service.py (an explicit
call, not an import side effect: importing this module maps nothing), and by the use-case tests' fixture.

InvalidInput -> 400 naming the field (and the ids involved); a formula error also gives the position;
WeightTotalError and InfeasibleAllocation (each value valid, together they break a rule) -> 422 naming the goals
or children; NotFound -> 404; NotAllowed -> 403 when the actor is not the party who may act (field `actor_id`),
else 422 (the cycle's state or the negotiation's turn forbids it); Conflict -> 409; any other DomainError -> 422.
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


_registered = False


def register() -> None:
    """Map goals' domain errors to problem documents (idempotent). The most specific class registers last: the
    chassis tries the latest registration first."""
    global _registered
    if _registered:
        return
    problems.register_error(domain.DomainError, _rule)
    problems.register_error(domain.InvalidInput, _invalid)
    problems.register_error(domain.WeightTotalError, _rule)
    problems.register_error(domain.InfeasibleAllocation, _rule)
    problems.register_error(domain.FormulaError, _formula)
    problems.register_error(domain.NotFound, lambda e: problems.NotFound(str(e), errors=_items(e)))
    problems.register_error(domain.NotAllowed, _not_allowed)
    problems.register_error(domain.Conflict, lambda e: problems.Conflict(str(e), errors=_items(e)))
    _registered = True
