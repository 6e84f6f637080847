"""Cycles, the goal tree, weights, progress, colours, reviews and commitments over RPC (RabbitMQ + PostgreSQL):
what each capability does, what bad input and denied callers get (a 4xx naming the field, nothing written)."""
from decimal import Decimal

import pytest


@pytest.fixture
def team(goals_service, uid):
    """hq > sales; boss heads hq, mgr reports to boss and manages rep1, rep2; an outsider elsewhere; HR for hq."""
    s = goals_service
    p = {name: f"{uid}-{name}" for name in ("boss", "mgr", "rep1", "rep2", "outsider", "hr")}
    hq, sales, other = f"{uid}-hq", f"{uid}-sales", f"{uid}-other"
    s.org(units=[(hq, None, "HQ"), (sales, hq, "Sales"), (other, None, "Elsewhere")],
          people=[(p["boss"], hq, None), (p["mgr"], sales, p["boss"]), (p["rep1"], sales, p["mgr"]),
                  (p["rep2"], sales, p["mgr"]), (p["outsider"], other, None), (p["hr"], hq, None)],
          grants={p["hr"]: [("hr", hq)]})
    return p | {"hq": hq, "sales": sales}


def open_cycle(s, hr, year=2027, **extra):
    # private: these tests are about what the line reads (company cycles open goals to everyone: issue 8)
    extra = {"visibility": "private", **extra}
    cycle = s.as_(hr).create_cycle({"name": f"FY{year}", "period": "year", "year": year, **extra})
    return s.as_(hr).transition_cycle({"cycle_id": cycle["id"], "to": "open"})


def kpi_goal(cycle_id, owner, **extra):
    return {"cycle_id": cycle_id, "title": "Closure rate", "kind": "kpi", "owner": {"kind": "person", "id": owner},
            "kpi": {"direction": ">=", "target": "90", "unit": "%", "green": "90", "yellow": "80"}, **extra}


def okr_goal(cycle_id, owner, **extra):
    return {"cycle_id": cycle_id, "title": "Win accounts", "kind": "okr", "owner": {"kind": "person", "id": owner},
            "key_results": [{"title": "New accounts", "target": "10"},
                            {"title": "Pipeline", "start": "0", "target": "500", "unit": "kCNY", "weight": "2"}],
            **extra}


def test_cycles_move_forward_only_and_only_hr_manages_them(goals_service, team):
    s = goals_service
    hr = s.as_(team["hr"])
    before = s.scalar("select count(*) from cycles")
    mark = s.mark()
    for bad, field in (({"period": "week"}, "period"), ({"year": 1900}, "year"), ({"index": 13}, "index"),
                       ({"colour": "x"}, "colour")):
        error = s.fails(hr.create_cycle, {"name": "Q", "period": "quarter", "year": 2027, "index": 1, **bad})
        assert error.status == 400 and error.errors[0]["field"] == field
    error = s.fails(hr.create_cycle, {"name": "Q5", "period": "quarter", "year": 2027, "index": 5})
    assert error.status == 400 and error.errors[0]["field"] == "index"
    error = s.fails(s.as_(team["rep1"]).create_cycle, {"name": "Mine", "period": "year", "year": 2027})
    assert error.status == 403
    error = s.fails(s.as_(None).create_cycle, {"name": "Nobody", "period": "year", "year": 2027})
    assert error.status == 403
    assert s.scalar("select count(*) from cycles") == before
    assert [t for t, _ in s.events(mark)] == ["jixiao.goals.access.denied.v1"] * 2

    q1 = hr.create_cycle({"name": "Q1 2027", "period": "quarter", "year": 2027, "index": 1, "red_after_weeks": 3})
    assert (q1["state"], q1["starts_on"], q1["ends_on"], q1["red_after_weeks"]) == ("draft", "2027-01-01",
                                                                                      "2027-03-31", 3)
    assert s.fails(hr.transition_cycle, {"cycle_id": q1["id"], "to": "locked"}).status == 422
    stale = s.fails(hr.transition_cycle, {"cycle_id": q1["id"], "to": "open", "expected_version": 7})
    assert stale.status == 409 and stale.errors[0]["field"] == "expected_version"
    opened = hr.transition_cycle({"cycle_id": q1["id"], "to": "open", "expected_version": q1["version"]})
    assert opened["state"] == "open" and opened["opened_at"] and opened["version"] == 2
    assert s.fails(hr.get_cycle, {"cycle_id": "nope"}).status == 404
    assert hr.get_cycle({"cycle_id": q1["id"]})["state"] == "open"
    published = [(t, d) for t, d in s.events(mark) if "cycle" in t]
    assert published == [("jixiao.goals.cycle.created.v1", published[0][1]),
                         ("jixiao.goals.cycle.changed.v1", {"cycle_id": q1["id"], "before": "draft",
                                                            "after": "open"})]
    seen, cursor = [], None
    while True:
        page = hr.list_cycles({"limit": 1, "cursor": cursor})
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert q1["id"] in seen and len(seen) == len(set(seen)) == s.scalar("select count(*) from cycles")
    assert s.fails(hr.list_cycles, {"cursor": "garbage"}).errors[0]["field"] == "cursor"


