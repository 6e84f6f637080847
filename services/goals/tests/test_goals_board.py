"""The goal board over RPC: drill-down by org unit (with descendants), owner and reporting line, filters by kind
and colour, aggregates per level equal to the domain's reference, cursor pagination, and who may look."""
from decimal import Decimal

from goals.domain.board import BoardRow, aggregate
from goals.domain.status import Colour


def build(s, uid):
    """co > a > (a1, a2), co > b; a lead per team reporting to the head of a; HR for co, HRBP for a."""
    u = {k: f"{uid}-{k}" for k in ("co", "a", "a1", "a2", "b")}
    people = [(f"{uid}-head", u["a"], None), (f"{uid}-lead1", u["a1"], f"{uid}-head"),
              (f"{uid}-lead2", u["a2"], f"{uid}-head"), (f"{uid}-bob", u["b"], None)]
    people += [(f"{uid}-a1p{i}", u["a1"], f"{uid}-lead1") for i in range(3)]
    people += [(f"{uid}-a2p{i}", u["a2"], f"{uid}-lead2") for i in range(2)]
    people += [(f"{uid}-bp{i}", u["b"], f"{uid}-bob") for i in range(2)]
    s.org(units=[(u["co"], None, "Co"), (u["a"], u["co"], "Division A"), (u["a1"], u["a"], "Team A1"),
                 (u["a2"], u["a"], "Team A2"), (u["b"], u["co"], "Division B")],
          people=[*people, (f"{uid}-hr", u["co"], None), (f"{uid}-hrbp", u["co"], None)],
          grants={f"{uid}-hr": [("hr", u["co"])], f"{uid}-hrbp": [("hrbp", u["a"])]})
    return u, [p for p, _, _ in people]


