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
    # who may not read a goal is answered as if it did not exist (404, not 403: issue 10)
    assert s.fails(s.as_(org["peer"]).get_goal, {"goal_id": in_unit["id"]}).status == 404
    assert s.fails(s.as_(org["rep2"]).get_goal, {"goal_id": private["id"]}).status == 404
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
    assert s.fails(s.as_(org["peer"]).list_goal_changes, {"goal_id": hidden["id"]}).status == 404


# -- 6. appeals decided by compliance -----------------------------------------------------------------------------

def _decided(appeal_id, appellant, goal_id, amendment, outcome="amended", decided_by="hr"):
    from contracts.compliance import AppealDecided

    return AppealDecided(appeal_id=appeal_id, appellant=appellant, outcome=outcome,
                         reason="the target ignored the territory lost in May", target_kind="goal_result",
                         target_ref=goal_id, owning_service="goals", amendment=amendment, decided_by=decided_by)


def _republish(s, event):
    """Publish one envelope (one event id) twice: a redelivery."""
    from chassis.amqp import OutgoingMessage
    from contracts import Envelope

    envelope = Envelope.wrap(event)
    for _ in range(2):
        s._publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))


def test_an_amended_appeal_changes_the_goal_with_its_reason_in_the_trail_once(goals_service, org, uid):
    from chassis.testing.plugin import wait_for

    s = goals_service
    cycle = cycle_of(s, org["hr"])
    goal = s.as_(org["mgr"]).create_goal(kpi(cycle["id"], "person", org["rep1"]))
    okr = s.as_(org["mgr"]).create_goal({"cycle_id": cycle["id"], "title": "Accounts", "kind": "okr",
                                         "owner": {"kind": "person", "id": org["rep1"]},
                                         "key_results": [{"title": "new", "target": "10"}]})
    kr = okr["key_results"][0]["id"]
    mark = s.mark()
    _republish(s, _decided(f"{uid}-a1", org["rep1"], goal["id"], {"target": "80"}, decided_by=org["hr"]))
    _republish(s, _decided(f"{uid}-a2", org["rep1"], okr["id"], {"key_result_values": {kr: "4"}}))
    wait_for(lambda: s.scalar("select count(*) from goal_changes where goal_id in (:a, :b) and source = 'appeal'",
                              a=goal["id"], b=okr["id"]) >= 2, message="appeals applied")
    rep = s.as_(org["rep1"])
    assert rep.get_goal({"goal_id": goal["id"]})["kpi"]["target"] == "80.000000"
    assert rep.get_goal({"goal_id": okr["id"]})["key_results"][0]["current"] == "4.000000"
    [change] = rep.list_goal_changes({"goal_id": goal["id"]})["items"]
    assert (change["source"], change["actor_id"], change["changes"]["target"]) == (
        "appeal", org["hr"], {"before": "100.000000", "after": "80.000000"})
    assert change["reason"] == f"appeal {uid}-a1 amended: the target ignored the territory lost in May"
    updated = [d for _, d in s.events(mark, ".goal.updated.v1") if d["goal_id"] == goal["id"]]
    assert len(updated) == 1 and updated[0]["via_appeal_id"] == f"{uid}-a1"  # the redelivery changed nothing


def test_an_appeal_that_does_not_fit_changes_nothing_and_says_why(goals_service, org, uid):
    from chassis.testing.plugin import wait_for

    s = goals_service
    cycle = cycle_of(s, org["hr"])
    goal = s.as_(org["mgr"]).create_goal(kpi(cycle["id"], "person", org["rep1"]))
    mark = s.mark()
    s.publish(_decided(f"{uid}-x1", org["rep2"], goal["id"], {"target": "1"}),  # a colleague's goal
              _decided(f"{uid}-x2", org["rep1"], "no-such-goal", {"target": "1"}),
              _decided(f"{uid}-x3", org["rep1"], goal["id"], {"bonus": "1000"}),
              _decided(f"{uid}-x4", org["rep1"], goal["id"], {"target": "1"}, outcome="upheld"))
    wait_for(lambda: len(s.events(mark, ".appeal.not_applied.v1")) == 3, message="appeals refused")
    reasons = {d["appeal_id"]: d["reason"] for _, d in s.events(mark, ".appeal.not_applied.v1")}
    assert "not the appellant's" in reasons[f"{uid}-x1"] and "no such goal" in reasons[f"{uid}-x2"]
    assert reasons[f"{uid}-x3"].startswith("amendment.bonus")
    assert s.as_(org["rep1"]).get_goal({"goal_id": goal["id"]})["kpi"]["target"] == "100.000000"
    assert s.scalar("select count(*) from goal_changes where goal_id = :g", g=goal["id"]) == 0


