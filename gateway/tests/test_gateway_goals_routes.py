"""Goals over HTTP, against the real goals and compliance services: idempotent creates, ETag/If-Match, cursor
pages, row-level access decided by the service from the actor the gateway sends, negotiation, the board and the
"my team" dashboard."""
from urllib.parse import parse_qs, urlsplit


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _kpi(cycle_id, owner, title):
    return {"cycle_id": cycle_id, "title": title, "kind": "kpi", "owner": {"id": owner},
            "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}}


def _open_cycle(seeded):
    hr = seeded.as_("H1")
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "FY", "period": "year", "year": 2026, "visibility": "private"}), 201)
    return _ok(hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"}))


def test_cycles_idempotent_creates_and_if_match(seeded):
    hr = seeded.as_("H1")
    first = hr.post("/api/v1/cycles", {"name": "FY2026", "period": "year", "year": 2026},
                    headers={"Idempotency-Key": "cycle-fy2026"})
    cycle = _ok(first, 201)
    replay = hr.post("/api/v1/cycles", {"name": "FY2026", "period": "year", "year": 2026},
                     headers={"Idempotency-Key": "cycle-fy2026"})
    assert replay.status_code == 201 and replay.json() == cycle
    assert replay.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    reused = hr.post("/api/v1/cycles", {"name": "FY2027", "period": "year", "year": 2027},
                     headers={"Idempotency-Key": "cycle-fy2026"})
    assert reused.status_code == 422 and reused.json()["type"].endswith("idempotency-key-reused")
    # the key belongs to its caller: the same key from someone else is a different request
    assert _ok(seeded.as_("root").post("/api/v1/cycles", {"name": "Q1", "period": "quarter", "year": 2026},
                                       headers={"Idempotency-Key": "cycle-fy2026"}), 201)["name"] == "Q1"
    listed = _ok(hr.get("/api/v1/cycles"))
    assert sorted(c["name"] for c in listed["items"]) == ["FY2026", "Q1"] and listed["next_cursor"] is None

    read = hr.get(f"/api/v1/cycles/{cycle['id']}")
    assert read.headers["ETag"] == '"1"'
    assert hr.get(f"/api/v1/cycles/{cycle['id']}", headers={"If-None-Match": '"1"'}).status_code == 304
    stale = hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 409, stale.text
    opened = hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"},
                     headers={"If-Match": read.headers["ETag"]})
    assert _ok(opened)["state"] == "open" and opened.headers["ETag"] == '"2"'
    # employees cannot manage cycles: the service decides, the gateway maps its 403
    assert seeded.as_("E1").post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "locked"}).status_code == 403

    # library entries are saved whole (PUT); If-Match makes the service replace only the version read
    indicator = {"name": "NPS", "kind": "kpi", "direction": ">=", "target": "50", "green": "50", "yellow": "30"}
    saved = hr.put("/api/v1/indicators/nps", indicator)
    assert _ok(saved)["version"] == 1 and saved.headers["ETag"] == '"1"'
    assert hr.put("/api/v1/indicators/nps", {**indicator, "name": "x"}, headers={"If-Match": '"7"'}).status_code == 409
    renamed = hr.put("/api/v1/indicators/nps", {**indicator, "name": "Net promoter"}, headers={"If-Match": '"1"'})
    assert _ok(renamed)["version"] == 2 and renamed.headers["ETag"] == '"2"'


