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
