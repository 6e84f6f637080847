"""Two-way negotiation over RPC: proposals, counter-proposals, accept / reject / withdraw by the right party only,
accepted changes applied atomically, the thread archived unchanged on the goal."""
from decimal import Decimal

import pytest


@pytest.fixture
def setup(goals_service, uid):
    s = goals_service
    p = {name: f"{uid}-{name}" for name in ("mgr", "rep", "peer", "outsider", "hr")}
    hq, team = f"{uid}-hq", f"{uid}-team"
    s.org(units=[(hq, None, "HQ"), (team, hq, "Team")],
          people=[(p["mgr"], team, None), (p["rep"], team, p["mgr"]), (p["peer"], team, p["mgr"]),
                  (p["outsider"], hq, None), (p["hr"], hq, None)],
          grants={p["hr"]: [("hr", hq)]})
    hr = s.as_(p["hr"])
    cycle = hr.create_cycle({"name": "FY", "period": "year", "year": 2027})
    cycle = hr.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    rep = s.as_(p["rep"])
    kpi = rep.create_goal({"cycle_id": cycle["id"], "title": "First response", "kind": "kpi", "weight": "60",
                           "owner": {"kind": "person", "id": p["rep"]},
                           "kpi": {"direction": "<=", "target": "2", "unit": "h", "green": "2", "yellow": "3"}})
    okr = rep.create_goal({"cycle_id": cycle["id"], "title": "Self-service", "kind": "okr", "weight": "40",
                           "owner": {"kind": "person", "id": p["rep"]},
                           "key_results": [{"title": "Articles", "target": "30"}]})
    peer = s.as_(p["peer"]).create_goal({"cycle_id": cycle["id"], "title": "Peer", "kind": "okr", "weight": "100",
                                         "owner": {"kind": "person", "id": p["peer"]},
                                         "key_results": [{"title": "x", "target": "1"}]})
    return p, cycle, kpi, okr, peer


def change(goal, field, value, **extra):
    return {"goal_id": goal["id"], "field": field, "value": value, **extra}


