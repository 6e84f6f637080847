"""The OpenAPI document documents itself: every tag and operation described, every recorded example valid against
the schema it illustrates (JSON Schema 2020-12, as OpenAPI 3.1 says), and the operations still without an example
named here, a list that only shrinks."""
from functools import cache

from jsonschema import Draft202012Validator

from gateway import docs
from gateway.auth import Authenticator
from gateway.describe import describe
from gateway.examples import recorded
from gateway.openapi import build_spec
from gateway.routes import build_routes
from gateway.settings import load_gateway_settings


@cache
def document() -> dict:
    settings = load_gateway_settings({"ENVIRONMENT": "development"})
    routes = build_routes(settings, "development", Authenticator(settings, "development"))
    return describe(build_spec(routes, docs.OPERATIONAL_PATHS), routes)


def operations() -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, methods in document()["paths"].items()
            for method, operation in methods.items() if isinstance(operation, dict) and "responses" in operation]


def _validate(schema: dict, value) -> list[str]:
    rooted = {**schema, "components": document()["components"]}  # so "#/components/..." resolves
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in Draft202012Validator(rooted).iter_errors(value)]


def test_every_tag_and_operation_is_described():
    tags = {tag["name"]: tag.get("description", "") for tag in document()["tags"]}
    assert {name for name, text in tags.items() if len(text) < 20} == set()
    for path, method, operation in operations():
        assert operation.get("summary") and len(operation.get("description", "")) > 20, (method, path)
        assert set(operation["tags"]) <= set(tags), (method, path)


def test_every_example_is_valid_against_its_schema():
    checked = 0
    for path, method, operation in operations():
        where = f"{method.upper()} {path}"
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for example in body.get("examples", {}).values():
            assert _validate(body["schema"], example["value"]) == [], where
            checked += 1
        for parameter in operation.get("parameters", []):
            if "example" in parameter:
                assert _validate(parameter["schema"], parameter["example"]) == [], (where, parameter["name"])
                checked += 1
        for status, answer in operation["responses"].items():
            media = answer.get("content", {}).get("application/json", {})
            for example in media.get("examples", {}).values():
                assert _validate(media["schema"], example["value"]) == [], (where, status)
                checked += 1
    # every answer, and every body and parameter given
    assert checked >= len(recorded()) + sum(example["body"] is not None for example in recorded().values())


def test_a_broken_example_is_caught():
    _, _, create_cycle = next(op for op in operations() if op[2]["operationId"] == "create_cycle")
    schema = create_cycle["requestBody"]["content"]["application/json"]["schema"]
    assert _validate(schema, {"name": "Q4", "period": "quarter", "year": 2026}) == []
    assert _validate(schema, {"name": "Q4", "period": "quarter", "year": -99999999999999}) != []
    assert _validate(schema, {"name": "Q4", "period": "fortnight", "year": 2026}) != []


def test_every_example_request_and_answer_is_in_the_document():
    by_id = {operation["operationId"]: operation for _, _, operation in operations()}
    for operation_id, example in recorded().items():
        operation = by_id[operation_id]
        answer = operation["responses"][str(example["status"])]["content"]["application/json"]
        assert answer["examples"]["demo"]["value"] == example["response"]
        assert example["zh"] in answer["examples"]["demo"]["summary"]
        if example["body"] is not None:
            assert operation["requestBody"]["content"]["application/json"]["examples"]["demo"]["value"] == \
                example["body"]


def test_schema_properties_are_described_from_the_contracts():
    """Descriptions come from the contracts (`Field(description=...)`, or the field name's in contracts.glossary)
    and the gateway's marshmallow metadata. Every property has one."""
    properties = [(name, prop, value) for name, schema in document()["components"]["schemas"].items()
                  for prop, value in schema.get("properties", {}).items()]
    assert len(properties) > 1000  # the components are all there
    undescribed = [(name, prop) for name, prop, value in properties if not value.get("description")]
    assert undescribed == []
    cycle = document()["components"]["schemas"]["CreateCycle"]["properties"]
    assert "quarter 1..4" in cycle["index"]["description"]  # the contract's own Field(description=...)
    assert cycle["name"]["description"]  # the glossary's


def test_every_api_parameter_is_described():
    undescribed = [(method, path, parameter["name"]) for path, method, operation in operations()
                   if path.startswith("/api/v1") for parameter in operation.get("parameters", [])
                   if not parameter.get("description")]
    assert undescribed == []


def test_the_operations_still_without_an_example_are_the_listed_ones():
    missing = {operation["operationId"] for path, _, operation in operations()
               if path.startswith("/api/v1") and operation["operationId"] not in recorded()}
    assert missing - WITHOUT_EXAMPLE == set(), "a new operation needs an example (gateway.examples)"
    assert WITHOUT_EXAMPLE - missing == set(), "these have an example now: take them out of WITHOUT_EXAMPLE"


WITHOUT_EXAMPLE: set[str] = {  # each cannot have a recorded JSON example; their description says what they answer
    "export_board", "export_participation", "export_ratings", "export_scorecards",  # a streamed CSV/XLSX file
    "retry_dsr",  # retries only an incomplete request (a service missed the deadline): none on a healthy suite
}
