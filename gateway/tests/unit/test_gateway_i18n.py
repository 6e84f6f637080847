"""Localised problem documents: language negotiation from Accept-Language, and a catalogue that has both languages
for every problem code the suite can answer with and for every field message the edge and the services produce."""
import ast
import importlib
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate
from pydantic import BaseModel, Field, ValidationError

from chassis import errors as chassis_errors
from chassis.errors import PROBLEM_BASE, ServiceError, pydantic_errors
from gateway.i18n import localise, message, negotiate
from gateway.i18n.catalogue import LANGUAGES, MESSAGE_KINDS, TITLES
from gateway.problems import _CODES, HttpProblem, marshmallow_errors
from gateway.schemas.fields import Exact


@pytest.mark.parametrize("header, language", [
    (None, "en"), ("", "en"), ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("zh-Hans-CN", "zh-CN"), ("ZH-cn", "zh-CN"),
    ("en-GB", "en"), ("fr", "en"), ("fr, de;q=0.9", "en"), ("fr, zh;q=0.1", "zh-CN"),
    ("en;q=0.5, zh-CN;q=0.8", "zh-CN"), ("zh-CN;q=0.4, en;q=0.9", "en"), ("zh-CN, en", "zh-CN"),
    ("en, zh-CN", "en"), ("zh-CN;q=0", "en"), ("*", "en"), ("*;q=0.1, zh;q=0.5", "zh-CN"),
    ("zh-CN;q=banana", "en"), (";;;,,,", "en"),
])
def test_the_answer_language_follows_accept_language_and_its_q_values(header, language):
    assert negotiate(header) == language


@given(st.text(max_size=300))
def test_any_accept_language_gives_a_language_of_the_catalogue(header):
    assert negotiate(header) in LANGUAGES


ROOT = Path(__file__).resolve().parents[3]


