"""Incentive rules are written in the suite's one formula language (libs/formula, `formula`): a process
reward's condition (`valid_leads >= 5 and demo_conversion >= 0.3`), its amount (`200`), a pool's bonus formula
(`base * multiplier`).

This adapter is the only place incentives touches the language, behind two functions:

    check(expression, known, field, expect="number"|"boolean")   # RuleError (400, with the position) if bad
    evaluate(expression, variables) -> Decimal | bool

The language's errors (FormulaError with its position, InvalidVariable) become RuleErrors here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Literal

import formula as language
from incentives.domain.errors import RuleError

_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]")


def variable_name(code: str) -> str:
    """An indicator code as a formula variable (`demo-conversion` -> `demo_conversion`)."""
    name = _IDENTIFIER.sub("_", code.strip())
    return name if name and not name[0].isdigit() else f"_{name}"


@lru_cache(maxsize=2048)  # rules are few and evaluated for many people
def _parsed(expression: str) -> language.Formula:
    return language.parse(expression)


def check(expression: str, known: Collection[str], *, field: str,
          expect: Literal["number", "boolean"] = "number") -> None:
    """Parse and type-check `expression` against the variables it may use; RuleError naming `field` if not."""
    try:
        language.check(_parsed(expression), frozenset(known), language.ValueType(expect))
    except language.FormulaError as error:
        raise RuleError(field, error.message, error.position) from None


def evaluate(expression: str, variables: Mapping[str, Decimal]) -> Decimal | bool:
    """The value of a checked expression; an evaluation error (a division by zero...) is a RuleError."""
    try:
        return language.evaluate(_parsed(expression), variables)
    except language.FormulaError as error:
        raise RuleError("rule", error.message, error.position) from None
    except language.InvalidVariable as error:
        raise RuleError("rule", error.message, 0) from None


@lru_cache(maxsize=2048)
def compiled(expression: str, known: frozenset[str]) -> Callable[[Mapping[str, Decimal]], Decimal | bool]:
    """A checked expression as a function of its variables (Decimals): checked once, then evaluated without
    re-checking, for rules run over whole populations. The caller passes every name in `known`."""
    try:
        rule = language.checked(_parsed(expression), known)
    except language.FormulaError as error:
        raise RuleError("rule", error.message, error.position) from None

    def run(values: Mapping[str, Decimal]) -> Decimal | bool:
        try:
            return rule.evaluate(values)
        except language.FormulaError as error:
            raise RuleError("rule", error.message, error.position) from None

    return run


def names_in(expression: str, *, field: str = "rule") -> list[str]:
    """The variables an expression reads (what a proposal line shows as its inputs), sorted."""
    try:
        return sorted(_parsed(expression).variables)
    except language.FormulaError as error:
        raise RuleError(field, error.message, error.position) from None
