"""The formula language on its own: values, syntax and type errors with their positions, limits, and properties
(arbitrary text raises only FormulaError; generated expressions evaluate like a small reference)."""
import re
from datetime import date
from decimal import ROUND_HALF_UP, localcontext
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formula as formula_package
from formula import (
    DECIMAL_CONTEXT,
    MAX_DEPTH,
    MAX_LENGTH,
    FormulaError,
    FormulaEvaluationError,
    InvalidVariable,
    ValueType,
    check,
    checked,
    evaluate,
    parse,
    tokenize,
)


def run(text: str, **variables):
    return evaluate(parse(text), {k: D(v) if isinstance(v, (int, str)) else v for k, v in variables.items()})


def test_the_example_from_the_brief():
    text = "base_score * night_shift_coefficient + min(patent_count * 2, 10)"
    formula = parse(text)
    assert formula.variables == {"base_score", "night_shift_coefficient", "patent_count"}
    assert run(text, base_score=80, night_shift_coefficient="1.2", patent_count=3) == D("102.0")
    assert run(text, base_score=80, night_shift_coefficient="1.2", patent_count=9) == D("106.0")


@pytest.mark.parametrize(
    "text,value",
    [
        ("1 + 2 * 3", D(7)),
        ("(1 + 2) * 3", D(9)),
        ("10 - 4 - 3", D(3)),
        ("100 / 10 / 5", D(2)),
        ("-2 * 3", D(-6)),
        ("--2", D(2)),
        ("7 % 3", D(1)),
        ("-7 % 3", D(-1)),
        ("2 * -3", D(-6)),
        ("1 / 3 * 3", D("0.9999999999999999999999999999")),
        ("0.1 + 0.2", D("0.3")),
        ("min(3, 1, 2) + max(4, 6) + abs(-2)", D(9)),
        ("sum(1, 2, 3.5)", D("6.5")),
        ("avg(1, 2)", D("1.5")),
        ("clamp(15, 0, 10) + clamp(-1, 0, 10) + clamp(5, 0, 10)", D(15)),
        ("round(2.345, 2)", D("2.35")),
        ("round(2.5)", D(3)),
        ("round(-2.5)", D(-3)),
        ("if(1 < 2, 10, 20)", D(10)),
        ("if(1 > 2 or 2 >= 2, 10, 20)", D(10)),
        ("if(not 1 == 1 and 1 == 1, 10, 20)", D(20)),
        ("if(1 != 1, 1, if(2 <= 1, 2, 3))", D(3)),
        ("1 < 2", True),
        ("1 < 2 and 2 < 1", False),
        ("not 1 < 2 or 1 == 1", True),
        ("if(1 < 2, 1 < 2, 2 < 1)", True),
    ],
)
def test_evaluation(text, value):
    result = run(text)
    assert result == value and type(result) is type(value)


def test_variables_and_unicode_names():
    assert run("夜班系数 * 2 + _x1", 夜班系数="1.5", _x1=1) == D(4)


def test_short_circuit_and_lazy_if_avoid_division_by_zero():
    assert run("if(n == 0, 0, total / n)", n=0, total=5) == 0
    assert run("n != 0 and total / n > 1", n=0, total=5) is False
    assert run("n == 0 or total / n > 1", n=0, total=5) is True


@pytest.mark.parametrize(
    "text,position,message",
    [
        ("1 +", 3, "expected a number"),
        ("(1 + 2", 6, "expected ')'"),
        ("1 2", 2, "unexpected '2'"),
        ("a = 1", 2, "use =="),
        ("1 < 2 < 3", 6, "cannot be chained"),
        ("1.", 2, "digit after the decimal point"),
        ("2 $ 3", 2, "unexpected character '$'"),
        ("and", 0, "unexpected keyword 'and'"),
        ("1 + not", 4, "unexpected keyword 'not'"),
        ("not(1 < 2)", None, None),
        ("x + if", 4, "unexpected keyword 'if'"),
        ("or(1, 2)", 0, "'or' is an operator"),
        ("min(1,)", 6, "expected a number"),
        ("", 0, "found end of formula"),
        (")", 0, "found ')'"),
    ],
)
def test_syntax_errors_carry_the_position(text, position, message):
    if message is None:
        parse(text)
        return
    with pytest.raises(FormulaError) as error:
        parse(text)
    assert error.value.position == position
    assert message in error.value.message
    assert str(error.value) == f"{error.value.message} (at position {position})"