def test_board_drill_down_aggregates_pages_and_access(goals_service, uid):
    s = goals_service
    units, people = build(s, uid)
    hr = s.as_(f"{uid}-hr")
    # a private cycle: only the line, unit heads above and HR see goals (issue 8 opens company cycles to everyone)
    cycle = hr.create_cycle({"name": "FY", "period": "year", "year": 2027, "visibility": "private"})
    cycle = hr.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    for i, person in enumerate(people):
        caller = s.as_(person)
        kpi = caller.create_goal({"cycle_id": cycle["id"], "title": "KPI", "kind": "kpi", "weight": str(30 + i),
                                  "owner": {"kind": "person", "id": person},
                                  "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}})
        caller.create_goal({"cycle_id": cycle["id"], "title": "OKR", "kind": "okr", "weight": "20",
                            "owner": {"kind": "person", "id": person},
                            "key_results": [{"title": "k", "target": "10"}]})
        if i % 3:
            caller.record_progress({"goal_id": kpi["id"], "value": str(40 + 25 * (i % 3)), "confidence": "0.7"})
    hr.create_goal({"cycle_id": cycle["id"], "title": "Division goal", "kind": "okr",
                    "owner": {"kind": "org_unit", "id": units["a"]}, "responsible_id": f"{uid}-head",
                    "key_results": [{"title": "k", "target": "1"}]})

    def reference(unit_ids, group_of):
        rows = s.rows("select id, org_unit_id, colour, progress, weight, confidence, kind from goals "
                      "where cycle_id = :c and org_unit_id = any(:u)", c=cycle["id"], u=list(unit_ids))
        board_rows = [BoardRow(r.id, group_of(r), Colour(r.colour), r.progress, r.weight, r.confidence)
                      for r in rows]
        return aggregate(board_rows), aggregate([BoardRow(r.id, "all", Colour(r.colour), r.progress, r.weight,
                                                          r.confidence) for r in rows])["all"], rows

    def same(view, expected):
        assert view["count"] == expected.count
        assert (view["green"], view["yellow"], view["red"]) == (expected.green, expected.yellow, expected.red)
        assert Decimal(view["weighted_progress"]) == expected.weighted_progress
        assert (None if view["average_confidence"] is None else Decimal(view["average_confidence"])) == (
            expected.average_confidence)

    # a division with its teams: one level per child unit (and the division's own goals)
    division = {units["a"]: units["a"], units["a1"]: units["a1"], units["a2"]: units["a2"]}
    levels, total, rows = reference(division, lambda r: division[r.org_unit_id])
    board = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": units["a"], "limit": 200})
    same(board["total"], total)
    assert [lv["key"] for lv in board["levels"]] == sorted(levels)
    for level in board["levels"]:
        same(level, levels[level["key"]])
    assert {lv["name"] for lv in board["levels"]} == {"Division A", "Team A1", "Team A2"}
    assert {g["id"] for g in board["items"]} == {r.id for r in rows} and board["next_cursor"] is None
    assert board["total"]["red"] > 0 and board["total"]["green"] > 0

    # the company root includes everything below; filters narrow every aggregate
    everything = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": units["co"]})
    assert everything["total"]["count"] == len(people) * 2 + 1
    assert {lv["key"] for lv in everything["levels"]} == {units["a"], units["b"]}
    red_kpis = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": units["co"], "kind": "kpi", "colour": "red"})
    assert red_kpis["total"]["count"] == red_kpis["total"]["red"] == len(red_kpis["items"]) > 0
    assert {g["kind"] for g in red_kpis["items"]} == {"kpi"}

    # one unit without descendants: one level per owner
    team = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": units["a1"], "include_descendants": False})
    assert {lv["key"] for lv in team["levels"]} == {f"{uid}-lead1", *(f"{uid}-a1p{i}" for i in range(3))}
    assert all(lv["count"] == 2 and lv["name"].startswith("name of") for lv in team["levels"])

    # cursor pagination walks every goal once
    seen, cursor = [], None
    while True:
        page = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": units["co"], "limit": 4, "cursor": cursor})
        assert page["total"]["count"] == everything["total"]["count"]
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == everything["total"]["count"] and seen == sorted(seen)

    # a manager's reporting line, one level per direct report's subtree
    head = s.as_(f"{uid}-head")
    line = head.get_board({"cycle_id": cycle["id"], "reports_of": f"{uid}-head"})
    assert {lv["key"] for lv in line["levels"]} == {f"{uid}-lead1", f"{uid}-lead2"}
    assert {lv["key"]: lv["count"] for lv in line["levels"]} == {f"{uid}-lead1": 8, f"{uid}-lead2": 6}
    mine = s.as_(f"{uid}-a1p1").get_board({"cycle_id": cycle["id"]})
    assert mine["total"]["count"] == 2 and {lv["key"] for lv in mine["levels"]} == {"kpi", "okr"}

    # who may look: HR/HRBP for their units, managers for their lines, people for themselves
    hrbp = s.as_(f"{uid}-hrbp")
    assert hrbp.get_board({"cycle_id": cycle["id"], "org_unit_id": units["a2"]})["total"]["count"] == 6
    mark = s.mark()
    # (the head of a browses a's board since issue 8: a unit's head and the managers above it; not b's)
    assert head.get_board({"cycle_id": cycle["id"], "org_unit_id": units["a"]})["total"]["count"] == 17
    for caller, query in ((hrbp, {"org_unit_id": units["b"]}), (head, {"org_unit_id": units["b"]}),
                          (s.as_(f"{uid}-bob"), {"reports_of": f"{uid}-head"}),
                          (s.as_(f"{uid}-a1p0"), {"owner_id": f"{uid}-a1p1"})):
        assert s.fails(caller.get_board, {"cycle_id": cycle["id"], **query}).status == 403
    assert len(s.events(mark, ".access.denied.v1")) == 4
    for query, field in (({"org_unit_id": units["a"], "owner_id": f"{uid}-bob"}, "org_unit_id"),
                         ({"org_unit_id": "nowhere"}, "org_unit_id"), ({"cursor": "%%%"}, "cursor"),
                         ({"colour": "blue"}, "colour"), ({"limit": 0}, "limit")):
        error = s.fails(hr.get_board, {"cycle_id": cycle["id"], **query})
        assert error.status == 400 and error.errors[0]["field"] == field
    assert s.fails(hr.get_board, {"cycle_id": "nope"}).status == 404
