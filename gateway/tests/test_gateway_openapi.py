"""The OpenAPI document: every route is in it, it is a valid OpenAPI 3.1 document, and schemathesis, driving the real
stack from it with valid and invalid requests, finds no 5xx and no response that breaks its documented schema."""
import collections

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.api import PREFIX
from gateway.server import ApiEntrypoint
from gateway.service import GatewayService
from gateway.web import WebPage

EXAMPLES = 4  # per operation and generation mode: the whole run stays well under two minutes
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance,
               response_headers_conformance, response_schema_conformance]


def _werkzeug_to_openapi(rule: str) -> str:
    return rule.replace("<", "{").replace(">", "}")


def test_every_route_is_documented(gateway_config, run_services, http):
    from nameko.web.server import WebServer

    container = run_services({GatewayService: {**gateway_config, "ENVIRONMENT": "development"}})["gateway"]
    spec = http(container).get("/api/openapi.json").json()
    documented = {(path, method.upper()) for path, operations in spec["paths"].items() for method in operations}

    served = set()
    server = next(ext for ext in container.extensions if isinstance(ext, WebServer))
    for rule in server.make_url_map().iter_rules():
        if isinstance(rule.endpoint, ApiEntrypoint):
            continue  # the /api/v1 catch-all: its routes are the Api's, below
        if isinstance(rule.endpoint, WebPage):
            continue  # the web app at / (gateway.web): pages and files, not API operations
        served |= {(_werkzeug_to_openapi(rule.rule), m) for m in rule.methods if m not in ("HEAD", "OPTIONS")}
    api = next(dep for dep in container.dependencies if dep.attr_name == "api").api
    for rule in api.url_map.iter_rules():
        served |= {(_werkzeug_to_openapi(rule.rule), m) for m in rule.methods if m not in ("HEAD", "OPTIONS")}
    assert served - documented == set(), "served but undocumented"
    assert documented - served == set(), "documented but not served"
    assert any(path == PREFIX + "/dev/login" for path, _ in served)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") and operation.get("operationId"), (method, path)
            if path.startswith(PREFIX) and operation["security"]:
                assert operation["x-required-scope"], (method, path)


def test_the_document_is_valid_openapi(gateway_config, run_services, http):
    from jsonschema import Draft202012Validator

    container = run_services({GatewayService: gateway_config})["gateway"]
    document = http(container).get("/api/openapi.json").json()
    schemathesis.openapi.from_dict(document)  # parses every operation
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # each component is a valid JSON Schema (2020-12, as 3.1 says)


def _exercise(operation, mode, checks, client, headers, statuses):
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    def exercise(case):
        if case.headers:  # one credential: ours (schemathesis would add an X-Api-Key beside it)
            case.headers.pop("X-Api-Key", None)
            case.headers.pop("Authorization", None)
        response = case.call(base_url=client.base, session=client.session, headers=headers, timeout=15)
        case.validate_response(response, checks=checks, headers=headers)
        statuses[mode.value, response.status_code // 100] += 1
    return exercise


def test_schemathesis_finds_no_server_errors_and_no_nonconforming_responses(seeded_with):
    seeded = seeded_with(everything=True, RATE_LIMIT_PER_SECOND=10_000, RATE_LIMIT_BURST=10_000)
    admin = seeded.as_("root")
    # a 413 (a generated body past the size limit) is a rejection too
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "409", "413", "415", "422", "429"]}}})
    schema = schemathesis.openapi.from_url(admin.base + "/api/openapi.json", config=config)
    headers = {"Authorization": f"Bearer {seeded.keys.token('root', lifetime=3600)}"}
    failures: list[str] = []
    statuses: collections.Counter = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 70
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CONFORMANCE + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            try:
                _exercise(operation, mode, checks, admin, headers, statuses)()
            except hypothesis.errors.Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be sent wrong
            except (Exception, BaseExceptionGroup) as exc:  # collect them all: one report names every failure
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert statuses["positive", 2] >= 20, statuses  # the valid requests did reach the services, not only the edge
    # (no wall-clock bound here: the run is bounded by EXAMPLES per operation, and a time limit in a test failed CI
    # on a slower hour, 127 s against 120; speed is measured in bench/, beside a same-run reference)