def test_a_negotiation_between_owner_and_manager(goals_service, setup):
    s = goals_service
    p, _cycle, kpi, okr, peer = setup
    rep, mgr = s.as_(p["rep"]), s.as_(p["mgr"])
    entries = s.scalar("select count(*) from negotiation_entries")
    mark = s.mark()
    for payload, status, field in (
        ({"changes": [], "rationale": "r"}, 400, "changes"),
        ({"changes": [change(kpi, "weight", "0")], "rationale": "r"}, 400, "changes.0.value"),
        ({"changes": [change(kpi, "deadline", "soon")], "rationale": "r"}, 400, "changes.0.value"),
        ({"changes": [change(kpi, "colour", "red")], "rationale": "r"}, 400, "changes.0.field"),
        ({"changes": [change(kpi, "weight", "50", key_result_id="x")], "rationale": "r"}, 400, "changes.0"),
        ({"changes": [change(kpi, "weight", "50")], "rationale": "too much work"}, 422, f"weights.{p['rep']}"),
        ({"changes": [change(kpi, "deadline", "2026-06-01")], "rationale": "later"}, 400, "changes.0.value"),
        ({"changes": [{"goal_id": "nope", "field": "target", "value": "1"}], "rationale": "r"}, 400,
         "changes.0.goal_id"),
        ({"changes": [change(kpi, "target", "3"), change(peer, "target", "2")], "rationale": "r"}, 400, "changes"),
        ({"changes": [change(okr, "target", "20", key_result_id="nope")], "rationale": "r"}, 400,
         "changes.0.key_result_id"),
        ({"changes": [change(kpi, "target", "3")], "rationale": " "}, 400, "rationale"),
    ):
        error = s.fails(rep.propose_change, payload)
        assert (error.status, error.errors[0]["field"]) == (status, field), error.problem()
    assert s.fails(s.as_(p["outsider"]).propose_change,
                   {"changes": [change(kpi, "target", "3")], "rationale": "r"}).status == 403
    assert s.fails(s.as_(p["peer"]).propose_change,
                   {"changes": [change(kpi, "target", "3")], "rationale": "r"}).status == 403
    assert s.scalar("select count(*) from negotiation_entries") == entries
    assert {t for t, _ in s.events(mark)} == {"jixiao.goals.access.denied.v1"}

    # the owner proposes (bottom-up): easier target, weights moved, a resource and a later deadline
    mark = s.mark()
    proposal = rep.propose_change({"rationale": "ticket volume doubled; need tooling", "changes": [
        change(kpi, "target", "2.5"), change(kpi, "weight", "50"), change(okr, "weight", "50"),
        change(kpi, "resources", ["chatbot licence", "one more agent on weekends"]),
        change(okr, "deadline", "2027-10-31")]})
    assert proposal["state"] == "open" and proposal["thread"]["awaiting"] == "manager"
    assert proposal["thread"]["owner_id"] == p["rep"] and proposal["thread"]["manager_id"] == p["mgr"]
    [(_, opened)] = s.events(mark, ".proposal.opened.v1")
    assert opened["proposed_by"] == "owner" and len(opened["changes"]) == 5
    again = s.fails(rep.propose_change, {"changes": [change(kpi, "target", "3")], "rationale": "r"})
    assert again.status == 422 and again.errors[0]["field"] == "proposal_id"
    own = s.fails(rep.accept_proposal, {"proposal_id": proposal["proposal_id"]})
    assert own.status == 403
    # the peer reads the goals (the cycle is open to the company) but not their negotiation: to them the proposal
    # does not exist (404, as for "nope" below; issue 10)
    assert s.fails(s.as_(p["peer"]).accept_proposal, {"proposal_id": proposal["proposal_id"]}).status == 404
    assert s.fails(mgr.accept_proposal, {"proposal_id": "nope"}).status == 404

    # the manager counters (top-down), the owner accepts: everything applies at once
    countered = mgr.counter_proposal({"proposal_id": proposal["proposal_id"], "rationale": "2.2 h is enough with "
                                      "the chatbot", "changes": [
                                          change(kpi, "target", "2.2"), change(kpi, "weight", "55"),
                                          change(okr, "weight", "45"), change(kpi, "resources", ["chatbot licence"])]})
    assert countered["thread"]["awaiting"] == "owner"
    assert s.fails(mgr.accept_proposal, {"proposal_id": countered["proposal_id"]}).status == 403
    stale = s.fails(rep.accept_proposal, {"proposal_id": proposal["proposal_id"]})
    assert stale.status == 409
    mark = s.mark()
    accepted = rep.accept_proposal({"proposal_id": countered["proposal_id"], "comment": "deal"})
    assert accepted["state"] == "accepted"
    applied = {(a["goal_id"], a["field"]): (a["before"], a["after"]) for a in accepted["applied"]}
    assert applied[(kpi["id"], "target")] == ("2.000000", "2.2")
    assert applied[(kpi["id"], "weight")] == ("60.00", "55") and applied[(okr["id"], "weight")] == ("40.00", "45")
    goal = rep.get_goal({"goal_id": kpi["id"]})
    assert Decimal(goal["kpi"]["target"]) == Decimal("2.2") and Decimal(goal["weight"]) == 55
    assert Decimal(goal["kpi"]["green"]) == Decimal("2.2") and Decimal(goal["kpi"]["yellow"]) == Decimal("3.3")
    assert goal["resources_needed"] == ["chatbot licence"]
    commitments = rep.list_commitments({"goal_id": kpi["id"]})["items"]
    assert [(x["description"], x["state"], x["provider_id"]) for x in commitments] == [
        ("chatbot licence", "promised", p["mgr"])]
    published = [t for t, _ in s.events(mark)]
    assert published.count("jixiao.goals.goal.updated.v1") == 2
    assert "jixiao.goals.proposal.resolved.v1" in published and "jixiao.goals.commitment.changed.v1" in published
    [(_, resolved)] = s.events(mark, ".proposal.resolved.v1")
    assert resolved["outcome"] == "accepted" and len(resolved["applied"]) == 4
    via = {d["goal_id"]: d["via_proposal_id"] for _, d in s.events(mark, ".goal.updated.v1")}
    assert via == {kpi["id"]: countered["proposal_id"], okr["id"]: countered["proposal_id"]}

    # reject and withdraw; only the proposer withdraws
    proposal = mgr.propose_change({"changes": [change(okr, "target", "40")], "rationale": "stretch"})
    assert proposal["thread"]["awaiting"] == "owner"
    rejected = rep.reject_proposal({"proposal_id": proposal["proposal_id"], "comment": "no capacity"})
    assert rejected["state"] == "rejected"
    proposal = rep.propose_change({"changes": [change(okr, "deadline", "2027-11-30")], "rationale": "vacation"})
    assert s.fails(mgr.withdraw_proposal, {"proposal_id": proposal["proposal_id"]}).status == 403
    assert rep.withdraw_proposal({"proposal_id": proposal["proposal_id"]})["state"] == "withdrawn"
    assert Decimal(rep.get_goal({"goal_id": okr["id"]})["key_results"][0]["target"]) == 30

    # the whole thread stays on the goal, in order, unchanged
    history = rep.get_negotiation({"goal_id": okr["id"]})
    [thread] = history["threads"]
    assert [e["action"] for e in thread["entries"]] == ["propose", "counter", "accept", "propose", "reject",
                                                        "propose", "withdraw"]
    assert thread["entries"][0]["text"] == "ticket volume doubled; need tooling"
    assert thread["entries"][0]["changes"][0] == {"goal_id": kpi["id"], "key_result_id": None, "field": "target",
                                                  "value": "2.5"}
    assert s.fails(s.as_(p["outsider"]).get_negotiation, {"goal_id": okr["id"]}).status == 403
    assert mgr.get_negotiation({"goal_id": okr["id"]}) == history


