"""The board export's pages (goals.usecases.exports) on SQLite and PostgreSQL, in the quarter running now: key
order across pages with nothing missed or repeated, the board's access rule (HR the whole cycle; a unit's line
its unit; an employee not the company)."""
from __future__ import annotations

from contracts import bulk as b
from goals.usecases import exports, goals


def test_pages_cover_every_goal_once_in_key_order_and_access_follows_the_board(service, fails, open_q4, kpi_goal):
    q4 = open_q4()
    for person in ("rep", "peer"):
        for weight in ("40", "30", "30"):
            service.run(goals.create_goal, service.actors.person(person), kpi_goal(q4.id, person, weight=weight))
    hr = service.actors.person("hr")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = service.run(exports.export_board, hr, b.ExportPage(cycle_id=q4.id, limit=4, cursor=cursor))
        assert page.columns == exports.BOARD_COLUMNS and all(len(row) == len(page.columns) for row in page.rows)
        seen += [row[0] for row in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 2 and len(seen) == 6 and seen == sorted(set(seen))
    mgr = service.run(exports.export_board, service.actors.person("mgr"),
                      b.ExportPage(cycle_id=q4.id, org_unit_id="sales"))
    assert len(mgr.rows) == 6 and {row[4] for row in mgr.rows} == {"rep", "peer"}
    assert fails(service.run, exports.export_board, service.actors.person("rep"),
                 b.ExportPage(cycle_id=q4.id)).status == 403
    assert fails(service.run, exports.export_board, hr, b.ExportPage(cycle_id=q4.id, org_unit_id="nowhere")
                 ).errors[0]["field"] == "org_unit_id"
    assert fails(service.run, exports.export_board, hr, b.ExportPage(cycle_id=q4.id, cursor="garbage")
                 ).errors[0]["field"] == "cursor"
