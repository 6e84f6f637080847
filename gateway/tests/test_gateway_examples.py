"""Every example request of the OpenAPI document, sent as is to a fresh suite seeded with the demo organisation,
succeeds — in the recorded order (later examples act on what earlier ones made; the ids the server assigned in
the recording are mapped onto this run's). JIXIAO_RECORD_EXAMPLES=1 records them again from the scenario
(gateway.examples) into recorded.json, the secrets of that run made illustrative (gateway.examples.REDACTIONS)."""
import json
import os
import re
import time

import requests

from chassis.testing.plugin import wait_for, wait_for_directory
from gateway import examples
from gateway.demo import DEMO_GRANTS, DEMO_PEOPLE, DEMO_UNITS, DEVELOPMENT_SETTINGS
from gateway.examples import Step, leaks, made_ids, redact, rename, resolve, secret_references


def _seed_demo(root) -> None:
    """gateway.demo's organisation, through the API, as `make up` seeds it."""
    for unit in DEMO_UNITS:
        assert root.put(f"/api/v1/org-units/{unit.org_unit_id}",
                        {"name": unit.name, "parent_id": unit.parent_id}).status_code == 200
    for person in DEMO_PEOPLE:
        body = {"name": person.name, "org_unit_id": person.org_unit_id, "manager_id": person.manager_id,
                "job_family": person.job_family, "grade": person.grade, "email": person.email}
        assert root.put(f"/api/v1/people/{person.person_id}", body).status_code == 200
    grants: dict[str, list] = {}
    for grant in DEMO_GRANTS:
        grants.setdefault(grant.subject_id, []).append({"role": grant.role, "org_unit_id": grant.org_unit_id})
    for subject, given in grants.items():
        assert root.put(f"/api/v1/people/{subject}/grants", {"grants": given}).status_code == 200


def _send(client, method: str, path: str, example: dict):
    """The request; while it is refused as not (yet) known or allowed, again for a few seconds: a service learns
    the directory, a cycle or a rating from another's events, a moment after the step that made it answered."""
    for name, value in example["path"].items():
        path = path.replace("{" + name + "}", str(value))
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        response = client.request(method, "/api/v1" + path, body=example["body"], headers=example.get("headers"),
                                  timeout=60, **example["query"])
        if response.status_code not in (403, 404, 409, 422, 503, 504) or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


SETTLE_SECONDS = 6