def test_a_locked_cycle_changes_only_through_accepted_proposals_all_or_nothing(goals_service, setup):
    s = goals_service
    p, cycle, kpi, okr, _peer = setup
    rep, mgr, hr = s.as_(p["rep"]), s.as_(p["mgr"]), s.as_(p["hr"])
    hr.transition_cycle({"cycle_id": cycle["id"], "to": "locked"})
    assert s.fails(rep.update_goal, {"goal_id": okr["id"], "weight": "50"}).status == 422
    proposal = mgr.propose_change({"changes": [change(kpi, "weight", "30"), change(okr, "weight", "70"),
                                               change(okr, "target", "45")], "rationale": "docs matter more"})
    accepted = rep.accept_proposal({"proposal_id": proposal["proposal_id"]})
    assert {(a["goal_id"], a["field"]) for a in accepted["applied"]} == {
        (kpi["id"], "weight"), (okr["id"], "weight"), (okr["id"], "target")}
    assert Decimal(rep.get_goal({"goal_id": okr["id"]})["weight"]) == 70

    # a proposal that can no longer apply (the cycle closed meanwhile) fails whole: nothing changes
    proposal = mgr.propose_change({"changes": [change(kpi, "weight", "40"), change(okr, "weight", "60")],
                                   "rationale": "rebalance"})
    hr.transition_cycle({"cycle_id": cycle["id"], "to": "closed"})
    entries = s.scalar("select count(*) from negotiation_entries")
    mark = s.mark()
    error = s.fails(rep.accept_proposal, {"proposal_id": proposal["proposal_id"]})
    assert error.status == 422 and "closed" in error.detail
    assert s.scalar("select count(*) from negotiation_entries") == entries
    assert s.events(mark) == []
    assert [Decimal(rep.get_goal({"goal_id": g["id"]})["weight"]) for g in (kpi, okr)] == [30, 70]
    assert rep.get_negotiation({"goal_id": kpi["id"]})["threads"][0]["open_proposal_id"] == proposal["proposal_id"]