@pytest.mark.parametrize(
    "text,position,message",
    [
        ("base + bonus", 7, "unknown variable 'bonus'"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("clamp(1, 2)", 0, "clamp() takes 3 argument(s), got 2"),
        ("round(1, 2, 3)", 0, "round() takes 1 or 2 argument(s), got 3"),
        ("min()", 0, "min() takes at least 1 argument(s), got 0"),
        ("1 + (2 < 3)", 5, "'+' needs a number, got a boolean"),
        ("not 1", 4, "'not' needs a boolean"),
        ("1 and 2 < 3", 0, "'and' needs a boolean"),
        ("-(1 < 2)", 2, "unary '-' needs a number"),
        ("if(1, 2, 3)", 3, "condition of if() needs a boolean"),
        ("if(1 < 2, 2, 2 < 3)", 13, "both branches of if() needs a number"),
        ("(1 < 2) < 3", 1, "'<' needs a number"),
        ("max(1 < 2)", 4, "max() needs a number"),
    ],
)
def test_checker_errors(text, position, message):
    with pytest.raises(FormulaError) as error:
        check(parse(text), {"base"})
    assert error.value.position == position
    assert message in error.value.message


def test_checker_result_type():
    assert check(parse("base > 1"), {"base"}, expect=None) is ValueType.BOOLEAN
    with pytest.raises(FormulaError, match="must produce a number"):
        check(parse("base > 1"), {"base"})
    assert check(parse("base"), {"base"}) is ValueType.NUMBER


@pytest.mark.parametrize(
    "text,position,message",
    [
        ("1 / 0", 2, "division by zero"),
        ("1 / (x - x)", 2, "division by zero"),
        ("5 % 0", 2, "remainder of division by zero"),
        ("clamp(1, 5, 0)", 0, "lower bound is above"),
        ("round(1.5, 11)", 0, "round() places"),
        ("round(1.5, 0.5)", 0, "round() places"),
        ("round(10" + "0" * 40 + ", 2)", 0, "out of range in round()"),
        ("1" + "0" * 60 + " % 3", 62, "out of range in '%'"),
    ],
)
def test_evaluation_errors(text, position, message):
    with pytest.raises(FormulaEvaluationError) as error:
        run(text, x=1)
    assert error.value.position == position and message in error.value.message


def test_overflow_is_an_evaluation_error():
    with pytest.raises(FormulaEvaluationError, match="out of range in '\\*'") as error:
        run("x * x", x=D("1E999990"))
    assert error.value.position == 2


def test_evaluate_reports_missing_variables_and_rejects_floats():
    with pytest.raises(FormulaError, match="unknown variable 'y'"):
        run("x + y", x=1)
    with pytest.raises(InvalidVariable) as error:
        evaluate(parse("x"), {"x": 0.5})
    assert error.value.name == "x" and "got float" in error.value.message


def test_length_and_depth_limits():
    with pytest.raises(FormulaError, match="longer than"):
        parse("1" * (MAX_LENGTH + 1))
    with pytest.raises(FormulaError, match="nested deeper"):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    parse("(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1))
    with pytest.raises(FormulaError, match="nested deeper"):
        parse("-" * 100 + "1")
    with pytest.raises(FormulaError, match="nested deeper"):
        parse("not " * 100 + "1 < 2")
    with pytest.raises(FormulaError, match="nested deeper"):
        parse("min(" * 100 + "1" + ")" * 100)


def test_long_flat_chains_are_fine():
    text = "+".join(["1"] * 600)
    assert len(text) < MAX_LENGTH and run(text) == 600
    assert run(" and ".join(["1 < 2"] * 200)) is True


def test_never_uses_eval():
    sources = sorted(Path(formula_package.__file__).parent.glob("*.py"))
    assert len(sources) >= 4  # the package, not just its __init__
    for path in sources:
        source = path.read_text(encoding="utf-8")
        for banned in (r"\beval\(", r"\bexec\(", r"\bcompile\(", r"literal_eval", r"__import__", r"\bimport ast\b"):
            assert not re.search(banned, source), (path.name, banned)


def test_tokenizer():
    kinds = [(t.kind, t.text, t.pos) for t in tokenize("a<=10.5")]
    assert kinds == [("name", "a", 0), ("op", "<=", 1), ("number", "10.5", 3), ("end", "", 7)]


# --- properties -------------------------------------------------------------------------------

VOCABULARY = [
    "(",
    ")",
    ",",
    "1",
    "0",
    "2.5",
    "x",
    "y",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "=",
    "!",
    ".",
    " ",
    "and",
    "or",
    "not",
    "if",
    "min",
    "max",
    "round",
    "clamp",
    "avg",
    "abs",
    "sum",
    "foo",
    "1.",
    "9" * 30,
]


def only_formula_errors(text: str) -> None:
    try:
        formula = parse(text)
        check(formula, {"x", "y"}, expect=None)
        evaluate(formula, {"x": D(3), "y": D(0)})
    except FormulaError as error:
        assert 0 <= error.position <= max(len(text), MAX_LENGTH)


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_formula_errors(text):
    only_formula_errors(text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join))
def test_token_soup_raises_only_formula_errors(text):
    only_formula_errors(text)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=60).map("".join))