def _code_literals(tree: ast.AST, call_names: set[str]) -> set[str]:
    """`code="..."` passed to a call of one of `call_names`, and `code = "..."` in a class deriving from one."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in call_names:
                found |= {k.value.value for k in node.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)}
        elif isinstance(node, ast.ClassDef):
            bases = {getattr(b, "id", None) or getattr(b, "attr", None) for b in node.bases}
            if bases & call_names:
                for item in ast.walk(node):
                    if isinstance(item, ast.Assign) and any(getattr(t, "id", None) == "code" for t in item.targets):
                        values = item.value.elts if isinstance(item.value, ast.Tuple) else [item.value]
                        found |= {v.value for v in values if isinstance(v, ast.Constant) and "-" in str(v.value)}
    return found


def _problem_codes() -> set[str]:
    """Every code a problem document of the suite can carry: the chassis's problem classes (which the services'
    errors modules map their domain errors onto), any problem class a service or the chassis defines of its own,
    and every code the gateway answers with — read from the source, so a new one cannot slip past."""
    importlib.import_module("chassis.remote")
    codes, todo = set(), [ServiceError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    problem_classes = {cls.__name__ for cls in vars(chassis_errors).values()
                       if isinstance(cls, type) and issubclass(cls, ServiceError)}
    sources = [*(ROOT / "services").glob("*/*/**/*.py"), *(ROOT / "libs" / "chassis" / "chassis").rglob("*.py")]
    for path in sources:
        if "tests" not in path.parts:
            codes |= _code_literals(ast.parse(path.read_text()), problem_classes)
    for path in (ROOT / "gateway" / "gateway").rglob("*.py"):
        codes |= _code_literals(ast.parse(path.read_text()), {"HttpProblem"})
    return codes | set(_CODES.values())


def test_every_problem_code_the_suite_can_answer_with_has_both_languages():
    codes = _problem_codes()
    assert {"invalid-input", "insufficient-scope", "stale", "idempotency-key-completed", "request-already-done",
            "rule-violated"} <= codes  # the collection itself works
    missing = {code: [lang for lang in LANGUAGES if not TITLES.get(code, {}).get(lang)] for code in codes}
    assert {code: langs for code, langs in missing.items() if langs} == {}
    for code, texts in TITLES.items():
        assert texts["zh-CN"] != texts["en"] and re.search(r"[\u4e00-\u9fff]", texts["zh-CN"]), code


def test_the_english_titles_are_the_ones_the_gateway_and_the_chassis_send():
    for status, code in _CODES.items():
        assert HttpProblem(status).title == TITLES[code]["en"]
    for cls in (chassis_errors.InvalidInput, chassis_errors.Forbidden, chassis_errors.NotFound,
                chassis_errors.Conflict, chassis_errors.Unprocessable, chassis_errors.RpcTimeout):
        assert cls.title == TITLES[cls.code]["en"], cls


def test_every_message_kind_has_both_languages_and_uses_only_what_its_pattern_captures():
    names = [kind.name for kind in MESSAGE_KINDS]
    assert len(names) == len(set(names))
    for kind in MESSAGE_KINDS:
        assert set(kind.text) == set(LANGUAGES), kind.name
        captured = set(kind.pattern.groupindex)
        for language, template in kind.text.items():
            used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert used <= captured, (kind.name, language)
        assert re.search(r"[\u4e00-\u9fff]", kind.text["zh-CN"]), kind.name


class _Everything(Schema):
    """One field of each type the contract-derived schemas use, with each validator they get."""

    text = fields.String(required=True, validate=validate.Length(min=2, max=5))
    code = fields.String(validate=validate.Regexp(r"^[A-Z]+$"))
    exact_length = fields.String(validate=validate.Length(equal=3))
    shortish = fields.String(validate=validate.Length(min=3))
    longish = fields.String(validate=validate.Length(max=1))
    count = fields.Integer(validate=validate.Range(0, 100))
    floor = fields.Integer(validate=validate.Range(min=1))
    ceiling = fields.Integer(validate=validate.Range(max=1))
    open_range = fields.Float(validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False))
    amount = Exact()
    flag = fields.Boolean()
    at = fields.AwareDateTime()
    day = fields.Date()
    names = fields.List(fields.String())
    weights = fields.Dict(keys=fields.String(), values=fields.Integer())
    kind = fields.String(validate=validate.OneOf(["okr", "kpi"]))
    nothing = fields.String(allow_none=False)


def test_every_message_the_edge_validation_gives_is_translated():
    bad = {"code": "abc", "exact_length": "ab", "shortish": "a", "longish": "ab", "count": 101, "floor": 0,
           "ceiling": 2, "open_range": 1, "amount": "1e99", "flag": "perhaps", "at": "2026-12-03T10:00:00",
           "day": "tomorrow", "names": "E1003", "weights": [1], "kind": "mbo", "nothing": None, "stray": 1}
    errors = marshmallow_errors(_Everything().validate(bad), "body")
    more = marshmallow_errors(_Everything().validate({"text": "abcdefg", "count": "ten", "amount": "ten",
                                                      "open_range": "x", "names": [1]}), "body")
    messages = {e["message"] for e in errors + more}
    assert len(messages) >= 18, messages
    untranslated = {m for m in messages if message(m, "zh-CN") == m}
    assert untranslated == set()


class _Contract(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=2, max_length=4)
    weight: int = Field(ge=0, le=100)
    share: float = Field(gt=0, lt=1)
    kind: str = Field(pattern=r"^[a-z]+$")
    tags: list[str] = Field(min_length=1, max_length=2)
    day: __import__("datetime").date


def test_the_services_pydantic_messages_are_translated():
    found: set[str] = set()
    for data in ({"name": "a", "weight": -1, "share": 0, "kind": "A", "tags": [], "day": "x", "extra": 1},
                 {"name": "abcdef", "weight": 101, "share": 1, "tags": ["a", "b", "c"]},
                 {"name": 1, "weight": "x", "share": "x", "kind": 1, "tags": "x", "day": 1}):
        try:
            _Contract.model_validate(data)
        except ValidationError as exc:
            found |= {e["message"] for e in pydantic_errors(exc)}
    assert len(found) >= 12, found
    assert {m for m in found if message(m, "zh-CN") == m} == set()


def test_a_document_keeps_field_names_codes_and_ids_and_translates_the_human_text():
    document = {"type": PROBLEM_BASE + "invalid-input", "title": "Invalid input", "status": 400,
                "detail": "key_results.0.target: Missing data for required field.",
                "errors": [{"field": "key_results.0.target", "in": "body",
                            "message": "Missing data for required field.", "ids": ["G-1"]}],
                "correlation_id": "req-1"}
    zh = localise(document, "zh-CN")
    assert zh["title"] == "输入无效"
    assert zh["errors"] == [{"field": "key_results.0.target", "in": "body", "message": "必填字段缺失。",
                             "ids": ["G-1"]}]
    assert zh["detail"] == "key_results.0.target: 必填字段缺失。"
    assert {k: zh[k] for k in ("type", "status", "correlation_id")} == {
        k: document[k] for k in ("type", "status", "correlation_id")}
    assert localise(document, "en") == document
    # a service's own sentence is of no known kind: it stays as written, the title is still translated
    service = {**document, "type": PROBLEM_BASE + "rule-violated", "title": "Business rule violated",
               "detail": "weights total 90, not 100", "errors": [{"field": "items", "message": "total 90"}]}
    assert localise(service, "zh-CN")["detail"] == "weights total 90, not 100"
    assert localise(service, "zh-CN")["errors"][0]["message"] == "total 90"
    assert localise(service, "zh-CN")["title"] == "违反业务规则"