def test_goals_pages_access_and_updates(seeded):
    cycle = _open_cycle(seeded)
    me, peer, manager = seeded.as_("E1"), seeded.as_("E2"), seeded.as_("M1")
    goals = [_ok(me.post("/api/v1/goals", _kpi(cycle["id"], "E1", f"Goal {n}")), 201) for n in range(3)]

    first = me.get("/api/v1/goals", cycle_id=cycle["id"], limit=2)
    page = _ok(first)
    assert len(page["items"]) == 2 and page["next_cursor"]
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and parse_qs(urlsplit(link[1:link.index(">")]).query)["cursor"] == [
        page["next_cursor"]]
    rest = _ok(me.get("/api/v1/goals", cycle_id=cycle["id"], limit=2, cursor=page["next_cursor"]))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None and "Link" not in me.get(
        "/api/v1/goals", cycle_id=cycle["id"], limit=5).headers
    assert {g["id"] for g in page["items"] + rest["items"]} == {g["id"] for g in goals}

    goal_id = goals[0]["id"]
    read = me.get(f"/api/v1/goals/{goal_id}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert me.get(f"/api/v1/goals/{goal_id}", headers={"If-None-Match": read.headers["ETag"]}).status_code == 304
    # another employee may not read it; their manager may (the goals service decides from the actor)
    assert peer.get(f"/api/v1/goals/{goal_id}").status_code in (403, 404)
    assert peer.get("/api/v1/goals", cycle_id=cycle["id"], owner_id="E1").status_code in (403, 404)
    assert _ok(manager.get(f"/api/v1/goals/{goal_id}"))["title"] == "Goal 0"

    stale = me.patch(f"/api/v1/goals/{goal_id}", {"title": "Renamed"}, headers={"If-Match": '"5"'})
    assert stale.status_code == 409
    changed = me.patch(f"/api/v1/goals/{goal_id}", {"title": "Renamed"}, headers={"If-Match": '"1"'})
    assert _ok(changed)["title"] == "Renamed" and changed.headers["ETag"] == '"2"'
    again = me.patch(f"/api/v1/goals/{goal_id}", {"title": "Again"}, headers={"If-Match": '"1"'})
    assert again.status_code == 409  # a second writer holding the old ETag loses

    recorded = _ok(me.post(f"/api/v1/goals/{goal_id}/progress", {"value": "95", "comment": "nearly"}), 201)
    assert recorded["goal"]["colour"] == "green"
    history = _ok(me.get(f"/api/v1/goals/{goal_id}/progress"))
    assert [update["comment"] for update in history["items"]] == ["nearly"]
    tree = _ok(me.get(f"/api/v1/goals/{goal_id}/tree"))
    assert tree["root_id"] == goal_id


def test_negotiation_board_and_dashboard(seeded):
    cycle = _open_cycle(seeded)
    me, manager = seeded.as_("E1"), seeded.as_("M1")
    goal = _ok(me.post("/api/v1/goals", _kpi(cycle["id"], "E1", "Revenue")), 201)
    proposal = _ok(me.post("/api/v1/proposals", {"changes": [{"goal_id": goal["id"], "field": "target",
                                                               "value": "80"}],
                                                  "rationale": "the market shrank"}), 201)
    assert proposal["state"] == "open" and proposal["thread"]["awaiting"] == "manager"
    bad = me.post("/api/v1/proposals", {"changes": [{"goal_id": goal["id"], "field": "target", "value": "lots"}],
                                        "rationale": "x"})
    # a value typed by its `field`: a rule the OpenAPI cannot state, the service's 422 naming it
    assert bad.status_code == 422 and "changes.0.value" in [e["field"] for e in bad.json()["errors"]]
    # the manager's open proposals: their own list, and a section of their dashboard
    waiting = _ok(manager.get("/api/v1/proposals", awaiting="me", state="open", cycle_id=cycle["id"]))
    assert [p["proposal_id"] for p in waiting["items"]] == [proposal["proposal_id"]]
    assert waiting["items"][0]["awaiting"] == "manager" and waiting["next_cursor"] is None
    assert _ok(me.get("/api/v1/proposals", awaiting="me"))["items"] == []
    assert manager.get("/api/v1/proposals", state="accepted").status_code == 400
    section = _ok(manager.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))["open_proposals"]
    assert section["status"] == "ok" and [p["proposal_id"] for p in section["data"]] == [proposal["proposal_id"]]
    accepted = _ok(manager.post(f"/api/v1/proposals/{proposal['proposal_id']}/accept", {"comment": "fair"}))
    assert accepted["state"] == "accepted"
    assert _ok(me.get(f"/api/v1/goals/{goal['id']}"))["kpi"]["target"] in ("80", "80.000000")
    history = _ok(me.get(f"/api/v1/goals/{goal['id']}/negotiation"))
    assert history["threads"][0]["entries"][-1]["action"] == "accept"

    board = _ok(manager.get(f"/api/v1/cycles/{cycle['id']}/board", reports_of="M1"))
    assert board["total"]["count"] == 1 and board["items"][0]["id"] == goal["id"]

    dashboard = _ok(manager.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))
    assert dashboard["colours"]["status"] == "ok" and dashboard["colours"]["data"]["count"] == 1
    assert dashboard["at_risk"]["status"] == "ok"
    assert dashboard["pending_reviews"]["status"] == "ok"
    assert dashboard["open_proposals"] == {"status": "ok", "data": []}
    # goals answers its four sections in one call, and a section refused there still stands alone
    unknown = _ok(manager.get("/api/v1/dashboard/my-team", cycle_id="no-such-cycle"))
    assert unknown["colours"]["status"] == "refused" and unknown["colours"]["reason"] == "not-found"
    assert unknown["at_risk"]["status"] == "refused" and "no-such-cycle" in unknown["at_risk"]["detail"]
    assert unknown["open_proposals"] == {"status": "ok", "data": []}
    assert unknown["pending_reviews"] == {"status": "ok", "data": []}
