"""Formula indicators in goals: the suite's formula language (the `formula` library) with goals' errors, and the
versions of an indicator's formula ("a running cycle keeps the version it started with").

The language itself (grammar, functions, limits, Decimal evaluation) is the library's; this module re-exports it
for goals' use cases and maps its errors to goals' domain errors, so a bad formula is a FormulaError (an
InvalidInput naming the field ``formula``, with the position) and a bad variable value an InvalidInput naming
``variables.<name>``, as goals answers them over RPC and HTTP.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import formula as language
from formula import MAX_DEPTH as MAX_DEPTH
from formula import MAX_LENGTH as MAX_LENGTH
from formula import Formula as Formula
from formula import Token as Token
from formula import ValueType as ValueType
from goals.domain.cycles import Cycle
from goals.domain.errors import FormulaError, FormulaEvaluationError, InvalidInput, NotFound


@contextmanager
def _goals_errors() -> Iterator[None]:
    """The library's errors as goals' domain errors (same message and position)."""
    try:
        yield
    except language.FormulaEvaluationError as error:
        raise FormulaEvaluationError(error.message, error.position) from None
    except language.FormulaError as error:
        raise FormulaError(error.message, error.position) from None
    except language.InvalidVariable as error:
        raise InvalidInput(f"variables.{error.name}", error.message) from None


def tokenize(text: str) -> list[Token]:
    with _goals_errors():
        return language.tokenize(text)


def parse(text: str) -> Formula:
    """Parse ``text``; FormulaError (with the 0-based position) on any syntax problem."""
    with _goals_errors():
        return language.parse(text)


def check(formula: Formula, known: Collection[str], expect: ValueType | None = ValueType.NUMBER) -> ValueType:
    """Check names, function arity and types (``expect``: the required result type, None: either)."""
    with _goals_errors():
        return language.check(formula, known, expect)


def evaluate(formula: Formula, variables: Mapping[str, Decimal]) -> Decimal | bool:
    """Check against ``variables`` and evaluate; FormulaEvaluationError for a division by zero and the like."""
    with _goals_errors():
        return language.evaluate(formula, variables)


@dataclass(frozen=True)
class FormulaVersion:
    formula_id: str
    version: int
    text: str
    created_at: datetime


def _sorted_history(history: Sequence[FormulaVersion]) -> list[FormulaVersion]:
    if not history:
        raise NotFound("the formula has no versions", field="formula_id")
    if len({v.formula_id for v in history}) != 1:
        raise InvalidInput("history", "versions of more than one formula were given")
    return sorted(history, key=lambda v: v.version)


def next_version(history: Sequence[FormulaVersion], formula_id: str, text: str, at: datetime) -> FormulaVersion:
    """A new version of a formula (1 for a new one); the text must parse. Versions are never
    edited: a change is always a new version, so a cycle pinned to an older one keeps it."""
    parse(text)
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("created_at", "must be a timezone-aware datetime")
    if not history:
        return FormulaVersion(formula_id, 1, text, at)
    latest = _sorted_history(history)[-1]
    if latest.formula_id != formula_id:
        raise InvalidInput("formula_id", "does not match the history")
    if at < latest.created_at:
        raise InvalidInput("created_at", "must not be before the previous version")
    return FormulaVersion(formula_id, latest.version + 1, text, at)


def pinned_version(history: Sequence[FormulaVersion], cycle: Cycle) -> FormulaVersion:
    """The version a cycle uses: "a running cycle keeps the version it started with".

    A draft cycle follows the latest version. Once opened, the cycle uses the latest version
    created at or before ``cycle.opened_at``; a formula first created after the cycle opened is
    pinned to its first version.
    """
    versions = _sorted_history(history)
    if cycle.opened_at is None:
        return versions[-1]
    started = [v for v in versions if v.created_at <= cycle.opened_at]
    return started[-1] if started else versions[0]
