"""Evaluation with Decimal in one fixed context: `evaluate` checks, converts and evaluates in one call;
`checked` checks once and gives a CheckedFormula to evaluate for many sets of values (a rule over a whole
population) without checking again."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DecimalException, localcontext

from formula.checker import ValueType, check
from formula.errors import FormulaEvaluationError, InvalidVariable
from formula.syntax import Arith, Call, Compare, Formula, Logic, Name, Node, Number, Unary

MAX_ROUND_PLACES = 10
# Every evaluation runs in this context: 28 significant digits, and exponents far beyond any business number but
# bounded, so a hostile `10 * 10 * ...` ends in FormulaEvaluationError rather than a huge allocation.
DECIMAL_CONTEXT = Context(prec=28, Emax=999_999, Emin=-999_999)


def evaluate(formula: Formula, variables: Mapping[str, object]) -> Decimal | bool:
    """Evaluate with the given variable values (Decimal or int).

    The formula is checked against ``variables`` first, so a missing variable is a FormulaError
    naming it; a value that is not a finite Decimal or int is an InvalidVariable naming it.
    Arithmetic failures (division by zero, out-of-range numbers) raise FormulaEvaluationError at
    the operator's position.
    """
    check(formula, variables.keys(), expect=None)
    values = {name: number_value(name, value) for name, value in variables.items()}
    with localcontext(DECIMAL_CONTEXT):
        return _eval(formula.tree, values)


def number_value(name: str, value: object) -> Decimal:
    """``value`` as a finite Decimal; accepts Decimal and int (not bool, not float), else InvalidVariable."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidVariable(name, f"must be a Decimal or an integer, got {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise InvalidVariable(name, "must be a finite number")
    return result


@dataclass(frozen=True)
class CheckedFormula:
    """A formula checked once against the names it may read; `evaluate` runs it without checking again."""

    formula: Formula
    type: ValueType

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal | bool:
        """The value for ``values`` (finite Decimals, one per name the formula reads, not converted: this is the
        path for many evaluations); a name without a value is a FormulaEvaluationError at its position."""
        with localcontext(DECIMAL_CONTEXT):
            return _eval(self.formula.tree, values)


def checked(formula: Formula, known: Collection[str], expect: ValueType | None = None) -> CheckedFormula:
    """Check ``formula`` against the names in ``known`` (and the result type ``expect``, None: either) once."""
    return CheckedFormula(formula, check(formula, known, expect))


def _number(node: Node, values: Mapping[str, Decimal]) -> Decimal:
    value = _eval(node, values)
    assert isinstance(value, Decimal)  # guaranteed by check()
    return value


def _truth(node: Node, values: Mapping[str, Decimal]) -> bool:
    value = _eval(node, values)
    assert isinstance(value, bool)  # guaranteed by check()
    return value


def _arith(op: str, left: Decimal, right: Decimal, pos: int) -> Decimal:
    if op in "/%" and right == 0:
        raise FormulaEvaluationError("division by zero" if op == "/" else "remainder of division by zero", pos)
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / right
        return left % right
    except DecimalException as error:
        raise FormulaEvaluationError(f"number out of range in {op!r}", pos) from error


_COMPARE = {
    "<": Decimal.__lt__,
    "<=": Decimal.__le__,
    ">": Decimal.__gt__,
    ">=": Decimal.__ge__,
    "==": Decimal.__eq__,
    "!=": Decimal.__ne__,
}


def _eval(node: Node, values: Mapping[str, Decimal]) -> Decimal | bool:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        try:
            return values[node.name]
        except KeyError:
            raise FormulaEvaluationError(f"no value for variable {node.name!r}", node.pos) from None
    if isinstance(node, Unary):
        if node.op == "not":
            return not _truth(node.operand, values)
        return _arith("-", Decimal(0), _number(node.operand, values), node.pos)
    if isinstance(node, Arith):
        result = _number(node.first, values)
        for op, pos, operand in node.rest:
            result = _arith(op, result, _number(operand, values), pos)
        return result
    if isinstance(node, Compare):
        return bool(_COMPARE[node.op](_number(node.left, values), _number(node.right, values)))
    if isinstance(node, Logic):
        if node.op == "and":
            return all(_truth(operand, values) for operand in node.operands)
        return any(_truth(operand, values) for operand in node.operands)
    return _call(node, values)


def _call(node: Call, values: Mapping[str, Decimal]) -> Decimal | bool:
    if node.name == "if":
        condition, then, otherwise = node.args
        return _eval(then if _truth(condition, values) else otherwise, values)
    args = [_number(arg, values) for arg in node.args]
    try:
        if node.name == "min":
            return min(args)
        if node.name == "max":
            return max(args)
        if node.name == "sum":
            return sum(args, Decimal(0))
        if node.name == "avg":
            return sum(args, Decimal(0)) / len(args)
        if node.name == "abs":
            return abs(args[0])
        if node.name == "clamp":
            value, low, high = args
            if low > high:
                raise FormulaEvaluationError("clamp() lower bound is above the upper bound", node.pos)
            return min(high, max(low, value))
        return _round(args, node.pos)
    except DecimalException as error:
        raise FormulaEvaluationError(f"number out of range in {node.name}()", node.pos) from error


def _round(args: list[Decimal], pos: int) -> Decimal:
    places = args[1] if len(args) == 2 else Decimal(0)
    if places != places.to_integral_value() or not 0 <= places <= MAX_ROUND_PLACES:
        raise FormulaEvaluationError(f"round() places must be a whole number from 0 to {MAX_ROUND_PLACES}", pos)
    return args[0].quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
