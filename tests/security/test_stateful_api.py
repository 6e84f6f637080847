"""Stateful schemathesis over the whole suite through the gateway (issue 10 #9): scenarios follow the OpenAPI
links the gateway states (create -> read/update/act with the id it answered: `POST /goals` -> `GET/PATCH
/goals/{goal_id}`, `POST /appeals` -> `/appeals/{appeal_id}/...`, `PUT /people/{person_id}` -> its grants...), with
bodies drawn from the operations' schemas, as the administrator.

It must find no 5xx, no response outside its documented status, content type, headers and schema, and no valid
request rejected: a request the document calls valid never gets 400/413/415 (400 is the edge refusing a rule the
document states: bounds, places, patterns, required headers). A 422 is a rule the document cannot state refusing
what the data would do now (a reference to something that does not exist, fields that go together, a state;
documented as such on every operation), and the deliberate one: an Idempotency-Key reused for another request.
The one rule left out: a `cursor` (format `cursor`) is only one the list gave out, which no generator can draw.

Repeatable (derandomized, no example database) and bounded: a fixed number of scenarios and steps; a call costs at
most RATIO times a plain read measured in the same run (measured 2026-12-03 on a shared, loaded 2-core machine: see
the printed line), and the run stays under BUDGET_SECONDS.
"""
from __future__ import annotations

import collections
import json
import time
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# bounded in calls; in time against the same run's floor (a machine shared with other suites is slow for all):
# a step may cost at most RATIO times a plain authenticated read, and the run never more than BUDGET_SECONDS
SCENARIOS, STEPS, BUDGET_SECONDS, RATIO = 24, 6, 240, 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, positive_data_acceptance]
# a valid request may still be refused for what it would do (a rule: 422), for who asks (401/403), for what is not
# there (404), for a conflict with what is (409), or be slowed down (429); 400, 413 and 415 it may not get
ACCEPTED_FOR_VALID = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]


@dataclass
class Run:
    seen: collections.Counter = field(default_factory=collections.Counter)
    linked_steps: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # 5xx and responses outside the document
    rejected_valid: dict[str, str] = field(default_factory=dict)  # valid by the document, refused with 400
    elapsed: float = 0.0
    floor: float = 0.0  # seconds per plain authenticated read (GET /me), measured in the same run

    @property
    def per_call_ratio(self) -> float:
        return self.elapsed / max(sum(self.seen.values()), 1) / max(self.floor, 1e-6)


@pytest.fixture(scope="module")
def run(suite) -> Run:
    """One bounded stateful run; the tests below read what it found."""
    config = schemathesis.Config.from_dict({"checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID}}})
    schema = schemathesis.openapi.from_url(suite.root + "/api/openapi.json", config=config)
    links = sum(len(response.get("links", {})) for path in schema.raw_schema["paths"].values()
                for operation in path.values() for response in operation.get("responses", {}).values())
    assert links >= 60, "the document states the links between operations"
    headers = {"Authorization": f"Bearer {suite.token('root', lifetime=3600)}"}
    found = Run()

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"base_url": suite.root, "session": suite.session, "headers": headers, "timeout": 15}

        def before_call(self, case):
            if case.headers:  # one credential: ours
                case.headers.pop("X-Api-Key", None)
                case.headers.pop("Authorization", None)
            if case.query and "cursor" in case.query:  # format `cursor`: only one the list gave out, which no
                case.query.pop("cursor")  # generator can draw (the gateway's pagination tests page with real ones)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            found.seen[f"{case.method} {case.path}", response.status_code // 100] += 1
            if any(f"{{{name}}}" in case.path for name in (case.path_parameters or {})):
                found.linked_steps.append(f"{case.method} {case.path} {response.status_code}")
            if response.status_code == 422 and "idempotency-key-reused" in response.text:
                return  # the deliberate rejection: the same key, another request
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # keep going: one report names every failure
                where, what = f"{case.method} {case.path}", f"{response.status_code}: {str(exc)[:900]}"
                if "Schema-valid request rejected" in what:
                    found.rejected_valid.setdefault(where, _detail(response.text))
                else:
                    found.failures.setdefault(where, what)

    started = time.monotonic()
    for _ in range(20):
        suite.call("GET", "/me", "root")
    found.floor = (time.monotonic() - started) / 20
    started = time.monotonic()
    Scenarios.run(settings=hypothesis.settings(
        max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate]))
    found.elapsed = time.monotonic() - started
    calls = sum(found.seen.values())
    print(f"stateful: {calls} calls in {found.elapsed:.0f} s ({found.elapsed / max(calls, 1) * 1000:.0f} ms a call "
          f"against {found.floor * 1000:.0f} ms for GET /me in the same run: x{found.per_call_ratio:.1f}), "
          f"{len(found.linked_steps)} on "
          f"linked ids; valid data rejected by {len(found.rejected_valid)} operations: {found.rejected_valid}")
    return found


def _detail(text: str) -> str:
    try:
        return str(json.loads(text).get("detail", ""))[:160]
    except ValueError:
        return text[:160]


def test_stateful_scenarios_find_no_server_error_and_no_response_outside_the_document(run):
    assert not run.failures, "\n\n".join(f"{where}: {what}" for where, what in sorted(run.failures.items()))
    assert run.elapsed < BUDGET_SECONDS, run.elapsed
    assert run.per_call_ratio < RATIO, (run.elapsed, run.floor)
    successes = sum(count for (_, kind), count in run.seen.items() if kind == 2)
    assert successes >= 10, run.seen  # the scenarios reached the services, not only the edge
    assert run.linked_steps, "no step followed a link with a real id"


def test_no_request_the_document_calls_valid_is_rejected(run):
    assert not run.rejected_valid, run.rejected_valid
