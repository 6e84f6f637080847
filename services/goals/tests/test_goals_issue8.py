"""Issue 8, goals 3-7 over RPC: managers above the first line, public goals and the change trail, validation,
appeals decided by compliance, retention. Cycles are this year's (the current period)."""
from datetime import date

import pytest

TODAY = date.today()


@pytest.fixture
def org(goals_service, uid):
    """co > sales > east; vp heads sales (reports to ceo), lead heads east (no reports yet), rep1/rep2 in east
    report to mgr (east); a colleague in another unit; HR for co."""
    s = goals_service
    p = {name: f"{uid}-{name}" for name in ("ceo", "vp", "mgr", "lead", "rep1", "rep2", "peer", "hr")}
    co, sales, east, west, other = (f"{uid}-{u}" for u in ("co", "sales", "east", "west", "other"))
    s.org(units=[(co, None, "Co"), (sales, co, "Sales"), (east, sales, "East"), (west, sales, "West"),
                 (other, co, "Other")],
          people=[(p["ceo"], co, None), (p["vp"], sales, p["ceo"]), (p["mgr"], east, p["vp"]),
                  (p["rep1"], east, p["mgr"]), (p["rep2"], east, p["mgr"]), (p["lead"], west, p["vp"]),
                  (p["peer"], other, p["ceo"]), (p["hr"], co, None)],
          grants={p["hr"]: [("hr", co)]})
    return p | {"co": co, "sales": sales, "east": east, "west": west, "other": other}


def cycle_of(s, hr, **extra):
    cycle = s.as_(hr).create_cycle({"name": f"FY{TODAY.year}", "period": "year", "year": TODAY.year, **extra})
    return s.as_(hr).transition_cycle({"cycle_id": cycle["id"], "to": "open"})


def kpi(cycle_id, kind, owner, **extra):
    return {"cycle_id": cycle_id, "title": "Revenue", "kind": "kpi", "owner": {"kind": kind, "id": owner},
            "kpi": {"direction": ">=", "target": "100", "green": "100", "yellow": "90"}, **extra}


# -- 5. validation -------------------------------------------------------------------------------------------------

def test_an_okr_without_key_results_is_refused_naming_key_results(goals_service, org):
    s = goals_service
    cycle = cycle_of(s, org["hr"])
    before = s.scalar("select count(*) from goals")
    error = s.fails(s.as_(org["rep1"]).create_goal, {"cycle_id": cycle["id"], "title": "Vague", "kind": "okr",
                                                    "owner": {"kind": "person", "id": org["rep1"]}})
    assert error.status == 400 and error.errors[0]["field"] == "key_results"
    assert s.scalar("select count(*) from goals") == before


def test_a_custom_field_the_template_does_not_declare_is_refused_and_a_card_shows_missing_items(goals_service,
                                                                                              org, uid):
    s = goals_service
    hr = s.as_(org["hr"])
    cycle = cycle_of(s, org["hr"])
    code = f"t{uid}"
    hr.save_indicator({"code": f"a{uid}", "name": "Calls", "kind": "kpi", "direction": ">=", "unit": "calls",
                       "target": "100", "green": "100", "yellow": "80"})
    hr.save_indicator({"code": f"b{uid}", "name": "Visits", "kind": "kpi", "direction": ">=", "unit": "visits",
                       "target": "10", "green": "10", "yellow": "8"})
    hr.save_template({"code": code, "name": "Sales", "job_family": "sales", "custom_fields": ["territory_factor"],
                      "items": [{"indicator": f"a{uid}", "weight": "60"}, {"indicator": f"b{uid}", "weight": "40"}]})
    [outcome] = s.as_(org["mgr"]).assign_template({"cycle_id": cycle["id"], "template_code": code,
                                                   "assignees": [{"person_id": org["rep1"]}]})["results"]
    assert outcome["ok"]
    mgr = s.as_(org["mgr"])
    error = s.fails(mgr.set_custom_fields, {"cycle_id": cycle["id"], "person_id": org["rep1"],
                                           "values": {"territory_factor": "1", "bonus_multiplier": "9"}})
    assert error.status == 400 and error.errors[0]["field"] == "values.bonus_multiplier"
    assert s.scalar("select count(*) from custom_field_values where person_id = :p", p=org["rep1"]) == 0
    mgr.set_custom_fields({"cycle_id": cycle["id"], "person_id": org["rep1"], "values": {"territory_factor": "1"}})
    goals = {g["indicator_code"]: g for g in s.as_(org["rep1"]).list_goals({"cycle_id": cycle["id"]})["items"]}
    s.as_(org["rep1"]).record_progress({"goal_id": goals[f"a{uid}"]["id"], "value": "50"})
    card = mgr.get_scorecard({"cycle_id": cycle["id"], "person_id": org["rep1"], "template_code": code})
    items = {i["indicator"]: i for i in card["items"]}
    assert items[f"b{uid}"]["missing"] is True and items[f"b{uid}"]["value"] is None
    assert items[f"b{uid}"]["points"] == "0.00"
    assert items[f"a{uid}"]["missing"] is False and items[f"a{uid}"]["weighted_points"] == "30.00"
    assert card["total"] == "30.00"


# -- 3. managers above the first line -----------------------------------------------------------------------------

