"""Issue 8, goals 1-2: whatever way a goal becomes red, it gets exactly one review per red spell (for its owner's
manager, or the unit's lead for a unit goal); a goal that recovers closes its open review; the sweep's date is
bounded by the open cycles, a later date is a preview, and a sweep touches only the cycles containing its date.

Cycles are this year's (the current period); goals that must be behind started two months ago."""
from datetime import date, timedelta

import pytest

TODAY = date.today()


def days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@pytest.fixture
def team(goals_service, uid):
    """co > east; vp heads co, mgr (east) reports to vp and manages rep1, rep2; HR for co."""
    s = goals_service
    p = {name: f"{uid}-{name}" for name in ("vp", "mgr", "rep1", "rep2", "hr")}
    co, east = f"{uid}-co", f"{uid}-east"
    s.org(units=[(co, None, "Co"), (east, co, "East")],
          people=[(p["vp"], co, None), (p["mgr"], east, p["vp"]), (p["rep1"], east, p["mgr"]),
                  (p["rep2"], east, p["mgr"]), (p["hr"], co, None)],
          grants={p["hr"]: [("hr", co)]})
    return p | {"co": co, "east": east}


def this_year(s, hr, *, open_it=True):
    cycle = s.as_(hr).create_cycle({"name": f"FY{TODAY.year}", "period": "year", "year": TODAY.year})
    return s.as_(hr).transition_cycle({"cycle_id": cycle["id"], "to": "open"}) if open_it else cycle


def behind(cycle_id, owner, kind="person", **extra):
    """An OKR that started two months ago, is due in a month, and has no progress: red today."""
    return {"cycle_id": cycle_id, "title": "Win accounts", "kind": "okr", "owner": {"kind": kind, "id": owner},
            "start_on": days(-60), "due_on": days(30), "key_results": [{"title": "accounts", "target": "10"}],
            **extra}


def reviews_of(s, goal_id):
    return s.rows("select state, owner_id, manager_id, red_since from reviews where goal_id = :g order by created_at",
                  g=goal_id)


def test_a_goal_created_behind_schedule_opens_its_review_at_once_and_only_once(goals_service, team):
    s = goals_service
    cycle = this_year(s, team["hr"])
    mark = s.mark()
    goal = s.as_(team["mgr"]).create_goal(behind(cycle["id"], team["rep1"], weight="40"))
    assert goal["colour"] == "red"
    [(state, owner, manager, red_since)] = reviews_of(s, goal["id"])
    assert (state, owner, manager, red_since) == ("open", team["rep1"], team["mgr"], TODAY)
    assert [d["goal_id"] for _, d in s.events(mark, ".review.opened.v1")] == [goal["id"]]
    # still red after some progress, and the sweep of today: the same spell, no second review
    s.as_(team["rep1"]).record_progress({"goal_id": goal["id"], "key_result_id": goal["key_results"][0]["id"],
                                         "value": "1"})
    s.as_(team["hr"]).run_status_sweep({"on": TODAY.isoformat()})
    assert len(reviews_of(s, goal["id"])) == 1
    # a weight change re-settles the colour: still one review
    s.as_(team["mgr"]).update_goal({"goal_id": goal["id"], "weight": "50"})
    assert len(reviews_of(s, goal["id"])) == 1


def test_a_unit_goal_review_goes_to_the_unit_lead(goals_service, team):
    s = goals_service
    cycle = this_year(s, team["hr"])
    goal = s.as_(team["mgr"]).create_goal(behind(cycle["id"], team["east"], kind="org_unit",
                                                 responsible_id=team["rep2"]))
    assert goal["colour"] == "red"
    [(state, owner, manager, _)] = reviews_of(s, goal["id"])
    assert (state, owner, manager) == ("open", team["rep2"], team["mgr"])  # mgr leads east, not rep2's manager vp


def test_a_goal_that_recovers_resolves_its_review_and_turns_red_again_with_a_new_one(goals_service, team):
    s = goals_service
    cycle = this_year(s, team["hr"])
    rep = s.as_(team["rep1"])
    goal = s.as_(team["mgr"]).create_goal(behind(cycle["id"], team["rep1"]))
    kr = goal["key_results"][0]["id"]
    mark = s.mark()
    assert rep.record_progress({"goal_id": goal["id"], "key_result_id": kr, "value": "9"})["goal"]["colour"] == (
        "green")
    [(state, *_)] = reviews_of(s, goal["id"])
    assert state == "resolved_by_recovery"
    [(_, done)] = s.events(mark, ".review.completed.v1")
    assert done["outcome"] == "resolved_by_recovery" and done["goal_id"] == goal["id"]
    assert rep.list_reviews({"state": "resolved_by_recovery"})["items"][0]["goal_id"] == goal["id"]
    # behind again (the count was corrected down): a new red spell, a new review
    assert rep.record_progress({"goal_id": goal["id"], "key_result_id": kr, "value": "0"})["goal"]["colour"] == "red"
    assert [r.state for r in reviews_of(s, goal["id"])] == ["resolved_by_recovery", "open"]


