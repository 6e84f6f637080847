"""Jixiao's formula language: one small, safe, typed expression language for every service that lets people
write rules (goals' formula indicators, feedback's rating formula, incentives' rules and pools).

    parsed = parse("base * multiplier + min(patents * 2, 10)")      # FormulaError (message, position)
    check(parsed, {"base", "multiplier", "patents"})                 # names, arity, types -> ValueType
    evaluate(parsed, {"base": Decimal(80), ...})                     # -> Decimal | bool
    rule = checked(parsed, known); rule.evaluate(values)             # check once, evaluate many times

Plain Python with Decimal arithmetic: no eval, no chassis, no service, no database (import-linter checks it).
"""
from formula.checker import FUNCTIONS, ValueType, check
from formula.errors import FormulaError, FormulaEvaluationError, InvalidVariable
from formula.evaluator import DECIMAL_CONTEXT, MAX_ROUND_PLACES, CheckedFormula, checked, evaluate, number_value
from formula.syntax import (
    KEYWORDS,
    MAX_DEPTH,
    MAX_LENGTH,
    Arith,
    Call,
    Compare,
    Formula,
    Logic,
    Name,
    Node,
    Number,
    Token,
    Unary,
    parse,
    tokenize,
)

__all__ = [
    "DECIMAL_CONTEXT", "FUNCTIONS", "KEYWORDS", "MAX_DEPTH", "MAX_LENGTH", "MAX_ROUND_PLACES", "Arith", "Call",
    "CheckedFormula", "Compare", "Formula", "FormulaError", "FormulaEvaluationError", "InvalidVariable", "Logic",
    "Name", "Node", "Number", "Token", "Unary", "ValueType", "check", "checked", "evaluate", "number_value", "parse",
    "tokenize",
]