def test_every_example_request_succeeds_on_a_seeded_suite(stack, keys, http, monkeypatch, trained_objection_tagger):
    Client = http
    # the demo's development settings, as `make up` gives them (Lin Hua sits on the technical promotion panel)
    for variable, value in DEVELOPMENT_SETTINGS.items():
        monkeypatch.setenv(variable, value)
    # development, as `make up` runs it: the development login is an example too
    containers = stack(everything=True, RATE_LIMIT_PER_SECOND=1000, RATE_LIMIT_BURST=1000,
                       ENVIRONMENT="development", RPC_TIMEOUT=10)
    gateway = containers["gateway"]
    _seed_demo(Client(gateway, keys.token("root")))
    for person in DEMO_PEOPLE:
        wait_for(lambda p=person.person_id: Client(gateway, keys.token(p)).get("/api/v1/me").status_code == 200,
                 message=f"the gateway knows {person.person_id}")
    wait_for_directory(containers, people=[p.person_id for p in DEMO_PEOPLE],
                       grant_subjects={g.subject_id for g in DEMO_GRANTS})  # every service, not only the gateway
    api = next(dep for dep in gateway.dependencies if dep.attr_name == "api").api
    routes = {route.operation_id: route for route in api.routes}

    def client(actor: str):
        return Client(gateway, keys.token(actor) if actor else None)

    if os.environ.get("JIXIAO_RECORD_EXAMPLES"):
        answers: dict = {}
        out: dict = {}
        refused: list[str] = []
        for step in examples.scenario():
            route = routes[step.operation_id]
            if secret_references(step):  # the replay would send the placeholder where the server checks it
                refused.append(f"{step.key}: sends back a redacted secret {secret_references(step)}")
                continue
            try:
                example = {"operation_id": step.operation_id, "actor": step.actor, "en": step.en, "zh": step.zh,
                           "path": resolve(step.path, answers), "query": resolve(step.query, answers),
                           "body": resolve(step.body, answers), **({"headers": step.headers} if step.headers else {})}
            except (KeyError, IndexError, TypeError) as missing:
                refused.append(f"{step.key}: needs {missing!r}, which failed or is not in its answer")
                continue
            started = time.monotonic()
            try:
                response = _send(client(step.actor), route.method, route.path, example)
            except requests.RequestException as error:
                refused.append(f"{step.key}: {error!r}")
                continue
            if time.monotonic() - started > 1:
                print(f"{step.key}: {time.monotonic() - started:.1f} s")  # what slows the test
            if not 200 <= response.status_code < 300:
                refused.append(f"{step.key}: {response.status_code} {response.text[:400]}")
                continue
            answers[step.key] = response.json()  # the real values: later steps of this run may use them
            out[step.key] = redact({**example, "status": response.status_code, "response": response.json()})
        assert refused == [], "\n".join(refused)  # nothing is written until every step of the scenario succeeds
        assert leaks(out) == [], "\n".join(leaks(out))  # a new secret field: add it to examples.REDACTIONS
        examples.RECORDED.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return

    recorded = examples.replay()
    assert len(recorded) >= len(examples.scenario())
    ids: dict[str, str] = {}
    failures = []
    for key, example in recorded.items():
        route = routes[example["operation_id"]]
        sent = {**example, "path": rename(example["path"], ids), "query": rename(example["query"], ids),
                "body": rename(example["body"], ids)}
        started = time.monotonic()
        response = _send(client(example["actor"]), route.method, route.path, sent)
        if time.monotonic() - started > 0.5:
            print(f"{key}: {time.monotonic() - started:.1f} s")  # what slows the test
        if response.status_code != example["status"]:
            failures.append(f"{key}: {response.status_code} {response.text[:500]}")
            continue
        made_ids(example["response"], response.json(), ids)
    assert failures == [], "\n".join(failures)


def test_a_replay_maps_the_ids_the_server_made_never_the_demo_organisations():
    """Two runs list the same people in another order: Wang Fang's check-in is paired with hers, her person id is
    never mapped onto Li Lei's; a made id is mapped wherever it occurs, a `${step.path}` reference is resolved in
    keys as well as values."""
    recorded = {"items": [{"id": "6e88f4ff-c5bc-4575-b5cd-2c7676945cc1", "person_id": "E1003"},
                          {"id": "1e27f6dd-0189-41ad-9263-99739eeb5fd7", "person_id": "E1004"}],
                "key_id": "0baf43bf0c89", "org_unit_id": "U-PLAT"}
    actual = {"items": [{"id": "9c1f5b0e-3d2a-4e8f-b7a6-5d4c3b2a1f0e", "person_id": "E1004"},
                        {"id": "0d8e3a57-64c4-4ad0-9a1b-1f4f0c5b2e9d", "person_id": "E1003"}],
              "key_id": "5a1c9e0b7d42", "org_unit_id": "U-ENG"}
    ids = made_ids(recorded, actual)
    assert ids == {"6e88f4ff-c5bc-4575-b5cd-2c7676945cc1": "0d8e3a57-64c4-4ad0-9a1b-1f4f0c5b2e9d",
                   "1e27f6dd-0189-41ad-9263-99739eeb5fd7": "9c1f5b0e-3d2a-4e8f-b7a6-5d4c3b2a1f0e",
                   "0baf43bf0c89": "5a1c9e0b7d42"}
    assert made_ids({"id": "6e88f4ff-c5bc-4575-b5cd-2c7676945cc1"}, {"id": "ffffffff-0000-0000-0000-000000000000"},
                    dict(ids)) == ids  # the first answer naming an id decides
    assert rename({"weights": {"6e88f4ff-c5bc-4575-b5cd-2c7676945cc1": 70}, "person_id": "E1003"}, ids) == {
        "weights": {"0d8e3a57-64c4-4ad0-9a1b-1f4f0c5b2e9d": 70}, "person_id": "E1003"}
    answers = {"create_goal": {"id": "g-1", "key_results": [{"id": "kr-1"}]}}
    assert resolve({"${create_goal.id}": 70, "kr": "${create_goal.key_results.0.id}"}, answers) == {
        "g-1": 70, "kr": "kr-1"}