def test_goal_tree_across_people_with_weights_and_access(goals_service, team):
    s = goals_service
    cycle = open_cycle(s, team["hr"])
    hr, mgr, rep1 = s.as_(team["hr"]), s.as_(team["mgr"]), s.as_(team["rep1"])
    unit_goal = hr.create_goal({"cycle_id": cycle["id"], "title": "Grow sales", "kind": "okr",
                                "owner": {"kind": "org_unit", "id": team["sales"]}, "responsible_id": team["mgr"],
                                "key_results": [{"title": "Revenue", "target": "1000", "unit": "kCNY"}]})
    assert (unit_goal["owner"], unit_goal["responsible_id"], unit_goal["org_unit_id"]) == (
        {"kind": "org_unit", "id": team["sales"]}, team["mgr"], team["sales"])
    kpi = rep1.create_goal(kpi_goal(cycle["id"], team["rep1"], parent_id=unit_goal["id"], weight="60"))
    okr = rep1.create_goal(okr_goal(cycle["id"], team["rep1"], parent_id=unit_goal["id"], weight="40",
                                    milestones=[{"on": "2027-06-30", "fraction": "0.3"}]))
    assert okr["milestones"] == [{"on": "2027-06-30", "fraction": "0.300000000"}]
    theirs = mgr.create_goal(kpi_goal(cycle["id"], team["rep2"], parent_id=unit_goal["id"], weight="50"))
    assert theirs["responsible_id"] == team["rep2"]

    # bad input: 4xx naming the field, nothing written
    count = s.scalar("select count(*) from goals where cycle_id = :c", c=cycle["id"])
    mark = s.mark()
    cases = [
        ({"kpi": None}, 400, "kpi"),
        ({"kpi": {"direction": ">=", "target": "90", "unit": "%", "green": "80", "yellow": "90"}}, 400, "kpi.yellow"),
        ({"kpi": {"direction": "~", "target": "1", "green": "1", "yellow": "1"}}, 400, "kpi.direction"),
        ({"weight": "120"}, 400, "weight"),
        ({"weight": "1"}, 422, "weights"),
        ({"due_on": "2026-12-01"}, 400, "due"),
        ({"milestones": [{"on": "2028-02-01", "fraction": "0.5"}]}, 400, "milestones.0.on"),
        ({"milestones": [{"on": "2027-02-01", "fraction": "0.1234567"}]}, 400, "milestones.0.fraction"),
        ({"parent_id": "no-such-goal"}, 404, "parent_id"),
        ({"cycle_id": "no-such-cycle"}, 404, "cycle_id"),
        ({"owner": {"kind": "person", "id": "ghost"}}, 400, "owner.id"),
        ({"surprise": 1}, 400, "surprise"),
    ]
    for change, status, field in cases:
        error = s.fails(rep1.create_goal, {**kpi_goal(cycle["id"], team["rep1"]), **change})
        assert (error.status, error.errors[0]["field"]) == (status, field), (change, error.problem())
    weights_error = s.fails(rep1.create_goal, kpi_goal(cycle["id"], team["rep1"], weight="1"))
    assert sorted(weights_error.errors[0]["ids"]) == sorted([kpi["id"], okr["id"]])
    assert "more than 100.00" in weights_error.detail
    # access: a rep cannot create a colleague's goal; an outsider cannot read a goal of this private cycle, and is
    # answered as if it did not exist (404, not 403: issue 10)
    assert s.fails(rep1.create_goal, kpi_goal(cycle["id"], team["rep2"])).status == 403
    assert s.fails(s.as_(team["outsider"]).get_goal, {"goal_id": kpi["id"]}).status == 404
    assert s.scalar("select count(*) from goals where cycle_id = :c", c=cycle["id"]) == count
    assert {t for t, _ in s.events(mark)} == {"jixiao.goals.access.denied.v1"}

    # reading: the owner, the manager chain, HR; members of a unit read its goals
    for reader in ("rep1", "mgr", "boss", "hr"):
        assert s.as_(team[reader]).get_goal({"goal_id": kpi["id"]})["id"] == kpi["id"]
    assert rep1.get_goal({"goal_id": unit_goal["id"]})["title"] == "Grow sales"
    tree = rep1.get_goal_tree({"goal_id": unit_goal["id"]})
    readable = {n["id"]: n["readable"] for n in tree["nodes"]}
    assert readable == {unit_goal["id"]: True, kpi["id"]: True, okr["id"]: True, theirs["id"]: False}
    hidden = next(n for n in tree["nodes"] if n["id"] == theirs["id"])
    assert hidden["title"] is None and hidden["depth"] == 1
    assert rep1.get_goal_tree({"goal_id": kpi["id"]})["ancestors"][0]["id"] == unit_goal["id"]
    mine = rep1.list_goals({"cycle_id": cycle["id"], "limit": 1})
    assert len(mine["items"]) == 1 and mine["next_cursor"]
    assert s.fails(s.as_(team["rep2"]).list_goals, {"cycle_id": cycle["id"], "owner_id": team["rep1"]}).status == 403

    # weights: exactly 100 together, naming the goals otherwise
    error = s.fails(rep1.set_weights, {"cycle_id": cycle["id"], "person_id": team["rep1"],
                                       "weights": {kpi["id"]: "70", okr["id"]: "20"}})
    assert error.status == 422 and error.errors[0]["field"] == "weights"
    assert sorted(error.errors[0]["ids"]) == sorted([kpi["id"], okr["id"]]) and "90.00" in error.detail
    error = s.fails(rep1.set_weights, {"cycle_id": cycle["id"], "person_id": team["rep1"],
                                       "weights": {kpi["id"]: "100"}})
    assert error.status == 422 and error.errors[0]["field"] == f"weights.{okr['id']}"
    error = s.fails(rep1.set_weights, {"cycle_id": cycle["id"], "person_id": team["rep1"],
                                       "weights": {kpi["id"]: "70", okr["id"]: "30", theirs["id"]: "1"}})
    assert error.status == 400 and error.errors[0]["field"] == f"weights.{theirs['id']}"
    error = s.fails(rep1.set_weights, {"cycle_id": cycle["id"], "person_id": team["rep1"],
                                       "weights": {kpi["id"]: "70.005", okr["id"]: "29.995"}})
    assert error.status == 400 and error.errors[0]["field"] == f"weights.{kpi['id']}"
    assert s.fails(s.as_(team["rep2"]).set_weights, {"cycle_id": cycle["id"], "person_id": team["rep1"],
                                                     "weights": {kpi["id"]: "70", okr["id"]: "30"}}).status == 403
    mark = s.mark()
    done = rep1.set_weights({"cycle_id": cycle["id"], "person_id": team["rep1"],
                             "weights": {kpi["id"]: "70", okr["id"]: "30"}})
    assert Decimal(done["total"]) == 100
    updates = {d["goal_id"]: d["changes"] for t, d in s.events(mark, ".goal.updated.v1")}
    assert updates == {kpi["id"]: {"weight": {"before": "60.00", "after": "70"}},
                       okr["id"]: {"weight": {"before": "40.00", "after": "30"}}}

    # updates: fields with before/after, optimistic versions, no loops in the tree
    current = rep1.get_goal({"goal_id": okr["id"]})
    assert s.fails(rep1.update_goal, {"goal_id": okr["id"], "title": "x", "expected_version": 1}).status == 409
    mark = s.mark()
    kr = current["key_results"][0]
    updated = rep1.update_goal({"goal_id": okr["id"], "title": "Win key accounts", "expected_version":
                                current["version"], "key_result_targets": {kr["id"]: "12"}})
    assert updated["title"] == "Win key accounts" and updated["key_results"][0]["target"] == "12.000000"
    [(_, event)] = s.events(mark, ".goal.updated.v1")
    assert event["changes"]["title"] == {"before": "Win accounts", "after": "Win key accounts"}
    assert event["changes"][f"key_results.{kr['id']}.target"] == {"before": "10.000000", "after": "12"}
    loop = s.fails(hr.update_goal, {"goal_id": unit_goal["id"], "parent_id": okr["id"]})
    assert loop.status in (403, 409)
    loop = s.fails(mgr.update_goal, {"goal_id": unit_goal["id"], "parent_id": okr["id"]})
    assert loop.status == 409 and loop.errors[0]["field"] == "parent_id"
    assert s.fails(rep1.update_goal, {"goal_id": okr["id"], "kpi_target": "5"}).errors[0]["field"] == "kpi_target"
    assert s.fails(rep1.update_goal, {"goal_id": okr["id"]}).status == 400

    # locking needs everyone's weights at 100; then definitions change only through proposals
    error = s.fails(hr.transition_cycle, {"cycle_id": cycle["id"], "to": "locked"})
    assert error.status == 422 and error.errors[0]["field"] == f"weights.{team['rep2']}"
    mgr.set_weights({"cycle_id": cycle["id"], "person_id": team["rep2"], "weights": {theirs["id"]: "100"}})
    assert hr.transition_cycle({"cycle_id": cycle["id"], "to": "locked"})["state"] == "locked"
    locked = s.fails(rep1.update_goal, {"goal_id": kpi["id"], "title": "Sneaky"})
    assert locked.status == 422 and "proposal" in locked.detail
    assert s.fails(rep1.create_goal, kpi_goal(cycle["id"], team["rep1"])).status == 422


