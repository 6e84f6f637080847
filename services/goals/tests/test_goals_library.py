"""Assessment models over RPC: presets installed as data, the indicator library and templates, formulas (checked,
versioned, a running cycle keeps its version, a bad one is a 400 with the position), custom fields, assigning a
template to hundreds of people in one call with a result per person, and score cards."""
from decimal import Decimal

OPERATOR_VALUES = {"attendance_rate": "99", "yield_rate": "98.5", "safety_incidents": "0",
                   "output_attainment": "100", "scrap_rate": "1.5"}


def test_presets_templates_formulas_and_mass_assignment(goals_service, uid):
    s = goals_service
    hr, boss, outsider = f"{uid}-hr", f"{uid}-boss", f"{uid}-outsider"
    plant, hq = f"{uid}-plant", f"{uid}-hq"
    operators = [f"{uid}-op{i:03d}" for i in range(300)]
    s.org(units=[(hq, None, "HQ"), (plant, hq, "Plant"), (f"{uid}-far", None, "Other company")],
          people=[(hr, hq, None), (boss, plant, None), (outsider, f"{uid}-far", None),
                  *[(op, plant, boss) for op in operators]],
          grants={hr: [("hr", hq)]})
    admin, op0 = s.as_(hr), s.as_(operators[0])

    presets = {p["code"]: p for p in admin.list_presets()["items"]}
    assert {"sales", "customer_service", "rnd", "manufacturing", "functional"} <= set(presets)
    assert {"attendance_rate", "yield_rate", "maintenance_completion"} <= set(presets["manufacturing"]["indicators"])
    assert s.fails(op0.install_preset, {"code": "manufacturing"}).status == 403
    assert s.fails(admin.install_preset, {"code": "mining"}).status == 404
    mark = s.mark()
    installed = admin.install_preset({"code": "manufacturing"})
    assert "production_operator" in installed["templates"]
    saved = [d["code"] for _, d in s.events(mark, ".indicator.saved.v1")]
    assert sorted(saved) == sorted(presets["manufacturing"]["indicators"])
    mark = s.mark()
    admin.install_preset({"code": "manufacturing"})  # installing again changes nothing
    assert s.events(mark) == []
    shift = next(i for i in admin.list_indicators({"limit": 200})["items"] if i["code"] == "shift_performance")
    assert shift["formula_version"] == 1 and "night_shift_coefficient" in shift["formula"]

    # formulas are parsed and checked, never evaluated as code; errors give the position
    indicators = s.scalar("select count(*) from indicators")
    bad = s.fails(admin.save_indicator, {"code": "broken", "name": "Broken", "kind": "kpi", "direction": ">=",
                                         "green": "1", "yellow": "0", "formula": "min(output_attainment * , 3)"})
    assert bad.status == 400 and bad.errors[0]["field"] == "formula" and bad.errors[0]["position"] == 24
    bad = s.fails(admin.save_indicator, {"code": "evil", "name": "Evil", "kind": "kpi", "direction": ">=",
                                         "green": "1", "yellow": "0", "formula": "__import__('os')"})
    assert bad.status == 400 and bad.errors[0]["position"] == 11
    assert s.scalar("select count(*) from indicators") == indicators
    unknown = s.fails(admin.check_formula, {"formula": "a + patents * 2", "variables": ["a"]})
    assert unknown.status == 400 and unknown.errors[0]["position"] == 4 and "patents" in unknown.detail
    assert admin.check_formula({"formula": "if(a > 1, a, 0) + min(b * 2, 10)", "variables": ["a", "b"]}) == {
        "ok": True, "result_type": "number", "variables": ["a", "b"]}
    wrong = s.fails(admin.save_template, {"code": "t1", "name": "T", "job_family": "x",
                                          "items": [{"indicator": "nope", "weight": "100"}]})
    assert wrong.status == 400 and wrong.errors[0]["field"] == "items.0.indicator"
    wrong = s.fails(admin.save_template, {"code": "t1", "name": "T", "job_family": "x",
                                          "items": [{"indicator": "oee", "weight": "60"},
                                                    {"indicator": "yield_rate", "weight": "30"}]})
    assert wrong.status == 422 and wrong.errors[0]["field"] == "items.weight"
    assert [t["code"] for t in admin.list_templates({"job_family": "production"})["items"]] == ["production_operator"]

    # one call, 300 people, a result for each; the few who cannot get it are reported, not fatal
    cycle = admin.create_cycle({"name": "H1", "period": "quarter", "year": 2027, "index": 2})
    assignees = [{"person_id": op} for op in operators] + [{"person_id": outsider}, {"person_id": f"{uid}-ghost"},
                                                           {"person_id": operators[0]},
                                                           {"person_id": operators[1], "targets": {"nope": "1"}}]
    assignees = [a for a in assignees if a["person_id"] != operators[1]] + [assignees[-1]]
    mark = s.mark()
    result = admin.assign_template({"template_code": "production_operator", "cycle_id": cycle["id"],
                                    "assignees": assignees}, timeout=60)
    outcome = {r["person_id"]: r for r in result["results"] if not r["ok"]}
    assert result["created"] == 299 and result["goals_created"] == 299 * 6 and result["failed"] == 4
    assert outcome[outsider]["errors"][0]["field"] == "person_id"
    assert "directory" in outcome[f"{uid}-ghost"]["errors"][0]["message"]
    assert outcome[operators[1]]["errors"][0]["field"] == "targets.nope"
    assert [r["person_id"] for r in result["results"] if not r["ok"]].count(operators[0]) == 1
    assigned = s.events(mark, ".template.assigned.v1")
    assert len(assigned) == 299 and all(len(d["goals"]) == 6 for _, d in assigned)
    assert {g["indicator_code"] for g in assigned[0][1]["goals"]} >= {"attendance_rate", "shift_performance"}
    assert s.scalar("select sum(weight) from goals where owner_id = :p and cycle_id = :c", p=operators[2],
                    c=cycle["id"]) == 100
    again = admin.assign_template({"template_code": "production_operator", "cycle_id": cycle["id"],
                                   "assignees": [{"person_id": operators[2]}]})
    assert again["created"] == 0 and "already has template" in again["results"][0]["errors"][0]["message"]

    # the running cycle keeps the formula version it opened with
    admin.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    changed = admin.save_indicator({**{k: shift[k] for k in ("code", "name", "kind", "direction", "unit", "target",
                                                            "green", "yellow", "description")},
                                    "scoring": shift["scoring"],
                                    "formula": "output_attainment * night_shift_coefficient"})
    assert changed["formula_version"] == 2
    goals = {g["indicator_code"]: g for g in op0.list_goals({"cycle_id": cycle["id"], "limit": 10})["items"]}
    computed = goals["shift_performance"]
    assert s.fails(op0.record_progress, {"goal_id": computed["id"], "value": "100"}).status == 422
    assert s.fails(op0.set_custom_fields, {"cycle_id": cycle["id"], "person_id": operators[0],
                                           "values": {"night_shift_coefficient": "2"}}).status == 403
    for code, value in OPERATOR_VALUES.items():
        op0.record_progress({"goal_id": goals[code]["id"], "value": value})
    fields = s.as_(boss).set_custom_fields({"cycle_id": cycle["id"], "person_id": operators[0], "values": {
        "night_shift_coefficient": "1.2", "improvement_suggestions": "3"}})
    assert fields["recomputed_goal_ids"] == [computed["id"]]
    value = op0.get_goal({"goal_id": computed["id"]})["kpi"]["actual"]
    assert Decimal(value) == 126  # min(100 x 1.2, 130) + min(3 x 2, 10), version 1
    [latest] = op0.list_progress({"goal_id": computed["id"], "limit": 1})["items"]
    assert latest["comment"] == "computed by formula shift_performance v1" and latest["actor_id"] == "service:goals"

    card = op0.get_scorecard({"cycle_id": cycle["id"], "person_id": operators[0],
                              "template_code": "production_operator"})
    points = {i["indicator"]: Decimal(i["points"]) for i in card["items"]}
    assert points["shift_performance"] == Decimal("120.00")  # capped at 120 by its linear scoring rule
    assert Decimal(card["total"]) == sum(Decimal(i["weighted_points"]) for i in card["items"]).quantize(
        Decimal("0.01"))
    missing = s.fails(s.as_(operators[5]).get_scorecard, {"cycle_id": cycle["id"], "person_id": operators[5],
                                                          "template_code": "production_operator"})
    assert missing.status == 422 and missing.errors[0]["field"].startswith(("values.", "fields."))
    assert s.fails(s.as_(operators[5]).get_scorecard, {"cycle_id": cycle["id"], "person_id": operators[0],
                                                       "template_code": "production_operator"}).status == 403

    # a cycle that opens after the change uses the new version
    later = admin.create_cycle({"name": "Q3", "period": "quarter", "year": 2027, "index": 3})
    admin.assign_template({"template_code": "production_operator", "cycle_id": later["id"],
                           "assignees": [{"person_id": operators[0]}]})
    admin.transition_cycle({"cycle_id": later["id"], "to": "open"})
    goals = {g["indicator_code"]: g for g in op0.list_goals({"cycle_id": later["id"], "limit": 10})["items"]}
    s.as_(boss).set_custom_fields({"cycle_id": later["id"], "person_id": operators[0],
                                   "values": {"night_shift_coefficient": "1.2", "improvement_suggestions": "3"}})
    op0.record_progress({"goal_id": goals["output_attainment"]["id"], "value": "100"})
    assert Decimal(op0.get_goal({"goal_id": goals["shift_performance"]["id"]})["kpi"]["actual"]) == 120


