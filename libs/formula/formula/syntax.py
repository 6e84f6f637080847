"""The formula language's text and tree: tokens, the parser, the syntax tree.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from formula.errors import FormulaError

MAX_LENGTH = 2000
MAX_DEPTH = 32

_DIGITS = "0123456789"
_OPERATORS = ("<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ",")
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
KEYWORDS = frozenset({"and", "or", "not", "if"})


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


