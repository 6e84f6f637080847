"""Incentives over HTTP, against the real incentives and compliance services: every incentives RPC meant for HTTP
has a route, the routes forward with the caller's identity, bad input is a 4xx naming the field, and pay data is
never shown to a peer."""
from __future__ import annotations

import inspect

import pytest

from chassis.testing.plugin import wait_for

from .conftest import FAST, seed_and_wait

INTERNAL = {"incentives.export_subject_data"}  # compliance collects data-subject exports from every service


def test_every_incentives_rpc_has_one_route():
    from chassis.remote import Rpc
    from gateway.routes import incentives as routes
    from incentives.service import IncentivesService

    offered = {f"incentives.{name}" for name, method in inspect.getmembers(IncentivesService, inspect.isfunction)
               if any(isinstance(e, Rpc) for e in getattr(method, "nameko_entrypoints", ()))}
    table = routes.routes()
    targets = [getattr(route.handler, "target", None) for route in table]
    assert offered - INTERNAL == set(targets)
    assert len(set(targets)) == len(targets) and len({(r.method, r.path) for r in table}) == len(table)


@pytest.fixture
def incentives_stack(pg_database, gateway_config, run_services, keys):
    from compliance.service import ComplianceService
    from gateway.service import GatewayService
    from incentives.service import IncentivesService

    containers = run_services({
        ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root",
                            "DSR_SERVICES": "incentives", "DSR_TIMEOUT": 3.0},
        IncentivesService: {"DATABASE_URL": pg_database("incentives"),
                            "INCENTIVES_PROMOTION_PANELS": {"technical": ["H1"], "management": ["H1"]}},
        GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root"},
    }, **FAST)
    return seed_and_wait(containers, keys)


def test_points_and_rules_over_http(incentives_stack):
    s = incentives_stack
    hr, mgr, e1, e2 = (s.as_(p) for p in ("H1", "M1", "E1", "E2"))
    bad = hr.put("/api/v1/incentives/process-rules/leads", {"name": "leads", "condition": "valid_leads >=",
                                                            "amount": "200"})
    assert bad.status_code == 422, bad.text  # the formula language: a rule the OpenAPI cannot state
    assert bad.json()["errors"][0]["field"] == "condition" and "position" in bad.json()["errors"][0]
    ok = hr.put("/api/v1/incentives/process-rules/leads", {"name": "周新增有效线索≥5条 且 Demo转化率≥30%",
                                                           "condition": "valid_leads >= 5 and demo_conversion >= 0.3",
                                                           "amount": "200"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["inputs"] == ["demo_conversion", "valid_leads"]

    def funded():  # the incentives service learns the directory from compliance's events
        return hr.post("/api/v1/incentives/points-budgets/U2/fund", {"points": 100}).status_code == 200
    wait_for(funded, message="incentives knows the directory")
    granted = mgr.post("/api/v1/incentives/people/E1/points", {"points": 30, "reason": "demo day"})
    assert granted.status_code == 200, granted.text
    assert e1.get("/api/v1/incentives/people/E1/points").json()["balance"] == 30
    assert e2.get("/api/v1/incentives/people/E1/points").status_code == 403  # never peers
    assert e1.post("/api/v1/incentives/people/E1/points", {"points": 1, "reason": "me"}).status_code == 403
    short = e1.post("/api/v1/incentives/redemptions", {"reward_code": "nothing_here"})
    assert short.status_code == 404 and short.json()["errors"][0]["field"] == "reward_code"


def test_a_panel_promotes_past_unmet_criteria_only_by_saying_so(incentives_stack):
    s = incentives_stack
    hr, mgr, e1, e2 = (s.as_(p) for p in ("H1", "M1", "E1", "E2"))
    nominated = wait_for(lambda: (r := mgr.post("/api/v1/incentives/nominations", {
        "person_id": "E1", "sequence": "technical", "target_level": "T3", "reason": "led the release"})
                                  ).status_code == 201 and r.json(), message="incentives knows the directory")
    unmet = [c["criterion"] for c in nominated["criteria"] if not c["met"]]
    assert unmet  # no finalized rating yet: nothing is met
    decide = f"/api/v1/incentives/nominations/{nominated['id']}/decide"
    refused = hr.post(decide, {"outcome": "promoted", "reason": "great year"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "override_criteria", refused.text
    careless = hr.post(decide, {"outcome": "promoted", "reason": "great year", "override_criteria": "maybe"})
    assert careless.status_code == 400 and careless.json()["errors"][0]["field"] == "override_criteria"
    overriding = {"outcome": "promoted", "reason": "x", "override_criteria": True}
    for outsider in (e1, mgr):  # the nominee and the nominator may read it, not decide it
        assert outsider.post(decide, overriding).status_code == 403
    assert e2.post(decide, overriding).status_code == 404  # to a peer the nomination does not exist
    assert hr.get(f"/api/v1/incentives/nominations/{nominated['id']}").json()["status"] == "nominated"
    done = hr.post(decide, {"outcome": "promoted", "reason": "great year", "override_criteria": True})
    assert done.status_code == 200 and done.json()["criteria_overridden"] == unmet, done.text
    assert e1.get(f"/api/v1/incentives/nominations/{nominated['id']}").json()["criteria_overridden"] == unmet
