"""Compliance over HTTP, against the real services: the directory, audit, privacy requests, appeals, and API
clients whose keys authenticate integrations (and stop working once revoked)."""
from datetime import UTC, datetime, timedelta

from chassis.testing.plugin import wait_for


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_directory_pages_and_scopes(seeded):
    hr, peer, employee = seeded.as_("H1"), seeded.as_("E2"), seeded.as_("E1")
    first = _ok(hr.get("/api/v1/people", org_unit_id="U1", limit=2))
    assert [p["person_id"] for p in first["items"]] == ["A1", "E1"] and first["next_cursor"]
    everyone = [p["person_id"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _ok(hr.get("/api/v1/people", org_unit_id="U1", limit=2, cursor=cursor))
        everyone += [p["person_id"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert everyone == ["A1", "E1", "E2", "H1", "M1"]
    card = peer.get("/api/v1/people/E1")
    assert _ok(card)["name"] == "Employee one" and card.headers["ETag"] == '"1"'
    assert _ok(hr.get("/api/v1/people/H1/grants"))["grants"] == [{"role": "hr", "org_unit_id": "U1"}]
    # compliance takes no expected_version: the gateway compares the ETag of a fresh read before the write
    change = {"name": "Employee One", "org_unit_id": "U2", "manager_id": "M1"}
    stale = hr.put("/api/v1/people/E1", change, headers={"If-Match": '"9"'})
    assert stale.status_code == 409 and stale.headers["ETag"] == '"1"'
    updated = hr.put("/api/v1/people/E1", change, headers={"If-Match": card.headers["ETag"]})
    assert _ok(updated)["version"] == 2 and updated.headers["ETag"] == '"2"'
    # an employee holds no org:write: refused at the edge, before any RPC
    refused = employee.put("/api/v1/people/E1", {"name": "Me", "org_unit_id": "U2"})
    assert refused.status_code == 403 and refused.json()["required_scope"] == "org:write"
    invalid = hr.put("/api/v1/people/bad id", {"name": "X", "org_unit_id": "U2"})
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["in"] == "path"
    missing = hr.get("/api/v1/people/NOPE")
    assert missing.status_code in (403, 404)
    decision = _ok(employee.post("/api/v1/access/decisions",
                                 {"action": "goal.read", "resource": {"kind": "goal", "owner": "E2"}}))
    assert decision["allowed"] is False


def test_only_administrators_make_every_read_model_resync(seeded):
    resync = _ok(seeded.as_("root").post("/api/v1/org/resyncs", {"reason": "goals database restored"}))
    assert resync["request_id"] and resync["requested_at"]
    refused = seeded.as_("H1").post("/api/v1/org/resyncs", {"reason": "why not"})
    assert refused.status_code == 403, refused.text
    blank = seeded.as_("root").post("/api/v1/org/resyncs", {"reason": ""})
    assert blank.status_code == 400 and "reason" in blank.text


def test_audit_privacy_and_appeals(seeded):
    auditor, employee, hr = seeded.as_("A1"), seeded.as_("E1"), seeded.as_("H1")
    # the auditor's grant reaches the gateway by an org event (batched), which may land after /me answers
    wait_for(lambda: auditor.get("/api/v1/audit/entries", limit=1).status_code == 200, message="the auditor's grant")
    entries = wait_for(lambda: _ok(auditor.get("/api/v1/audit/entries", type="jixiao.compliance.person.*",
                                               limit=3)), message="the audit log has the directory events")
    assert len(entries["items"]) == 3 and entries["next_cursor"]
    more = _ok(auditor.get("/api/v1/audit/entries", type="jixiao.compliance.person.*", limit=3,
                           cursor=entries["next_cursor"]))
    assert more["items"][0]["sequence"] > entries["items"][-1]["sequence"]
    assert _ok(auditor.post("/api/v1/audit/verifications", {}))["ok"] is True
    assert employee.get("/api/v1/audit/entries").status_code == 403  # no audit:read for an employee

    # a data-subject request is accepted at once (202 + Location) and read back there (issue 8 item 8)
    response = employee.post("/api/v1/privacy/exports", {})
    export = _ok(response, 202)
    assert export["subject"] == "E1" and export["kind"] == "access" and export["state"] == "collecting"
    assert response.headers["Location"] == f"/api/v1/privacy/requests/{export['request_id']}"
    done = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
        _ok(employee.get(response.headers["Location"]))),
        message="the export gathered")
    assert done["request"]["request_id"] == export["request_id"] and done["request"]["state"] == "completed"
    assert set(done["document"]["services"]) == {"compliance", "goals"}
    leaving = seeded.as_("E2")
    erasure = leaving.post("/api/v1/privacy/erasures", {}, headers={"Idempotency-Key": "erase-me-once"})
    assert erasure.status_code == 202, erasure.text
    assert erasure.headers["Location"] == f"/api/v1/privacy/requests/{erasure.json()['request_id']}"
    replay = leaving.post("/api/v1/privacy/erasures", {}, headers={"Idempotency-Key": "erase-me-once"})
    assert replay.status_code == 202 and replay.headers["Location"] == erasure.headers["Location"]

    # an appeal names the appellant's own goal, which compliance confirms with goals
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "FY", "period": "year", "year": 2026}), 201)
    _ok(hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"}))
    goal = _ok(employee.post("/api/v1/goals", {"cycle_id": cycle["id"], "title": "Revenue", "kind": "kpi",
                                               "owner": {"id": "E1"}, "kpi": {"direction": ">=", "target": "100",
                                                                              "green": "90", "yellow": "70"}}), 201)
    missing = employee.post("/api/v1/appeals", {"target_kind": "goal_result", "target_ref": "G-1", "reasons": "x"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "target_ref"
    appeal = _ok(employee.post("/api/v1/appeals", {"target_kind": "goal_result", "target_ref": goal["id"],
                                                   "reasons": "the data was incomplete"}), 201)
    assert appeal["state"] == "submitted" and appeal["appellant"] == "E1"
    assert [a["appeal_id"] for a in _ok(employee.get("/api/v1/appeals"))["items"]] == [appeal["appeal_id"]]
    reviewing = _ok(hr.post(f"/api/v1/appeals/{appeal['appeal_id']}/review", {}))
    assert reviewing["state"] == "under_review"
    decided = _ok(hr.post(f"/api/v1/appeals/{appeal['appeal_id']}/decision",
                          {"outcome": "upheld", "reason": "the result stands"}))
    assert decided["state"] == "upheld"


def test_api_keys_authenticate_clients_until_revoked(seeded, http):
    admin = seeded.as_("root")
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    client = _ok(admin.post("/api/v1/clients", {"name": "HRIS", "scopes": ["goals:read", "org:read"],
                                                "dpa_ref": "DPA-7", "dpa_expires": expires}), 201)
    issued = _ok(admin.post(f"/api/v1/clients/{client['client_id']}/keys", {}), 201)
    key = issued["api_key"]
    integration = http(seeded.containers["gateway"])
    me = _ok(integration.get("/api/v1/me", headers={"X-Api-Key": key}))
    assert me == {"subject": client["client_id"], "kind": "client", "roles": [], "scopes": ["goals:read", "org:read"],
                  "org_unit": None}
    assert integration.get("/api/v1/people/E1", headers={"Authorization": f"ApiKey {key}"}).status_code == 200
    refused = integration.post("/api/v1/cycles", {"name": "X", "period": "year", "year": 2026},
                               headers={"X-Api-Key": key})
    assert refused.status_code == 403 and refused.json()["required_scope"] == "goals:write"
    wrong = integration.get("/api/v1/me", headers={"X-Api-Key": key[:-4] + "AAAA"})
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers

    _ok(admin.post(f"/api/v1/api-keys/{issued['key_id']}/revoke", {}))
    wait_for(lambda: integration.get("/api/v1/me", headers={"X-Api-Key": key}).status_code == 401,
             timeout=10, message="the revoked key stops working once the gateway's short cache expires")