def test_glued_token_soup_raises_only_formula_errors(text):
    only_formula_errors(text)


@given(st.integers(0, 3000), st.sampled_from(["(", "-", "not ", "min(", "if("]))
def test_pathological_nesting_is_refused_without_recursion_errors(n, opener):
    only_formula_errors(opener * n + "1")


# Generated expressions, evaluated by the parser and by a small reference over a tuple tree.

VARIABLES = {"x": D(7), "y": D("-2.5"), "z": D(0)}
literals = st.one_of(st.integers(0, 50).map(D), st.integers(0, 999).map(lambda n: D(n) / 10))


def numbers(depth: int):
    leaf = st.one_of(literals.map(lambda v: ("lit", v)), st.sampled_from(sorted(VARIABLES)).map(lambda n: ("var", n)))
    if depth == 0:
        return leaf
    sub = numbers(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.just("neg"), sub),
        st.tuples(st.just("bin"), st.sampled_from("+-*/%"), sub, sub),
        st.tuples(
            st.just("call"), st.sampled_from(["min", "max", "sum", "avg"]), st.lists(sub, min_size=1, max_size=3)
        ),
        st.tuples(st.just("call"), st.just("abs"), st.lists(sub, min_size=1, max_size=1)),
        st.tuples(st.just("call"), st.just("clamp"), st.lists(sub, min_size=3, max_size=3)),
        st.tuples(st.just("round"), sub, st.integers(0, 3)),
        st.tuples(st.just("if"), booleans(depth - 1), sub, sub),
    )


def booleans(depth: int):
    sub = numbers(depth)
    compare = st.tuples(st.just("cmp"), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), sub, sub)
    if depth == 0:
        return compare
    inner = booleans(depth - 1)
    return st.one_of(
        compare,
        st.tuples(st.just("logic"), st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("not"), inner),
    )


LEVEL = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "neg": 7}


def render(node, rng) -> tuple[str, int]:
    """Text with parentheses only where precedence needs them (plus a few at random)."""

    def wrap(child, minimum):
        text, level = render(child, rng)
        return f"({text})" if level < minimum or rng.random() < 0.15 else text

    kind = node[0]
    if kind == "lit":
        return str(node[1]), 8
    if kind == "var":
        return node[1], 8
    if kind == "neg":
        return "-" + wrap(node[1], 7), 7
    if kind == "bin":
        level = LEVEL[node[1]]
        return f"{wrap(node[2], level)} {node[1]} {wrap(node[3], level + 1)}", level
    if kind == "call":
        return f"{node[1]}({', '.join(wrap(a, 0) for a in node[2])})", 8
    if kind == "round":
        return f"round({wrap(node[1], 0)}, {node[2]})", 8
    if kind == "if":
        return f"if({wrap(node[1], 0)}, {wrap(node[2], 0)}, {wrap(node[3], 0)})", 8
    if kind == "cmp":
        return f"{wrap(node[2], 5)} {node[1]} {wrap(node[3], 5)}", 4
    if kind == "logic":
        level = LEVEL[node[1]]
        return f" {node[1]} ".join(wrap(o, level + 1) for o in node[2]), level
    return "not " + wrap(node[1], 3), 3