def test_the_recorded_examples_hold_no_live_secret_and_no_test_vhost():
    """What the document shows as the API's answers: the recording run's key, webhook secret, RabbitMQ password,
    signed token and test vhost are illustrative placeholders of the same shape."""
    recorded = json.loads(examples.RECORDED.read_text(encoding="utf-8"))
    assert leaks(recorded) == []
    key = recorded["issue_api_key"]["response"]
    assert re.fullmatch(r"jx_live_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key["api_key"])
    assert key["api_key"].startswith(f"jx_live_{key['key_id']}_0123example")
    assert recorded["create_subscription"]["response"]["secret"].startswith("whsec_0123example")
    consumer = recorded["create_amqp_consumer"]["response"]
    assert consumer["vhost"] == examples.EXAMPLE_VHOST
    assert consumer["amqp_uri"] == (f"amqp://{consumer['username']}:{examples.EXAMPLE_PASSWORD}"
                                    "@rabbitmq.example.internal:5672/%2Fjixiao")
    assert recorded["dev_login"]["response"]["access_token"].split(".")[2].startswith("0123example")


def test_redaction_makes_each_listed_secret_illustrative_and_leaks_finds_what_it_missed():
    live = {"api_key": "jx_live_f634e02a6802_1hHVt_Bmcv7yxZa0nyeBUcf3ifjhC81HMqB-E-NljHg",
            "secret": "whsec_5KcuhsPQfUZpjATQx_75DoA9QZ20E7-xJY3owqs38No", "password": "Anwx7ED4FRY9gJc2",
            "amqp_uri": "amqp://ext-1:Anwx7ED4FRY9gJc2@127.0.0.1:5672/jx-test-dc95fb4a52e7",
            "vhost": "jx-test-dc95fb4a52e7", "items": [{"secret": None, "password": None}],
            "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFMTAwMiJ9.DD22dlwwRN-N7qQs_0McPSDge8hLOzjrxoTSGQ6vWMw"}
    assert len(leaks(live)) == 6
    made = redact(live)
    assert leaks(made) == [] and redact(made) == made  # illustrative, and stays so
    assert made["items"] == [{"secret": None, "password": None}]  # a list's hidden secrets stay null
    assert made["amqp_uri"].startswith("amqp://ext-1:example-password-") and made["vhost"] == "/jixiao"
    assert made["access_token"].startswith("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFMTAwMiJ9.0123example")
    # under another key, or inside a text, a live-looking value is still found
    assert len(leaks({"note": "use jx_test_0baf43bf0c89_Zm9vYmFyYmF6cXV4 on amqp://u:p@localhost/x"})) == 2


def test_no_example_step_sends_a_redacted_secret_back():
    """A replay sends recorded requests as is: one built from an answer's secret would send the placeholder."""
    assert [step.key for step in examples.scenario() if secret_references(step)] == []
    rotate = Step("revoke_api_key", "E1000", "x", "x", body={"api_key": "${issue_api_key.api_key}"})
    assert secret_references(rotate) == ["${issue_api_key.api_key}"]
    assert secret_references(Step("revoke_api_key", "E1000", "x", "x", path={"key_id": "${issue_api_key.key_id}"})) \
        == []