# -- 7. retention ---------------------------------------------------------------------------------------------------

def test_a_retention_sweep_anonymizes_and_purges_expired_goals_except_held_ones(goals_service, org, uid):
    from sqlalchemy import text

    from chassis.testing.plugin import wait_for
    from contracts.compliance import HoldRef, RetentionSweepRequested

    s = goals_service
    cycle = cycle_of(s, org["hr"])
    rep = s.as_(org["rep1"])
    made = {}
    for name in ("ancient", "old", "held", "fresh"):
        goal = rep.create_goal(kpi(cycle["id"], "person", org["rep1"], title=name))
        rep.record_progress({"goal_id": goal["id"], "value": "10", "comment": f"{name}: my own words"})
        s.as_(org["mgr"]).update_goal({"goal_id": goal["id"], "description": "why it matters to me"})
        made[name] = goal["id"]
    ages = {"ancient": 7, "old": 4, "held": 7, "fresh": 0}
    with s.engine.begin() as conn:
        for name, years in ages.items():
            conn.execute(text("update goals set created_at = created_at - make_interval(years => :y) "
                              "where id = :g"), {"y": years, "g": made[name]})
    mark = s.mark()
    s.publish(RetentionSweepRequested(
        sweep_date=TODAY.isoformat(),
        policies={"goal": {"basis": "created", "anonymize_after_years": 3, "purge_after_years": 6},
                  "checkin": {"basis": "created", "purge_after_years": 2}},
        holds=[HoldRef(hold_id=f"{uid}-h", record_type="goal", record_ids=[made["held"]], reason="litigation")]))
    wait_for(lambda: len(s.events(mark, ".records.purged.v1")) == 2, message="retention applied")
    assert s.scalar("select count(*) from goals where id = :g", g=made["ancient"]) == 0
    assert s.scalar("select count(*) from progress_updates where goal_id = :g", g=made["ancient"]) == 0
    old = s.rows("select responsible_id, owner_id, description, anonymized_at from goals where id = :g",
                 g=made["old"])[0]
    assert (old.responsible_id, old.owner_id, old.description) == ("anonymized", "anonymized", "")
    assert old.anonymized_at is not None
    assert s.scalar("select string_agg(comment, '') from progress_updates where goal_id = :g", g=made["old"]) == ""
    for name in ("held", "fresh"):
        kept = s.rows("select responsible_id, description from goals where id = :g", g=made[name])[0]
        assert (kept.responsible_id, kept.description) == (org["rep1"], "why it matters to me"), name
    events = {d["action"]: d for _, d in s.events(mark, ".records.purged.v1")}
    assert events["purge"]["record_ids"] == [made["ancient"]] and events["anonymize"]["record_ids"] == [made["old"]]
    # the same sweep again (another event): nothing left to do, nothing published
    from chassis.amqp import OutgoingMessage
    from contracts import Envelope

    mark = s.mark()
    again = Envelope.wrap(RetentionSweepRequested(
        sweep_date=TODAY.isoformat(), policies={"goal": {"anonymize_after_years": 3, "purge_after_years": 6}},
        holds=[HoldRef(hold_id=f"{uid}-h", record_type="goal", record_ids=[made["held"]], reason="litigation")]))
    s._publisher.publish(OutgoingMessage("compliance.events", again.type, again.model_dump_json()))
    wait_for(lambda: s.scalar("select count(*) from chassis_inbox where event_id = :e", e=str(again.id)) == 1,
             message="second sweep handled")
    assert s.events(mark, ".records.purged.v1") == []
    assert s.scalar("select count(*) from goals where id = :g", g=made["held"]) == 1


def test_compliance_confirms_an_appeals_target_with_get_goal_as_the_appellant(goals_service, org):
    """compliance asks goals.get_goal as the appellant (compliance.usecases.appeals._goal_facts): the owner it answers
    decides whether the appeal is the appellant's. In a private cycle a colleague's goal is, to the appellant, a
    goal that does not exist (404, the same answer as for a made-up id)."""
    s = goals_service
    cycle = cycle_of(s, org["hr"], visibility="private")
    goal = s.as_(org["mgr"]).create_goal(kpi(cycle["id"], "person", org["rep1"]))
    own = s.as_(org["rep1"]).get_goal({"goal_id": goal["id"]})
    assert (own["owner"], own["responsible_id"]) == ({"kind": "person", "id": org["rep1"]}, org["rep1"])
    hidden = s.fails(s.as_(org["rep2"]).get_goal, {"goal_id": goal["id"]})
    missing = s.fails(s.as_(org["rep2"]).get_goal, {"goal_id": "nope"})
    assert hidden.status == missing.status == 404
    assert hidden.errors == missing.errors == [{"field": "goal_id", "message": "no such goal"}]
