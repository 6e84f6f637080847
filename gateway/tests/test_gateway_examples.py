"""Every example request of the OpenAPI document, sent as is to a fresh suite seeded with the demo organisation,
succeeds — in the recorded order (later examples act on what earlier ones made; the ids the server assigned in
the recording are mapped onto this run's). JIXIAO_RECORD_EXAMPLES=1 records them again from the scenario
(gateway.examples) into recorded.json."""
import json
import os

from chassis.testing.plugin import wait_for
from gateway import examples
from gateway.demo import DEMO_GRANTS, DEMO_PEOPLE, DEMO_UNITS
from gateway.examples import made_ids, rename, resolve


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
    for name, value in example["path"].items():
        path = path.replace("{" + name + "}", str(value))
    return client.request(method, "/api/v1" + path, body=example["body"], **example["query"])


def test_every_example_request_succeeds_on_a_seeded_suite(stack, keys, http):
    Client = http
    containers = stack(everything=True, RATE_LIMIT_PER_SECOND=1000, RATE_LIMIT_BURST=1000)
    gateway = containers["gateway"]
    _seed_demo(Client(gateway, keys.token("root")))
    for person in DEMO_PEOPLE:
        wait_for(lambda p=person.person_id: Client(gateway, keys.token(p)).get("/api/v1/me").status_code == 200,
                 message=f"the gateway knows {person.person_id}")
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
            try:
                example = {"actor": step.actor, "en": step.en, "zh": step.zh, "path": resolve(step.path, answers),
                           "query": resolve(step.query, answers), "body": resolve(step.body, answers)}
            except KeyError as missing:
                refused.append(f"{step.operation_id}: needs {missing}, which failed")
                continue
            response = _send(client(step.actor), route.method, route.path, example)
            if not 200 <= response.status_code < 300:
                refused.append(f"{step.operation_id}: {response.status_code} {response.text[:400]}")
                continue
            answers[step.operation_id] = response.json()
            out[step.operation_id] = {**example, "status": response.status_code, "response": response.json()}
        assert refused == [], "\n".join(refused)  # nothing is written until every step of the scenario succeeds
        examples.RECORDED.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return

    recorded = examples.recorded()
    assert len(recorded) >= len(examples.scenario())
    ids: dict[str, str] = {}
    failures = []
    for operation_id, example in recorded.items():
        route = routes[operation_id]
        sent = {**example, "path": rename(example["path"], ids), "query": rename(example["query"], ids),
                "body": rename(example["body"], ids)}
        response = _send(client(example["actor"]), route.method, route.path, sent)
        if response.status_code != example["status"]:
            failures.append(f"{operation_id}: {response.status_code} {response.text[:500]}")
            continue
        made_ids(example["response"], response.json(), ids)
    assert failures == []
