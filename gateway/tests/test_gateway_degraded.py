"""A service stopped mid-test: its routes answer 504 within the RPC timeout, the other service's routes keep
working, and the dashboard still answers 200 with the affected sections marked unavailable."""
import time

from chassis.testing.plugin import wait_for


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_a_stopped_service_times_out_and_the_dashboard_degrades(seeded_with):
    seeded = seeded_with(RPC_TIMEOUT=1, SECTION_TIMEOUT=1)
    hr, manager, employee = seeded.as_("H1"), seeded.as_("M1"), seeded.as_("E1")
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "FY", "period": "year", "year": 2026}), 201)
    _ok(hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"}))
    goal = _ok(employee.post("/api/v1/goals", {
        "cycle_id": cycle["id"], "title": "Ship", "kind": "kpi", "owner": {"id": "E1"},
        "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}}), 201)
    healthy = _ok(manager.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))
    assert healthy["colours"]["status"] == "ok" and healthy["colours"]["data"]["red"] == 1
    assert healthy["open_proposals"] == {"status": "ok", "data": []}

    seeded.containers["goals"].stop()

    started = time.monotonic()
    timed_out = employee.get(f"/api/v1/goals/{goal['id']}")
    assert timed_out.status_code == 504 and time.monotonic() - started < 2.5
    assert timed_out.headers["Content-Type"].startswith("application/problem+json")
    assert timed_out.json()["correlation_id"] == timed_out.headers["X-Request-Id"]

    started = time.monotonic()
    degraded = _ok(manager.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))
    assert time.monotonic() - started < 2.5  # the sections waited together, not one after another
    for section in ("colours", "at_risk", "open_proposals", "pending_reviews"):
        assert degraded[section]["status"] == "unavailable" and degraded[section]["reason"] == "timeout"
        assert "data" not in degraded[section]

    assert _ok(employee.get("/api/v1/people/E1"))["person_id"] == "E1"  # compliance is unaffected


def test_without_its_broker_the_gateway_answers_503_and_recovers(broker_proxy, gateway_config, run_services,
                                                                  amqp_uri, keys, http, publish_org, small_org):
    # broker_proxy first: it must outlive the container, which stops cleanly only with its broker back
    from gateway.service import GatewayService

    config = {**gateway_config, "AMQP_URI": broker_proxy.uri_for(amqp_uri), "RPC_TIMEOUT": 1}
    gateway = run_services({GatewayService: config})["gateway"]
    publish_org(*small_org)
    client = http(gateway, keys.token("E1"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the read model knows E1")

    broker_proxy.cut()
    started = time.monotonic()
    down = client.get("/api/v1/goals/g1")
    assert down.status_code in (503, 504), down.text
    assert time.monotonic() - started < 10
    assert down.headers["Content-Type"].startswith("application/problem+json") and "Errno" not in down.text
    assert client.get("/api/v1/me").status_code == 200  # what needs no service still works
    assert client.get("/health/ready").status_code == 503

    broker_proxy.restore()
    wait_for(lambda: client.get("/api/v1/goals/g1").status_code == 504, timeout=30,
             message="the gateway reconnects (no goals service here, so the call times out again)")
