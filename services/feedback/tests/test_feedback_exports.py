"""Feedback's export pages (feedback.usecases.exports) on SQLite and PostgreSQL, this month (2026-12): keyset pages
cover every row once in person order whatever the page size, and each caller exports what the JSON reads show
them (company HR everything, HR of a unit its subtree, anyone else their own row)."""
from __future__ import annotations

import pytest

from chassis.errors import Forbidden
from contracts import bulk as b
from contracts import feedback as c
from feedback.domain.errors import InvalidInput
from feedback.usecases import exports, reports


def _all(uc, who: str, **query) -> list[list]:
    rows, cursor = [], None
    while True:
        page = exports.export_participation(uc.uow(uc.as_(who)), uc.as_(who),
                                            b.ParticipationExportPage(month="2026-12", cursor=cursor, **query))
        assert page.columns == exports.PARTICIPATION_COLUMNS
        rows += page.rows
        cursor = page.next_cursor
        if cursor is None:
            return rows


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_participation_pages_cover_everyone_once_in_order(uc, limit):
    reports.submit(uc.uow(uc.as_("rep1")), uc.as_("rep1"), c.SubmitReport(period="2026-W49", done="demo"))
    rows = _all(uc, "hr", limit=limit)
    people = [r[0] for r in rows]
    assert people == sorted(people) == ["dir", "hr", "mgr", "outsider", "peer", "rep1", "rep2", "rep3"]
    by = {r[0]: r for r in rows}
    assert by["rep1"][3:] == ["2026-12", 1, 1, "1.0000"] and by["rep2"][3:] == ["2026-12", 1, 0, "0.0000"]


def test_each_caller_exports_what_the_reads_show_them(uc):
    assert [r[0] for r in _all(uc, "hr", org_unit_id="sales")] == ["dir", "mgr", "peer", "rep1", "rep2", "rep3"]
    assert [r[0] for r in _all(uc, "mgr")] == ["mgr"]  # not HR: only their own row
    with pytest.raises(Forbidden):
        _all(uc, "mgr", org_unit_id="sales")
    with pytest.raises(InvalidInput):
        _all(uc, "hr", org_unit_id="nowhere")
