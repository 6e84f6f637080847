"""Formula indicators: a small, safe expression language evaluated with Decimal.

Grammar (lowest precedence first)::

    expression     := or
    or             := and ("or" and)*
    and            := not ("and" not)*
    not            := "not" not | comparison
    comparison     := additive [("<" | "<=" | ">" | ">=" | "==" | "!=") additive]   (no chaining)
    additive       := multiplicative (("+" | "-") multiplicative)*
    multiplicative := unary (("*" | "/" | "%") unary)*
    unary          := "-" unary | primary
    primary        := NUMBER | NAME | NAME "(" [expression ("," expression)*] ")" | "(" expression ")"

NUMBER is digits with an optional fraction (``12``, ``0.5``); NAME is a letter or ``_`` followed by
letters, digits or ``_`` (Unicode letters allowed). ``and``, ``or``, ``not`` and ``if`` are reserved.
Two value types, number and boolean, are checked before evaluation: arithmetic and comparisons take
numbers, ``and``/``or``/``not`` take booleans, ``if(cond, a, b)`` takes a boolean and two values of
one type. Functions: min, max, sum, avg (one or more numbers), abs(x), round(x[, places]) (half up,
places 0..10), clamp(x, low, high), if(cond, a, b) (only the chosen branch is evaluated; ``and``/
``or`` short-circuit, so ``if(n == 0, 0, total / n)`` is safe). ``%`` is the Decimal remainder,
which takes the sign of the dividend (-7 % 3 == -1).

Nothing here uses eval, exec or compile. Text longer than MAX_LENGTH or nested deeper than
MAX_DEPTH is refused with a FormulaError, so hostile input cannot exhaust the stack; long flat
chains such as ``a + b + ... + z`` become one n-ary node and cost no depth.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, DecimalException, localcontext
from enum import StrEnum

from goals.domain.cycles import Cycle
from goals.domain.decimals import to_decimal
from goals.domain.errors import FormulaError, FormulaEvaluationError, InvalidInput, NotFound

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_ROUND_PLACES = 10

_DIGITS = "0123456789"
_OPERATORS = ("<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ",")
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
KEYWORDS = frozenset({"and", "or", "not", "if"})

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

_CONTEXT = Context(prec=28, Emax=999_999, Emin=-999_999)


class ValueType(StrEnum):
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises FormulaError at the first character it cannot use."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _DIGITS:
            start = i
            while i < n and text[i] in _DIGITS:
                i += 1
            if i < n and text[i] == ".":
                i += 1
                if i >= n or text[i] not in _DIGITS:
                    raise FormulaError("expected a digit after the decimal point", i)
                while i < n and text[i] in _DIGITS:
                    i += 1
            tokens.append(Token("number", text[start:i], start))
        elif c.isalpha() or c == "_":
            start = i
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            tokens.append(Token("name", text[start:i], start))
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                hint = " (use == to compare)" if c == "=" else ""
                raise FormulaError(f"unexpected character {c!r}{hint}", i)
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", n))
    return tokens


@dataclass(frozen=True)
class Number:
    value: Decimal
    pos: int


@dataclass(frozen=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    pos: int


@dataclass(frozen=True)
class Arith:
    """A left-associative chain ``first op1 x1 op2 x2 ...`` of one precedence level."""

    first: Node
    rest: tuple[tuple[str, int, Node], ...]  # (operator, operator position, operand)
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int  # where the left operand starts


@dataclass(frozen=True)
class Logic:
    op: str  # "and" or "or"
    operands: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


Node = Number | Name | Unary | Arith | Compare | Logic | Call


@dataclass(frozen=True)
class Formula:
    text: str
    tree: Node

    @property
    def variables(self) -> frozenset[str]:
        names: set[str] = set()
        stack: list[Node] = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Name):
                names.add(node.name)
            stack.extend(_children(node))
        return frozenset(names)


def _children(node: Node) -> Sequence[Node]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Arith):
        return (node.first, *(operand for _, _, operand in node.rest))
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Call):
        return node.args
    return ()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, text: str) -> bool:
        return self.token.kind == kind and self.token.text == text

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"formula is nested deeper than {MAX_DEPTH} levels", self.token.pos)

    def expect(self, text: str) -> Token:
        if not self.at("op", text):
            raise FormulaError(f"expected {text!r}, found {self.describe()}", self.token.pos)
        return self.advance()

    def describe(self) -> str:
        return "end of formula" if self.token.kind == "end" else repr(self.token.text)

    def parse(self) -> Node:
        node = self.expression()
        if self.token.kind != "end":
            raise FormulaError(f"unexpected {self.describe()}", self.token.pos)
        return node

    def expression(self) -> Node:
        self.enter()
        node = self.logic("or", self.conjunction)
        self.depth -= 1
        return node

    def conjunction(self) -> Node:
        return self.logic("and", self.negation)

    def logic(self, keyword: str, operand: Callable[[], Node]) -> Node:
        pos = self.token.pos
        operands = [operand()]
        while self.at("name", keyword):
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else Logic(keyword, tuple(operands), pos)

    def negation(self) -> Node:
        if not self.at("name", "not"):
            return self.comparison()
        pos = self.advance().pos
        self.enter()
        operand = self.negation()
        self.depth -= 1
        return Unary("not", operand, pos)

    def comparison(self) -> Node:
        left = self.arith(("+", "-"), self.term)
        if self.token.kind == "op" and self.token.text in _COMPARISONS:
            op = self.advance()
            right = self.arith(("+", "-"), self.term)
            if self.token.kind == "op" and self.token.text in _COMPARISONS:
                raise FormulaError("comparisons cannot be chained; combine them with 'and'", self.token.pos)
            return Compare(op.text, left, right, left.pos)
        return left

    def term(self) -> Node:
        return self.arith(("*", "/", "%"), self.unary)

    def arith(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        first = operand()
        rest = []
        while self.token.kind == "op" and self.token.text in ops:
            op = self.advance()
            rest.append((op.text, op.pos, operand()))
        return Arith(first, tuple(rest), first.pos) if rest else first

    def unary(self) -> Node:
        if not self.at("op", "-"):
            return self.primary()
        pos = self.advance().pos
        self.enter()
        operand = self.unary()
        self.depth -= 1
        return Unary("-", operand, pos)

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Number(Decimal(token.text), token.pos)
        if token.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(token)
            if token.text in KEYWORDS:
                raise FormulaError(f"unexpected keyword {token.text!r}", token.pos)
            return Name(token.text, token.pos)
        if self.at("op", "("):
            self.advance()
            node = self.expression()
            self.expect(")")
            return node
        raise FormulaError(f"expected a number, a name or '(', found {self.describe()}", token.pos)

    def call(self, name: Token) -> Node:
        if name.text in KEYWORDS - {"if"}:
            raise FormulaError(f"{name.text!r} is an operator, not a function", name.pos)
        self.expect("(")
        args = []
        if not self.at("op", ")"):
            args.append(self.expression())
            while self.at("op", ","):
                self.advance()
                args.append(self.expression())
        self.expect(")")
        return Call(name.text, tuple(args), name.pos)


def parse(text: str) -> Formula:
    """Parse ``text``; raises FormulaError (with the 0-based position) on any syntax problem."""
    if not isinstance(text, str):
        raise FormulaError("formula must be text", 0)
    tree = _Parser(tokenize(text)).parse()
    return Formula(text, tree)


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


def evaluate(formula: Formula, variables: Mapping[str, Decimal]) -> Decimal | bool:
    """Evaluate with the given variable values (Decimal or int).

    The formula is checked against ``variables`` first, so a missing variable is a FormulaError
    naming it. Arithmetic failures (division by zero, out-of-range numbers) raise
    FormulaEvaluationError at the operator's position.
    """
    check(formula, variables.keys(), expect=None)
    values = {name: to_decimal(value, f"variables.{name}") for name, value in variables.items()}
    with localcontext(_CONTEXT):
        return _eval(formula.tree, values)


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
        return values[node.name]
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