def test_progress_history_colours_reviews_and_commitments(goals_service, team):
    s = goals_service
    cycle = open_cycle(s, team["hr"], year=2028)
    mgr, rep1 = s.as_(team["mgr"]), s.as_(team["rep1"])
    parent = mgr.create_goal(okr_goal(cycle["id"], team["mgr"], weight="100"))
    kpi = rep1.create_goal(kpi_goal(cycle["id"], team["rep1"], parent_id=parent["id"], weight="50"))
    okr = rep1.create_goal(okr_goal(cycle["id"], team["rep1"], parent_id=parent["id"], weight="50"))
    krs = okr["key_results"]

    mark = s.mark()
    rows = s.scalar("select count(*) from progress_updates")
    for caller, payload, status, field in (
        (rep1, {"goal_id": okr["id"], "value": "3"}, 400, "key_result_id"),
        (rep1, {"goal_id": kpi["id"], "key_result_id": krs[0]["id"], "value": "3"}, 400, "key_result_id"),
        (rep1, {"goal_id": okr["id"], "key_result_id": "nope", "value": "3"}, 400, "key_result_id"),
        (rep1, {"goal_id": kpi["id"], "value": "95", "confidence": "1.5"}, 400, "confidence"),
        (rep1, {"goal_id": kpi["id"], "value": "abc"}, 400, "value"),
        (rep1, {"goal_id": "nope", "value": "1"}, 404, "goal_id"),
        (mgr, {"goal_id": kpi["id"], "value": "95"}, 403, None),
    ):
        error = s.fails(caller.record_progress, payload)
        assert error.status == status and (field is None or error.errors[0]["field"] == field), error.problem()
    assert s.scalar("select count(*) from progress_updates") == rows
    assert {t for t, _ in s.events(mark)} == {"jixiao.goals.access.denied.v1"}

    mark = s.mark()
    first = rep1.record_progress({"goal_id": okr["id"], "key_result_id": krs[0]["id"], "value": "5",
                                  "comment": "two big deals", "confidence": "0.8"})
    assert first["update"]["before_value"] == "0.000000" and first["update"]["after_value"] == "5.000000"
    assert first["goal"]["own_progress"] == "0.166666666"  # (5/10 x 1 + 0 x 2) / 3, truncated
    assert first["goal"]["confidence"] == "0.800"
    rep1.record_progress({"goal_id": kpi["id"], "value": "95"})
    rolled = mgr.get_goal({"goal_id": parent["id"]})
    expected = (Decimal("0.5") * Decimal(first["goal"]["progress"]) + Decimal("0.5") * 1)
    assert abs(Decimal(rolled["progress"]) - expected) < Decimal("1e-8")
    [progressed, _] = [d for t, d in s.events(mark, ".goal.progressed.v1")]
    assert (progressed["before_value"], progressed["after_value"], progressed["comment"]) == (
        "0.000000", "5.000000", "two big deals")

    # a KPI below its yellow band turns red: a review opens for the owner and their manager
    mark = s.mark()
    red = rep1.record_progress({"goal_id": kpi["id"], "value": "70", "comment": "lost two"})
    assert red["goal"]["colour"] == "red"
    status = [d for t, d in s.events(mark, ".goal.status_changed.v1")]
    assert {(d["goal_id"], d["before"], d["after"]) for d in status} >= {(kpi["id"], "green", "red")}
    [review] = [d for t, d in s.events(mark, ".review.opened.v1") if d["goal_id"] == kpi["id"]]
    assert (review["owner_id"], review["manager_id"]) == (team["rep1"], team["mgr"])
    rep1.record_progress({"goal_id": kpi["id"], "value": "75"})  # still red: no second review
    assert s.scalar("select count(*) from reviews where goal_id = :g", g=kpi["id"]) == 1
    assert [r["id"] for r in mgr.list_reviews({"state": "open"})["items"] if r["goal_id"] == kpi["id"]] == [
        review["review_id"]]
    assert s.fails(s.as_(team["outsider"]).complete_review,
                   {"review_id": review["review_id"], "summary": "x"}).status == 404  # a goal it may not read
    assert s.fails(mgr.complete_review, {"review_id": review["review_id"], "summary": ""}).status == 400
    done = mgr.complete_review({"review_id": review["review_id"], "summary": "pipeline too thin; weekly review"})
    assert done["state"] == "completed" and done["completed_by"] == team["mgr"]
    assert s.fails(rep1.complete_review, {"review_id": review["review_id"], "summary": "again"}).status == 422

    history = rep1.list_progress({"goal_id": kpi["id"], "limit": 2})
    assert [h["after_value"] for h in history["items"]] == ["75.000000", "70.000000"]
    older = rep1.list_progress({"goal_id": kpi["id"], "limit": 2, "cursor": history["next_cursor"]})
    assert [h["after_value"] for h in older["items"]] == ["95.000000"] and older["next_cursor"] is None
    assert all(h["actor_id"] == team["rep1"] and h["at"] for h in history["items"])
    assert s.fails(s.as_(team["outsider"]).list_progress, {"goal_id": kpi["id"]}).status == 404

    # commitments: the manager promises, delivery is tracked
    mark = s.mark()
    for payload, field in (({"kind": "budget", "description": "ads"}, "amount"),
                           ({"kind": "budget", "description": "ads", "amount": "5000"}, "currency"),
                           ({"kind": "collaboration", "description": "presales"}, "from_org_unit_id"),
                           ({"kind": "gift", "description": "x"}, "kind"),
                           ({"kind": "training", "description": ""}, "description")):
        error = s.fails(mgr.record_commitment, {"goal_id": kpi["id"], **payload})
        assert error.status == 400 and error.errors[0]["field"] == field
    assert s.fails(rep1.record_commitment, {"goal_id": kpi["id"], "kind": "training",
                                            "description": "negotiation course"}).status == 403
    assert s.scalar("select count(*) from commitments where goal_id = :g", g=kpi["id"]) == 0
    training = mgr.record_commitment({"goal_id": kpi["id"], "kind": "training", "description": "negotiation course",
                                      "due_on": "2028-03-01"})
    budget = mgr.record_commitment({"goal_id": kpi["id"], "kind": "budget", "description": "trade show",
                                    "amount": "20000", "currency": "CNY"})
    assert training["state"] == "promised" and training["provider_id"] == team["mgr"]
    assert s.fails(s.as_(team["outsider"]).update_commitment,
                   {"commitment_id": training["id"], "state": "delivered"}).status == 404
    delivered = rep1.update_commitment({"commitment_id": training["id"], "state": "delivered", "note": "done"})
    assert [(h["before"], h["after"]) for h in delivered["history"]] == [(None, "promised"), ("promised", "delivered")]
    assert s.fails(mgr.update_commitment, {"commitment_id": training["id"], "state": "missed"}).status == 422
    missed = mgr.update_commitment({"commitment_id": budget["id"], "state": "missed", "note": "budget frozen"})
    assert missed["state"] == "missed"
    listed = rep1.list_commitments({"goal_id": kpi["id"]})["items"]
    assert [x["state"] for x in listed] == ["delivered", "missed"]
    changed = [(d["before"], d["after"]) for t, d in s.events(mark, ".commitment.changed.v1")]
    assert changed == [(None, "promised"), (None, "promised"), ("promised", "delivered"), ("promised", "missed")]