class Undefined(Exception):
    pass


def reference(node):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        return VARIABLES[node[1]]
    if kind == "neg":
        return 0 - reference(node[1])
    if kind == "bin":
        a, b = reference(node[2]), reference(node[3])
        if node[1] in "/%" and b == 0:
            raise Undefined
        return (
            {"+": a + b, "-": a - b, "*": a * b}.get(node[1])
            if node[1] in "+-*"
            else (a / b if node[1] == "/" else a % b)
        )
    if kind == "call":
        args = [reference(a) for a in node[2]]
        if node[1] == "clamp":
            if args[1] > args[2]:
                raise Undefined
            return min(args[2], max(args[1], args[0]))
        functions = {
            "min": min,
            "max": max,
            "abs": lambda v: abs(v[0]),
            "sum": lambda v: sum(v, D(0)),
            "avg": lambda v: sum(v, D(0)) / len(v),
        }
        return functions[node[1]](args)
    if kind == "round":
        return reference(node[1]).quantize(D(1).scaleb(-node[2]), rounding=ROUND_HALF_UP)
    if kind == "if":
        return reference(node[2]) if reference(node[1]) else reference(node[3])
    if kind == "cmp":
        a, b = reference(node[2]), reference(node[3])
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[node[1]]
    if kind == "logic":
        if node[1] == "and":
            return all(reference(o) for o in node[2])
        return any(reference(o) for o in node[2])
    return not reference(node[1])


@settings(max_examples=300)
@given(st.one_of(numbers(3), booleans(2)), st.randoms(use_true_random=False))
def test_generated_expressions_evaluate_like_the_reference(tree, rng):
    text, _ = render(tree, rng)
    formula = parse(text)
    with localcontext(DECIMAL_CONTEXT):
        try:
            expected = reference(tree)
        except Undefined:
            expected = Undefined
    once = checked(formula, VARIABLES.keys())
    if expected is Undefined:
        with pytest.raises(FormulaEvaluationError):
            evaluate(formula, VARIABLES)
        with pytest.raises(FormulaEvaluationError):
            once.evaluate(VARIABLES)
    else:
        assert evaluate(formula, VARIABLES) == expected
        assert once.evaluate(VARIABLES) == expected


def test_dates_booleans_and_infinities_are_not_numbers():
    for value in (date(2026, 12, 3), True, D("Infinity"), D("NaN"), "1"):
        with pytest.raises(InvalidVariable) as error:
            evaluate(parse("x"), {"x": value})
        assert error.value.name == "x"


# --- checked once, evaluated many times ---------------------------------------------------------


def test_a_checked_formula_evaluates_for_many_sets_of_values():
    rule = checked(parse("valid_leads >= 5 and demo_conversion >= 0.3"), {"valid_leads", "demo_conversion"},
                   ValueType.BOOLEAN)
    assert rule.type is ValueType.BOOLEAN
    people = [(D(5), D("0.3"), True), (D(4), D("0.9"), False), (D(9), D("0.29"), False)]
    assert [rule.evaluate({"valid_leads": a, "demo_conversion": b}) for a, b, _ in people] == [e for *_, e in people]


def test_checked_refuses_at_check_time_what_evaluate_would():
    with pytest.raises(FormulaError, match="unknown variable 'bonus'") as error:
        checked(parse("base * bonus"), {"base"})
    assert error.value.position == 7
    with pytest.raises(FormulaError, match="must produce a boolean"):
        checked(parse("base * 2"), {"base"}, ValueType.BOOLEAN)


def test_a_name_without_a_value_is_an_evaluation_error_at_its_position():
    rule = checked(parse("base + bonus"), {"base", "bonus"})
    with pytest.raises(FormulaEvaluationError, match="no value for variable 'bonus'") as error:
        rule.evaluate({"base": D(1)})
    assert error.value.position == 7


def test_errors_keep_their_fields_through_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(FormulaEvaluationError("division by zero", 4)))
    assert (type(error), error.message, error.position) == (FormulaEvaluationError, "division by zero", 4)
    variable = pickle.loads(pickle.dumps(InvalidVariable("x", "must be a finite number")))
    assert (variable.name, str(variable)) == ("x", "variable 'x' must be a finite number")
