"""Type checking: every name known, every function called with the right number of arguments, numbers where
numbers belong and booleans where booleans belong. Run before any evaluation, so evaluation never meets a type
error."""
from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from formula.errors import FormulaError
from formula.syntax import Arith, Call, Compare, Formula, Logic, Name, Node, Number, Unary

# name -> (minimum, maximum) argument count; None = any number.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (1, None),
    "max": (1, None),
    "sum": (1, None),
    "avg": (1, None),
    "abs": (1, 1),
    "round": (1, 2),
    "clamp": (3, 3),
    "if": (3, 3),
}


class ValueType(StrEnum):
    NUMBER = "number"
    BOOLEAN = "boolean"


def check(formula: Formula, known: Collection[str], expect: ValueType | None = ValueType.NUMBER) -> ValueType:
    """Check names, function arity and types; returns the formula's type.

    Raises FormulaError naming the first unknown variable or function, wrong argument count or
    type mismatch, with its position. ``expect`` is the required result type (None: either).
    """
    result = _type_of(formula.tree, frozenset(known))
    if expect is not None and result is not expect:
        raise FormulaError(f"formula must produce a {expect.value}, not a {result.value}", formula.tree.pos)
    return result


def _require(node: Node, known: frozenset[str], wanted: ValueType, context: str) -> None:
    actual = _type_of(node, known)
    if actual is not wanted:
        raise FormulaError(f"{context} needs a {wanted.value}, got a {actual.value}", node.pos)


def _type_of(node: Node, known: frozenset[str]) -> ValueType:
    if isinstance(node, Number):
        return ValueType.NUMBER
    if isinstance(node, Name):
        if node.name not in known:
            raise FormulaError(f"unknown variable {node.name!r}", node.pos)
        return ValueType.NUMBER
    if isinstance(node, Unary):
        if node.op == "not":
            _require(node.operand, known, ValueType.BOOLEAN, "'not'")
            return ValueType.BOOLEAN
        _require(node.operand, known, ValueType.NUMBER, "unary '-'")
        return ValueType.NUMBER
    if isinstance(node, Arith):
        _require(node.first, known, ValueType.NUMBER, f"{node.rest[0][0]!r}")
        for op, _, operand in node.rest:
            _require(operand, known, ValueType.NUMBER, f"{op!r}")
        return ValueType.NUMBER
    if isinstance(node, Compare):
        _require(node.left, known, ValueType.NUMBER, f"{node.op!r}")
        _require(node.right, known, ValueType.NUMBER, f"{node.op!r}")
        return ValueType.BOOLEAN
    if isinstance(node, Logic):
        for operand in node.operands:
            _require(operand, known, ValueType.BOOLEAN, f"{node.op!r}")
        return ValueType.BOOLEAN
    return _type_of_call(node, known)


def _type_of_call(node: Call, known: frozenset[str]) -> ValueType:
    if node.name not in FUNCTIONS:
        raise FormulaError(f"unknown function {node.name!r}", node.pos)
    low, high = FUNCTIONS[node.name]
    count = len(node.args)
    if count < low or (high is not None and count > high):
        expected = f"{low}" if low == high else f"{low} or {high}" if high is not None else f"at least {low}"
        raise FormulaError(f"{node.name}() takes {expected} argument(s), got {count}", node.pos)
    if node.name == "if":
        condition, then, otherwise = node.args
        _require(condition, known, ValueType.BOOLEAN, "the condition of if()")
        branch = _type_of(then, known)
        _require(otherwise, known, branch, "both branches of if()")
        return branch
    for arg in node.args:
        _require(arg, known, ValueType.NUMBER, f"{node.name}()")
    return ValueType.NUMBER