def test_goals_coloured_when_their_cycle_opens_get_their_reviews_from_the_sweep(goals_service, team):
    s = goals_service
    cycle = this_year(s, team["hr"], open_it=False)
    goal = s.as_(team["mgr"]).create_goal(behind(cycle["id"], team["rep2"]))
    assert goal["colour"] == "green" and reviews_of(s, goal["id"]) == []  # a draft's schedule has not started
    s.as_(team["hr"]).transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    swept = s.as_(team["hr"]).run_status_sweep({"on": TODAY.isoformat()})
    assert swept["turned_red"] >= 1 and swept["reviews_opened"] >= 1
    [(state, owner, manager, _)] = reviews_of(s, goal["id"])
    assert (state, owner, manager) == ("open", team["rep2"], team["mgr"])
    again = s.as_(team["hr"]).run_status_sweep({"on": TODAY.isoformat()})
    assert again["reviews_opened"] == 0 and len(reviews_of(s, goal["id"])) == 1


def test_template_assignment_behind_schedule_opens_reviews(goals_service, team, uid):
    s = goals_service
    hr = s.as_(team["hr"])
    cycle = this_year(s, team["hr"])
    hr.save_indicator({"code": f"c{uid}_calls", "name": "Calls", "kind": "kpi", "direction": ">=", "unit": "calls",
                       "target": "100", "green": "100", "yellow": "80"})
    hr.save_template({"code": f"t{uid}", "name": "Sales", "job_family": "sales",
                      "items": [{"indicator": f"c{uid}_calls", "weight": "100"}]})
    result = s.as_(team["mgr"]).assign_template({"cycle_id": cycle["id"], "template_code": f"t{uid}",
                                                 "assignees": [{"person_id": team["rep1"]}]})
    [goal_id] = result["results"][0]["goal_ids"]
    [(state, owner, manager, _)] = reviews_of(s, goal_id)
    assert (state, owner, manager) == ("open", team["rep1"], team["mgr"])


def test_the_sweep_date_is_bounded_by_the_open_cycles(goals_service, team):
    s = goals_service
    hr = s.as_(team["hr"])
    this_year(s, team["hr"])
    for on in ("0001-01-01", "1999-06-30", "9999-12-31"):
        error = s.fails(hr.run_status_sweep, {"on": on})
        assert error.status == 400 and error.errors[0]["field"] == "on", on


def test_a_sweep_after_today_is_a_preview_that_changes_nothing(goals_service, team):
    s = goals_service
    cycle = this_year(s, team["hr"])
    # on track today (started yesterday), far behind in a few weeks
    goal = s.as_(team["mgr"]).create_goal(behind(cycle["id"], team["rep2"], start_on=days(-1), due_on=days(120)))
    assert goal["colour"] != "red"
    later = min(TODAY + timedelta(days=40), date(TODAY.year, 12, 31))
    if later <= TODAY + timedelta(days=14):
        pytest.skip("the year ends too soon after today for a goal to fall two weeks behind in it")
    mark = s.mark()
    preview = s.as_(team["hr"]).run_status_sweep({"on": later.isoformat()})
    assert preview["preview"] is True and preview["turned_red"] >= 1 and preview["reviews_opened"] >= 1
    assert s.as_(team["mgr"]).get_goal({"goal_id": goal["id"]})["colour"] == goal["colour"]
    assert reviews_of(s, goal["id"]) == [] and s.events(mark) == []
    assert s.scalar("select count(*) from sweep_runs where \"on\" = :d", d=later) == 0


def test_a_sweep_touches_only_the_cycles_containing_its_date(goals_service, team):
    s = goals_service
    hr = s.as_(team["hr"])
    this_year(s, team["hr"])
    # a quarter that ended: its goal is overdue and would turn red, but a sweep of today does not reach it
    quarter = hr.create_cycle({"name": "Q1", "period": "quarter", "year": TODAY.year, "index": 1})
    goal = s.as_(team["mgr"]).create_goal({**behind(quarter["id"], team["rep1"]), "start_on": None, "due_on": None})
    hr.transition_cycle({"cycle_id": quarter["id"], "to": "open"})
    if TODAY.month <= 3:
        pytest.skip("today is in the first quarter")
    hr.run_status_sweep({"on": TODAY.isoformat()})
    assert s.as_(team["mgr"]).get_goal({"goal_id": goal["id"]})["colour"] == "green"
    assert reviews_of(s, goal["id"]) == []
