"""PATCH /api/v1/clients/{client_id} against the real gateway and compliance: an administrator changes a client's
name, scopes, event patterns and renews its agreement, with If-Match; careless input is a 4xx naming the field and
changes nothing; a revoked client answers 409; the changes reach the audit log; the client's key keeps working
across a renewal."""
from datetime import UTC, datetime, timedelta

from chassis.testing.plugin import wait_for


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _fields(response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


def test_an_administrator_changes_and_renews_a_client(seeded, http):
    admin, auditor, hr = seeded.as_("root"), seeded.as_("A1"), seeded.as_("H1")
    today = datetime.now(UTC).date()
    client = _ok(admin.post("/api/v1/clients", {
        "name": "HRIS", "scopes": ["goals:read"], "event_patterns": ["jixiao.goals.*"],
        "dpa": {"ref": "DPA-2026-11", "expires_on": (today + timedelta(days=20)).isoformat()}}), 201)
    path = f"/api/v1/clients/{client['client_id']}"
    key = _ok(admin.post(f"{path}/keys", {}), 201)["api_key"]
    integration = http(seeded.containers["gateway"])

    changed = admin.patch(path, {"name": "HRIS (Shanghai)", "scopes": ["goals:read", "org:read"],
                                 "event_patterns": ["jixiao.goals.goal.*.v1"]})
    view = _ok(changed)
    assert view["name"] == "HRIS (Shanghai)" and view["scopes"] == ["goals:read", "org:read"]
    assert view["event_patterns"] == ["jixiao.goals.goal.*.v1"] and changed.headers["ETag"]

    renewal = {"dpa": {"ref": "DPA-2027-01", "expires_on": (today + timedelta(days=400)).isoformat()}}
    stale = admin.patch(path, renewal, headers={"If-Match": '"h0000000000000000000"'})
    assert stale.status_code == 409, stale.text
    renewed = _ok(admin.patch(path, renewal, headers={"If-Match": changed.headers["ETag"]}))
    assert renewed["dpa"] == renewal["dpa"] and renewed["dpa_ref"] == "DPA-2027-01"
    assert _ok(integration.get("/api/v1/me", headers={"X-Api-Key": key}))["scopes"] == ["goals:read", "org:read"]

    entries = wait_for(lambda: (lambda page: page if len(page["items"]) == 2 else None)(_ok(auditor.get(
        "/api/v1/audit/entries", type="jixiao.compliance.client.updated.v1"))), message="both changes audited")
    assert {entry["actor"] for entry in entries["items"]} == {"root"}

    refused = hr.patch(path, {"name": "mine"})  # HR holds no clients:write
    assert refused.status_code == 403 and refused.json()["required_scope"] == "clients:write"
    assert admin.patch("/api/v1/clients/nosuchclient", {"name": "x"}).status_code == 404


def test_careless_changes_are_refused_naming_the_field(seeded):
    admin = seeded.as_("root")
    today = datetime.now(UTC).date()
    client = _ok(admin.post("/api/v1/clients", {
        "name": "CRM", "scopes": ["goals:read"], "event_patterns": ["jixiao.goals.*"],
        "dpa": {"ref": "DPA-2026-12", "expires_on": (today + timedelta(days=28)).isoformat()}}), 201)
    path = f"/api/v1/clients/{client['client_id']}"
    cases = [
        ({"scopes": ["goals:read", "payroll:read"]}, 422, "scopes"),  # compliance's rule: a service's 400 is a 422
        ({"event_patterns": ["jixiao.goals.*", "jixiao goals"]}, 422, "event_patterns.1"),
        ({"dpa": {"ref": "DPA-2025-12", "expires_on": (today - timedelta(days=1)).isoformat()}}, 422,
         "dpa.expires_on"),
        ({"dpa": {"ref": "DPA-2027", "expires_on": "31/12/2027"}}, 400, "dpa.expires_on"),
        ({"webhook_url": "https://crm.example.com/hook"}, 400, "webhook_url"),
        ({"name": ""}, 400, "name"),
    ]
    for body, status, field in cases:
        response = admin.patch(path, {**body})
        assert response.status_code == status, (body, response.text)
        assert field in _fields(response), (body, response.text)
    assert _ok(admin.get(path)) == {**client, "key_ids": []}  # nothing was written

    _ok(admin.post(f"{path}/revoke", {}))
    revoked = admin.patch(path, {"name": "CRM again"})
    assert revoked.status_code == 409 and revoked.json()["reason"] == "client-revoked", revoked.text
