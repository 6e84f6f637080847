"""The article's sales case, end to end over RPC: a region of 10 reps whose target was split equally is
re-allocated by weighted factors (city GDP 0.4, customer density 0.4, competitor coverage 0.2) within per-rep
bounds, proposed to the reps, who accept (one pushes back); two months with no activity turns their goals red
and opens a review (复盘) for each rep and the regional manager."""
from datetime import date, timedelta
from decimal import Decimal

GDP = [Decimal(x) for x in ("950", "420", "380", "300", "260", "210", "180", "150", "120", "90")]
DENSITY = [Decimal(x) for x in ("80", "55", "60", "40", "35", "30", "25", "25", "20", "10")]
COVERAGE = [Decimal(x) for x in ("0.2", "0.5", "0.4", "0.6", "0.6", "0.7", "0.7", "0.8", "0.8", "0.9")]


def test_the_sales_case(goals_service, uid):
    s = goals_service
    region, director, manager, hr = f"{uid}-east", f"{uid}-director", f"{uid}-manager", f"{uid}-hr"
    reps = [f"{uid}-rep{i}" for i in range(10)]
    s.org(units=[(f"{uid}-co", None, "Company"), (region, f"{uid}-co", "East region")],
          people=[(director, f"{uid}-co", None), (manager, region, director), (hr, f"{uid}-co", None),
                  *[(rep, region, manager) for rep in reps]],
          grants={hr: [("hr", f"{uid}-co")]})
    # this year's cycle; targets are set and negotiated while it is a draft (its schedule has not started), and
    # the reps' goals started two months ago and are due in a month
    today = date.today()
    span = {"start_on": (today - timedelta(days=60)).isoformat(), "due_on": (today + timedelta(days=30)).isoformat()}
    cycle = s.as_(hr).create_cycle({"name": str(today.year), "period": "year", "year": today.year})
    boss = s.as_(manager)
    target = {"direction": ">=", "unit": "units", "green": "1000", "yellow": "900", "target": "1000",
              "cumulative": True}
    region_goal = boss.create_goal({"cycle_id": cycle["id"], "title": "East region sales", "kind": "kpi",
                                    "owner": {"kind": "org_unit", "id": region}, "responsible_id": manager,
                                    "kpi": target})
    # last year's way: everyone gets the same share
    goals = [boss.create_goal({"cycle_id": cycle["id"], "title": f"Sales of {rep}", "kind": "kpi", "weight": "100",
                               "owner": {"kind": "person", "id": rep}, "parent_id": region_goal["id"], **span,
                               "kpi": {"direction": ">=", "unit": "units", "target": "100", "green": "100",
                                       "yellow": "90", "cumulative": True}})
             for rep in reps]

    children = [{"goal_id": g["id"], "factors": {"gdp": str(GDP[i]), "density": str(DENSITY[i]),
                                                 "coverage": str(COVERAGE[i])},
                 "minimum": "50", "maximum": "200"} for i, g in enumerate(goals)]
    request = {"parent_goal_id": region_goal["id"], "method": "factors", "children": children,
               "factor_weights": {"gdp": "0.4", "density": "0.4", "coverage": "0.2"}}
    preview = boss.preview_allocation(request)
    parts = [Decimal(item["allocated"]) for item in preview["items"]]
    assert sum(parts) == 1000 and Decimal(preview["total"]) == 1000
    # the big city is held at its maximum and the rest shared by potential; the remainder units go to the
    # largest fractions, so the parts add up to exactly 1000
    assert parts == [Decimal(x) for x in (200, 131, 128, 103, 92, 83, 74, 73, 64, 52)]
    assert [Decimal(item["current_target"]) for item in preview["items"]] == [100] * 10
    assert s.scalar("select count(*) from negotiation_entries where proposal_id in (select proposal_id from "
                    "proposal_goals where goal_id = :g)", g=goals[0]["id"]) == 0  # a preview writes nothing

    bad = s.fails(boss.preview_allocation, {**request, "children": [{**children[0], "minimum": "201"},
                                                                    *children[1:]]})
    assert bad.status == 400 and bad.errors[0]["field"] == f"children.{goals[0]['id']}.maximum"
    infeasible = s.fails(boss.preview_allocation, {**request, "children": [{**c, "minimum": "120"}
                                                                           for c in children]})
    assert infeasible.status == 422 and infeasible.errors[0]["field"] == "children"
    assert s.fails(boss.preview_allocation, {**request, "factor_weights": {"gdp": "1"}}).errors[0]["field"] == (
        f"children.{goals[0]['id']}.factors.coverage")
    assert s.fails(s.as_(reps[0]).apply_allocation, {**request, "rationale": "mine"}).status == 403

    mark = s.mark()
    applied = boss.apply_allocation({**request, "rationale": "targets follow each city's potential"})
    assert len(applied["proposals"]) == 10
    [(_, allocation)] = s.events(mark, ".allocation.applied.v1")
    assert [Decimal(i["allocated"]) for i in allocation["items"]] == parts
    assert len(s.events(mark, ".proposal.opened.v1")) == 10
    again = s.fails(boss.apply_allocation, {**request, "rationale": "twice"})
    assert again.status == 422 and len(again.errors[0]["ids"]) == 10  # each rep has a proposal to answer first

    for i, proposal in enumerate(applied["proposals"][:9]):
        s.as_(reps[i]).accept_proposal({"proposal_id": proposal["proposal_id"], "comment": "fair"})
    s.as_(reps[9]).reject_proposal({"proposal_id": applied["proposals"][9]["proposal_id"],
                                    "comment": "my county lost its biggest customer"})
    targets = [Decimal(boss.get_goal({"goal_id": g["id"]})["kpi"]["target"]) for g in goals]
    assert targets == [*parts[:9], Decimal(100)]

    s.as_(hr).transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    # rep0 reports; everyone else has been silent for two months
    s.as_(reps[0]).record_progress({"goal_id": goals[0]["id"], "value": "190", "comment": "two months"})
    mark = s.mark()
    hr_caller = s.as_(hr)
    assert s.fails(boss.run_status_sweep, {"on": today.isoformat()}).status == 403
    swept = hr_caller.run_status_sweep({"on": today.isoformat()})
    assert swept["turned_red"] >= 9 and swept["reviews_opened"] == swept["turned_red"]
    colours = {g["id"]: boss.get_goal({"goal_id": g["id"]})["colour"] for g in goals}
    assert colours[goals[0]["id"]] == "green" and {colours[g["id"]] for g in goals[1:]} == {"red"}
    reviews = {d["goal_id"]: d for _, d in s.events(mark, ".review.opened.v1")}
    for rep, goal in zip(reps[1:], goals[1:], strict=True):
        assert (reviews[goal["id"]]["owner_id"], reviews[goal["id"]]["manager_id"]) == (rep, manager)
    changed = {d["goal_id"]: (d["before"], d["after"]) for _, d in s.events(mark, ".goal.status_changed.v1")}
    assert all(changed[g["id"]] == ("green", "red") for g in goals[1:])
    assert len(boss.list_reviews({"state": "open", "cycle_id": cycle["id"]})["items"]) >= 9
    assert s.as_(reps[3]).list_reviews({"state": "open"})["items"][0]["goal_id"] == goals[3]["id"]

    # the sweep is idempotent: the same day again changes nothing and publishes nothing
    mark = s.mark()
    again = hr_caller.run_status_sweep({"on": today.isoformat()})
    assert (again["changed"], again["reviews_opened"]) == (0, 0)
    assert s.events(mark) == []
