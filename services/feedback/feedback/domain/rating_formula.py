"""The rating formula is written in the suite's one formula language (libs/formula, `formula`).

This adapter is the only place feedback touches the language, behind two functions:

    check(expression, known, field)          # InvalidInput naming `field` (with the position) if bad
    compiled(expression, known)(variables)   # -> Decimal, checked once, evaluated for many people

The language's errors (FormulaError with its position) become InvalidInput naming the field here.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from functools import lru_cache

import formula as language
from feedback.domain.errors import InvalidInput


@lru_cache(maxsize=256)
def _parsed(expression: str) -> language.Formula:
    return language.parse(expression)


def check(expression: str, known: Collection[str], *, field: str) -> None:
    """Parse and type-check `expression` (a number) against the variables it may use."""
    try:
        language.check(_parsed(expression), frozenset(known), language.ValueType.NUMBER)
    except language.FormulaError as error:
        raise InvalidInput(field, f"{error.message} (at {error.position})") from None


@lru_cache(maxsize=256)
def compiled(expression: str, known: frozenset[str]) -> Callable[[Mapping[str, Decimal]], Decimal]:
    """A checked expression as a function of its variables: checked once, evaluated for a whole cycle."""
    check(expression, known, field="formula")
    rating = language.checked(_parsed(expression), known, language.ValueType.NUMBER)

    def run(values: Mapping[str, Decimal]) -> Decimal:
        try:
            return Decimal(rating.evaluate(values))
        except language.FormulaError as error:
            raise InvalidInput("formula", f"{error.message} (at {error.position})") from None

    return run