def test_a_vp_creates_and_browses_goals_of_units_below_him(goals_service, org):
    s = goals_service
    cycle = cycle_of(s, org["hr"])
    vp = s.as_(org["vp"])
    goal = vp.create_goal(kpi(cycle["id"], "org_unit", org["east"]))
    assert goal["owner"] == {"kind": "org_unit", "id": org["east"]}
    board = vp.get_board({"cycle_id": cycle["id"], "org_unit_id": org["east"]})
    assert board["total"]["count"] >= 1 and goal["id"] in {g["id"] for g in board["items"]}
    assert vp.get_goal({"goal_id": goal["id"]})["id"] == goal["id"]
    # the chain goes up, not sideways: a rep of east cannot set the goals of west
    error = s.fails(s.as_(org["rep1"]).create_goal, kpi(cycle["id"], "org_unit", org["west"]))
    assert error.status == 403


def test_a_unit_lead_with_no_reports_yet_creates_his_units_goal_and_browses_its_board(goals_service, org):
    s = goals_service
    cycle = cycle_of(s, org["hr"])
    lead = s.as_(org["lead"])
    goal = lead.create_goal(kpi(cycle["id"], "org_unit", org["west"]))
    assert goal["responsible_id"] == org["lead"]
    board = lead.get_board({"cycle_id": cycle["id"], "org_unit_id": org["west"]})
    assert goal["id"] in {g["id"] for g in board["items"]}
    # and the head of east (mgr) browses east's board
    s.as_(org["mgr"]).get_board({"cycle_id": cycle["id"], "org_unit_id": org["east"]})
    # not the lead of a sibling unit
    error = s.fails(lead.create_goal, kpi(cycle["id"], "org_unit", org["east"]))
    assert error.status == 403


# -- 4. goals are public ------------------------------------------------------------------------------------------

def test_a_company_cycle_shows_goals_progress_and_colour_to_colleagues_but_not_private_fields(goals_service, org):
    s = goals_service
    cycle = cycle_of(s, org["hr"])
    assert cycle["visibility"] == "company"
    rep = s.as_(org["rep1"])
    goal = rep.create_goal(kpi(cycle["id"], "person", org["rep1"], weight="50"))
    rep.record_progress({"goal_id": goal["id"], "value": "40", "comment": "two deals slipped", "private": True})
    rep.record_progress({"goal_id": goal["id"], "value": "50", "comment": "one came back"})
    peer = s.as_(org["peer"])  # another unit, no relation to rep1
    seen = peer.get_goal({"goal_id": goal["id"]})
    assert (seen["id"], seen["kpi"]["actual"], seen["colour"]) == (goal["id"], "50.000000", "red")
    history = peer.list_progress({"goal_id": goal["id"]})["items"]
    assert [(h["comment"], h["private"]) for h in history] == [("one came back", False), ("", True)]
    # the line reads the private comment
    assert [h["comment"] for h in s.as_(org["mgr"]).list_progress({"goal_id": goal["id"]})["items"]] == [
        "one came back", "two deals slipped"]
    board = peer.get_board({"cycle_id": cycle["id"], "org_unit_id": org["east"]})
    assert goal["id"] in {g["id"] for g in board["items"]}
    assert peer.list_goals({"cycle_id": cycle["id"], "owner_id": org["rep1"]})["items"][0]["id"] == goal["id"]
    # scores and custom fields stay with the line
    error = s.fails(peer.get_scorecard, {"cycle_id": cycle["id"], "person_id": org["rep1"], "template_code": "x"})
    assert error.status == 403


def test_unit_and_private_cycles_limit_who_reads(goals_service, org):
    s = goals_service
    unit_cycle = cycle_of(s, org["hr"], visibility="unit")
    private_cycle = cycle_of(s, org["hr"], visibility="private")
    rep = s.as_(org["rep1"])
    in_unit = rep.create_goal(kpi(unit_cycle["id"], "person", org["rep1"]))
    private = rep.create_goal(kpi(private_cycle["id"], "person", org["rep1"]))
    assert s.as_(org["rep2"]).get_goal({"goal_id": in_unit["id"]})["id"] == in_unit["id"]  # same unit
    assert s.fails(s.as_(org["peer"]).get_goal, {"goal_id": in_unit["id"]}).status == 403
    assert s.fails(s.as_(org["rep2"]).get_goal, {"goal_id": private["id"]}).status == 403
    assert s.as_(org["vp"]).get_goal({"goal_id": private["id"]})["id"] == private["id"]  # the line always reads


def test_the_change_trail_is_read_by_everyone_who_reads_the_goal(goals_service, org):
    s = goals_service
    cycle = cycle_of(s, org["hr"])
    mgr = s.as_(org["mgr"])
    goal = mgr.create_goal(kpi(cycle["id"], "person", org["rep1"], weight="30"))
    mgr.update_goal({"goal_id": goal["id"], "title": "Revenue (new accounts)", "kpi_target": "120"})
    mgr.update_goal({"goal_id": goal["id"], "weight": "40"})
    trail = s.as_(org["peer"]).list_goal_changes({"goal_id": goal["id"]})
    newest, older = trail["items"]
    assert (newest["actor_id"], newest["source"], newest["changes"]) == (
        org["mgr"], "update", {"weight": {"before": "30.00", "after": "40"}})
    assert older["changes"]["title"] == {"before": "Revenue", "after": "Revenue (new accounts)"}
    assert older["changes"]["target"]["after"] == "120"
    page = s.as_(org["vp"]).list_goal_changes({"goal_id": goal["id"], "limit": 1})
    assert page["items"][0]["id"] == newest["id"] and page["next_cursor"]
    private = cycle_of(s, org["hr"], visibility="private")
    hidden = mgr.create_goal(kpi(private["id"], "person", org["rep1"]))
    assert s.fails(s.as_(org["peer"]).list_goal_changes, {"goal_id": hidden["id"]}).status == 403