def test_saving_indicators_and_templates_takes_an_expected_version(goals_service, uid):
    s = goals_service
    hr, hq = f"{uid}-hr", f"{uid}-hq"
    s.org(units=[(hq, None, "HQ")], people=[(hr, hq, None)], grants={hr: [("hr", hq)]})
    admin = s.as_(hr)
    indicator = {"code": f"nps_{uid}", "name": "NPS", "kind": "kpi", "direction": ">=", "target": "50",
                 "green": "50", "yellow": "30"}
    missing = s.fails(admin.save_indicator, {**indicator, "expected_version": 1})
    assert (missing.status, missing.errors[0]["field"]) == (409, "expected_version")
    assert s.scalar("select count(*) from indicators where code = :c", c=indicator["code"]) == 0
    assert admin.save_indicator(indicator)["version"] == 1
    assert admin.save_indicator({**indicator, "name": "Net promoter score", "expected_version": 1})["version"] == 2
    mark = s.mark()
    stale = s.fails(admin.save_indicator, {**indicator, "name": "Stale", "expected_version": 1})
    assert (stale.status, stale.errors[0]["field"]) == (409, "expected_version") and s.events(mark) == []
    assert s.scalar("select name from indicators where code = :c", c=indicator["code"]) == "Net promoter score"

    template = {"code": f"t_{uid}", "name": "Support", "job_family": f"support {uid}",
                "items": [{"indicator": indicator["code"], "weight": "100"}]}
    assert s.fails(admin.save_template, {**template, "expected_version": 3}).status == 409
    assert admin.save_template(template)["version"] == 1
    assert admin.save_template({**template, "name": "Support desk", "expected_version": 1})["version"] == 2
    stale = s.fails(admin.save_template, {**template, "name": "Stale", "expected_version": 1})
    assert (stale.status, stale.errors[0]["field"]) == (409, "expected_version")
    [saved] = admin.list_templates({"job_family": template["job_family"]})["items"]
    assert (saved["name"], saved["version"]) == ("Support desk", 2)