def test_listing_proposals_of_the_threads_one_takes_part_in(goals_service, setup):
    s = goals_service
    p, cycle, kpi, _okr, peer = setup
    rep, mgr, other = s.as_(p["rep"]), s.as_(p["mgr"]), s.as_(p["peer"])
    first = rep.propose_change({"changes": [change(kpi, "target", "2.5")], "rationale": "volume doubled"})
    from_peer = other.propose_change({"changes": [change(peer, "target", "2")], "rationale": "new tool"})

    def ids(answer):
        return [item["proposal_id"] for item in answer["items"]]

    # the manager: both threads wait for them, newest first; the owners wait for nobody yet
    waiting = mgr.list_proposals({"awaiting": "me", "state": "open", "cycle_id": cycle["id"]})
    assert ids(waiting) == [from_peer["proposal_id"], first["proposal_id"]] and waiting["next_cursor"] is None
    item = waiting["items"][1]
    assert {k: item[k] for k in ("negotiation_id", "cycle_id", "owner_id", "manager_id", "state", "proposed_by",
                                 "proposer_id", "awaiting", "rationale", "replaces")} == {
        "negotiation_id": first["negotiation_id"], "cycle_id": cycle["id"], "owner_id": p["rep"],
        "manager_id": p["mgr"], "state": "open", "proposed_by": "owner", "proposer_id": p["rep"],
        "awaiting": "manager", "rationale": "volume doubled", "replaces": None}
    assert item["changes"] == [{"goal_id": kpi["id"], "key_result_id": None, "field": "target", "value": "2.5"}]
    assert rep.list_proposals({"awaiting": "me"})["items"] == []
    assert ids(rep.list_proposals({"state": "open"})) == [first["proposal_id"]]

    # the manager counters: now the owner is awaited; every proposal of the thread keeps its state
    countered = mgr.counter_proposal({"proposal_id": first["proposal_id"], "rationale": "2.2 then",
                                      "changes": [change(kpi, "target", "2.2")]})
    assert ids(rep.list_proposals({"awaiting": "me"})) == [countered["proposal_id"]]
    assert ids(mgr.list_proposals({"awaiting": "me"})) == [from_peer["proposal_id"]]
    everything = rep.list_proposals({})
    assert [(x["proposal_id"], x["state"], x["awaiting"]) for x in everything["items"]] == [
        (countered["proposal_id"], "open", "owner"), (first["proposal_id"], "countered", None)]
    assert everything["items"][0]["replaces"] == first["proposal_id"]
    rep.accept_proposal({"proposal_id": countered["proposal_id"]})
    assert rep.list_proposals({"state": "open"})["items"] == []
    assert [x["state"] for x in rep.list_proposals({})["items"]] == ["accepted", "countered"]

    # pages walk the same list with a cursor
    seen, cursor = [], None
    while True:
        page = mgr.list_proposals({"limit": 1, **({"cursor": cursor} if cursor else {})})
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids(mgr.list_proposals({})) and len(seen) == 3

    # nobody else's threads, whatever the payload says; bad filters are a 400 naming the field
    assert s.as_(p["outsider"]).list_proposals({"cycle_id": cycle["id"]})["items"] == []
    assert s.as_(p["hr"]).list_proposals({})["items"] == []
    assert s.as_(None).list_proposals({})["items"] == []
    assert mgr.list_proposals({"cycle_id": "another"})["items"] == []
    for payload, field in (({"state": "accepted"}, "state"), ({"awaiting": "you"}, "awaiting"),
                           ({"cursor": "bm9wZQ"}, "cursor"), ({"limit": 0}, "limit"),
                           ({"owner_id": p["rep"]}, "owner_id"), ({"cycle_id": "a\x00"}, "cycle_id")):
        error = s.fails(mgr.list_proposals, payload)
        assert (error.status, error.errors[0]["field"]) == (400, field), error.problem()
