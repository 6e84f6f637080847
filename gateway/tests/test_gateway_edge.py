"""The edge itself, through real HTTP: problem documents for bad input (never a 500), request ids, limits, routing
errors, the OpenAPI document and Swagger UI, and an unreachable service answering 504 within its timeout."""
import time

import pytest

from chassis.testing.plugin import wait_for
from gateway.service import GatewayService


@pytest.fixture
def edge(gateway_config, run_services, keys, http, publish_org, small_org):
    config = {**gateway_config, "RPC_TIMEOUT": 1, "MAX_BODY_BYTES": 4096, "RATE_LIMIT_PER_SECOND": 0.5,
              "RATE_LIMIT_BURST": 60}
    gateway = run_services({GatewayService: config})["gateway"]
    publish_org(*small_org)
    client = http(gateway, keys.token("E1"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the read model knows E1")
    return client


def _problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "correlation_id"} <= set(body)
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body


def test_bad_input_is_a_4xx_problem_naming_the_field(edge):
    goal = {"cycle_id": "c1", "title": "Grow", "kind": "kpi", "owner": {"id": "E1"}}
    _problem(edge.post("/api/v1/goals", raw=b'{"cycle_id": ', headers={"Content-Type": "application/json"}), 400,
             "body")
    _problem(edge.post("/api/v1/goals", raw=b"[1, 2]", headers={"Content-Type": "application/json"}), 400, "body")
    _problem(edge.post("/api/v1/goals", raw=b'{"a": NaN}', headers={"Content-Type": "application/json"}), 400)
    _problem(edge.post("/api/v1/goals", raw=b"[" * 100_000 + b"]" * 100_000,
                       headers={"Content-Type": "application/json"}), 413)
    _problem(edge.post("/api/v1/goals", raw=b"{" * 2000, headers={"Content-Type": "application/json"}), 400)
    _problem(edge.post("/api/v1/goals", raw=b"cycle_id=c1", headers={"Content-Type": "text/plain"}), 415)
    _problem(edge.post("/api/v1/goals", {**goal, "title": 7}), 400, "title")
    _problem(edge.post("/api/v1/goals", {**goal, "kind": "vibes"}), 400, "kind")
    _problem(edge.post("/api/v1/goals", {**goal, "weight": "1e400"}), 400, "weight")
    _problem(edge.post("/api/v1/goals", {**goal, "weight": 10**15}), 400, "weight")
    _problem(edge.post("/api/v1/goals", {**goal, "owner": {}}), 400, "owner.id")
    _problem(edge.post("/api/v1/goals", {**goal, "surprise": 1}), 400, "surprise")
    body = _problem(edge.post("/api/v1/goals", {**goal, "key_results": [{"title": "x"}]}), 400)
    assert {"field": "key_results.0.target", "in": "body", "message": "Missing data for required field."} in \
        body["errors"]
    _problem(edge.get("/api/v1/goals", cycle_id="c1", limit="many"), 400, "limit")
    _problem(edge.get("/api/v1/goals", cycle_id="c1", limit=0), 400, "limit")
    _problem(edge.get("/api/v1/goals", cycle_id="c1", cursor="not-ours"), 400, "cursor")
    _problem(edge.get("/api/v1/goals", cycle_id="c1", colour="red"), 400, "colour")
    _problem(edge.get("/api/v1/goals"), 400, "cycle_id")
    _problem(edge.get("/api/v1/goals/" + "g" * 200), 400, "goal_id")
    _problem(edge.patch("/api/v1/goals/g1", {"title": "x"}, headers={"If-Match": "not-an-etag"}), 400, "If-Match")
    _problem(edge.post("/api/v1/goals", goal, headers={"Idempotency-Key": "with space"}), 400, "Idempotency-Key")


def test_request_ids_are_echoed_or_assigned(edge):
    given = edge.get("/api/v1/me", headers={"X-Request-Id": "req-42.a"})
    assert given.headers["X-Request-Id"] == "req-42.a"
    assigned = edge.get("/api/v1/me", headers={"X-Request-Id": "bad id with spaces"})
    assert assigned.headers["X-Request-Id"] not in ("", "bad id with spaces")
    problem = edge.get("/api/v1/nowhere", headers={"X-Request-Id": "trace-7"})
    assert _problem(problem, 404)["correlation_id"] == "trace-7"


def test_routing_errors(edge):
    _problem(edge.get("/api/v1/no/such/route"), 404)
    not_allowed = edge.request("DELETE", "/api/v1/goals")
    _problem(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].split(", ")) == {"GET", "POST"}
    options = edge.request("OPTIONS", "/api/v1/goals")
    assert options.status_code == 204 and "POST" in options.headers["Allow"]
    head = edge.request("HEAD", "/api/v1/me")
    assert head.status_code == 200 and head.content == b""


def test_rate_limit_answers_429_with_retry_after(gateway_config, run_services, keys, http, publish_org, small_org):
    config = {**gateway_config, "RATE_LIMIT_PER_SECOND": 0.2, "RATE_LIMIT_BURST": 3}
    gateway = run_services({GatewayService: config})["gateway"]
    publish_org(*small_org)
    client, other = http(gateway, keys.token("E1")), http(gateway, keys.token("E2"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the read model knows E1")  # 1 of 3
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = _problem(client.get("/api/v1/me"), 429)
    assert limited["type"].endswith("rate-limited")
    assert int(client.get("/api/v1/me").headers["Retry-After"]) >= 1
    wait_for(lambda: other.get("/api/v1/me").status_code == 200,
             message="another client has its own budget (once the read model knows E2)")


def test_an_unreachable_service_is_a_504_within_the_timeout(edge):
    started = time.monotonic()
    body = _problem(edge.get("/api/v1/goals/g1"), 504)
    assert time.monotonic() - started < 3
    assert "goals" in body["detail"]


def test_openapi_document_and_swagger_ui_are_served(edge):
    spec = edge.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/goals/{goal_id}" in spec["paths"]
    page = edge.get("/api/docs")
    assert page.status_code == 200 and "/api/docs/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text and "http://" not in page.text  # served from the package, no CDN
    bundle = edge.get("/api/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["Content-Type"].startswith("application/javascript")
    assert len(bundle.content) > 500_000
    assert edge.get("/api/docs/..%2F..%2Fetc%2Fpasswd").status_code == 404
