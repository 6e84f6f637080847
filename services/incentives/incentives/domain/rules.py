"""Incentive rules are written in the suite's one formula language (the goals formula language): a process
reward's condition (`valid_leads >= 5 and demo_conversion >= 0.3`), its amount (`200`), a pool's bonus formula
(`base * multiplier`).

This adapter is the only place incentives touches the language, behind two functions:

    check(expression, known, field, expect="number"|"boolean")   # RuleError (400, with the position) if bad
    evaluate(expression, variables) -> Decimal | bool

TODO(formula-move): the pure evaluator lives in services/goals/goals/domain/formula.py and depends on goals only
trivially (its Cycle for `pinned_version`, `to_decimal`, the error classes). It should move to a shared library
(libs/); then re-point the two imports below and nothing else changes. Services never import each other: this
import is the one temporary exception, confined to this module.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, cast

from incentives.domain.errors import RuleError

_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]")


def variable_name(code: str) -> str:
    """An indicator code as a formula variable (`demo-conversion` -> `demo_conversion`)."""
    name = _IDENTIFIER.sub("_", code.strip())
    return name if name and not name[0].isdigit() else f"_{name}"


@lru_cache(maxsize=2048)  # rules are few and evaluated for many people
def _parsed(expression: str) -> Any:
    from goals.domain import formula  # TODO(formula-move): from the shared library

    return formula.parse(expression)


def check(expression: str, known: Collection[str], *, field: str,
          expect: Literal["number", "boolean"] = "number") -> None:
    """Parse and type-check `expression` against the variables it may use; RuleError naming `field` if not."""
    from goals.domain import errors as goals_errors  # TODO(formula-move)
    from goals.domain import formula

    try:
        formula.check(_parsed(expression), frozenset(known), formula.ValueType(expect))
    except goals_errors.FormulaError as error:
        raise RuleError(field, error.message, error.position) from None
    except goals_errors.InvalidInput as error:
        raise RuleError(field, error.message, 0) from None


def evaluate(expression: str, variables: Mapping[str, Decimal]) -> Decimal | bool:
    """The value of a checked expression; an evaluation error (a division by zero...) is a RuleError."""
    from goals.domain import errors as goals_errors  # TODO(formula-move)
    from goals.domain import formula

    try:
        return cast(Decimal | bool, formula.evaluate(_parsed(expression), variables))
    except goals_errors.FormulaError as error:
        raise RuleError("rule", error.message, error.position) from None
    except goals_errors.DomainError as error:
        raise RuleError("rule", error.message, 0) from None


@lru_cache(maxsize=2048)
def compiled(expression: str, known: frozenset[str]) -> Callable[[Mapping[str, Decimal]], Decimal | bool]:
    """A checked expression as a function of its variables (Decimals): checked once, then evaluated without
    re-checking, for rules run over whole populations. The caller passes every name in `known`."""
    from decimal import localcontext

    from goals.domain import errors as goals_errors  # TODO(formula-move)
    from goals.domain import formula

    parsed = _parsed(expression)
    try:
        formula.check(parsed, known, expect=None)
    except goals_errors.FormulaError as error:
        raise RuleError("rule", error.message, error.position) from None
    tree, context = parsed.tree, formula._CONTEXT

    def run(values: Mapping[str, Decimal]) -> Decimal | bool:
        try:
            with localcontext(context):
                return cast(Decimal | bool, formula._eval(tree, values))
        except goals_errors.FormulaError as error:
            raise RuleError("rule", error.message, error.position) from None

    return run


def names_in(expression: str, *, field: str = "rule") -> list[str]:
    """The variables an expression reads (what a proposal line shows as its inputs), sorted."""
    from goals.domain import errors as goals_errors  # TODO(formula-move)

    try:
        return sorted(_parsed(expression).variables)
    except goals_errors.FormulaError as error:
        raise RuleError(field, error.message, error.position) from None
