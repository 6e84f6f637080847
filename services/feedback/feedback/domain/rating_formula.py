"""The rating formula is written in the suite's one formula language (the goals formula language).

This adapter is the only place feedback touches the language, behind two functions:

    check(expression, known, field)          # InvalidInput naming `field` (with the position) if bad
    compiled(expression, known)(variables)   # -> Decimal, checked once, evaluated for many people

TODO(formula-move): the pure evaluator lives in services/goals/goals/domain/formula.py. It should move to a shared
library (libs/); then re-point the imports below and nothing else changes. Services never import each other: this
import is the one temporary exception, confined to this module (on the import-linter ignore list).
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Any

from feedback.domain.errors import InvalidInput


@lru_cache(maxsize=256)
def _parsed(expression: str) -> Any:
    from goals.domain import formula  # TODO(formula-move): from the shared library

    return formula.parse(expression)


def check(expression: str, known: Collection[str], *, field: str) -> None:
    """Parse and type-check `expression` (a number) against the variables it may use."""
    from goals.domain import errors as goals_errors  # TODO(formula-move)
    from goals.domain import formula

    try:
        formula.check(_parsed(expression), frozenset(known), formula.ValueType.NUMBER)
    except goals_errors.FormulaError as error:
        raise InvalidInput(field, f"{error.message} (at {error.position})") from None
    except goals_errors.InvalidInput as error:
        raise InvalidInput(field, error.message) from None


@lru_cache(maxsize=256)
def compiled(expression: str, known: frozenset[str]) -> Callable[[Mapping[str, Decimal]], Decimal]:
    """A checked expression as a function of its variables: checked once, evaluated for a whole cycle."""
    from goals.domain import errors as goals_errors  # TODO(formula-move)
    from goals.domain import formula

    check(expression, known, field="formula")
    tree, context = _parsed(expression).tree, formula._CONTEXT

    def run(values: Mapping[str, Decimal]) -> Decimal:
        try:
            with localcontext(context):
                return Decimal(formula._eval(tree, values))
        except goals_errors.FormulaError as error:
            raise InvalidInput("formula", f"{error.message} (at {error.position})") from None

    return run