def test_decimals_beyond_their_columns_are_a_400_naming_the_field(goals_service, team):
    s = goals_service
    cycle = open_cycle(s, team["hr"], year=2031)
    rep1, mgr = s.as_(team["rep1"]), s.as_(team["mgr"])
    tiny = rep1.create_goal(kpi_goal(cycle["id"], team["rep1"], kpi={
        "direction": ">=", "target": "0.000001", "unit": "%", "green": "1", "yellow": "0.5"}))
    goals, proposals = s.scalar("select count(*) from goals"), s.scalar("select count(*) from negotiation_entries")
    huge = "99999999999999"
    for call, payload, field in (
        (rep1.create_goal, kpi_goal(cycle["id"], team["rep1"], kpi={
            "direction": ">=", "target": "1e14", "green": "90", "yellow": "80"}), "kpi.target"),
        (rep1.create_goal, okr_goal(cycle["id"], team["rep1"], key_results=[
            {"title": "x", "target": "-100000000000000.5"}]), "key_results.0.target"),
        (rep1.record_progress, {"goal_id": tiny["id"], "value": "123456789012345"}, "value"),
        (rep1.record_progress, {"goal_id": tiny["id"], "value": "0.0000001"}, "value"),
        (mgr.record_commitment, {"goal_id": tiny["id"], "kind": "budget", "description": "d", "amount": "1e20"},
         "amount"),
        (mgr.preview_allocation, {"parent_goal_id": tiny["id"], "method": "factors", "factor_weights": {"gdp": "1"},
                                  "children": [{"goal_id": tiny["id"], "factors": {"gdp": "1e30"}}]},
         "children.0.factors.gdp"),
        (mgr.preview_allocation, {"parent_goal_id": tiny["id"], "children": [{"goal_id": tiny["id"],
                                                                              "minimum": "1e-300"}]},
         "children.0.minimum"),
        # the KPI's bands follow a new target: 1 x 10^14 / 10^-6 does not fit, whichever way it comes
        (rep1.update_goal, {"goal_id": tiny["id"], "kpi_target": huge}, "kpi_target"),
        (rep1.propose_change, {"changes": [{"goal_id": tiny["id"], "field": "target", "value": huge}],
                               "rationale": "r"}, "changes.0.value"),
    ):
        error = s.fails(call, payload)
        assert (error.status, error.errors[0]["field"]) == (400, field), error.problem()
    assert s.scalar("select count(*) from goals") == goals
    assert s.scalar("select count(*) from negotiation_entries") == proposals
    assert s.scalar("select count(*) from commitments where goal_id = :g", g=tiny["id"]) == 0
    # with its bands given, the same target is fine
    changed = rep1.update_goal({"goal_id": tiny["id"], "kpi_target": huge,
                                "kpi_thresholds": {"green": huge, "yellow": "1"}})
    assert (changed["kpi"]["target"], changed["kpi"]["green"]) == (f"{huge}.000000", f"{huge}.000000")
