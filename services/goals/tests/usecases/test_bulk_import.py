"""Bulk import of goals, indicators and templates (goals.usecases.bulk_import) on SQLite and PostgreSQL: the
article's retailer case (12 regions, 38 job types) in the quarter running now, the dry run that writes nothing,
per-row errors by row and column (zh-CN and en headers), and careless files refused whole."""
from __future__ import annotations

import base64
import csv
import io
from decimal import Decimal

import openpyxl
import pytest

from contracts import bulk as b
from goals.usecases import bulk_import

REGIONS = [f"region_{n:02d}" for n in range(1, 13)]
JOB_TYPES = [f"job_{n:02d}" for n in range(1, 39)]
EN = ["ref", "parent", "title", "kind", "owner", "org unit", "weight", "key result", "target", "direction", "green",
      "yellow", "measure unit"]
ZH = ["编号", "上级目标", "目标名称", "类型", "负责人", "部门", "权重", "关键结果", "目标值", "方向", "绿灯阈值",
      "黄灯阈值", "单位"]


def csv_file(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return base64.b64encode(out.getvalue().encode("utf-8-sig")).decode()


def xlsx_file(rows: list[list[object]]) -> str:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return base64.b64encode(out.getvalue()).decode()


def command(content: str, *, kind: str = "goals", cycle_id: str | None = None, dry_run: bool = True,
            filename: str = "goals.csv") -> b.ImportFile:
    return b.ImportFile(kind=kind, cycle_id=cycle_id, filename=filename, content_base64=content, dry_run=dry_run)


@pytest.fixture
def regions(service):
    """12 regions under HQ, each with a head reporting to boss; HR (granted on hq) imports for all of them."""
    service.org(units=[(r, "hq", f"Region {r[-2:]}") for r in REGIONS],
                people=[(f"head_{r}", r, "boss") for r in REGIONS])
    return service


def retailer_goals() -> list[list[object]]:
    """The company goal, each region's unit goal under it, and each head's own KPI (weight 100)."""
    rows: list[list[object]] = [EN, ["co", "", "Revenue 2026 Q4", "OKR", "boss", "hq", "0", "Grow revenue", "1200",
                                     "", "", "", "m CNY"],
                                ["co", "", "", "", "", "", "", "Open stores", "24", "", "", "", "stores"]]
    for region in REGIONS:
        head = f"head_{region}"
        rows.append([region, "co", f"{region} revenue", "KPI", head, region, "0", "", "100", ">=", "100", "90",
                     "m CNY"])
        rows.append([f"{region}/own", region, f"{region} same-store sales", "kpi", head, "", "100", "", "5",
                     "越高越好", "5", "3", "%"])
    return rows


def test_the_retailers_twelve_regions_plan_then_apply_in_one_go(regions, fails, open_q4):
    q4 = open_q4()
    hr = regions.actors.person("hr")
    content = csv_file(retailer_goals())
    mark = regions.mark()
    dry = regions.run(bulk_import.import_file, hr, command(content, cycle_id=q4.id))
    assert (dry.dry_run, dry.applied, dry.error_count, dry.rows, dry.planned) == (True, False, 0, 26, 25)
    assert regions.scalar("select count(*) from goals") == 0 and regions.events(mark) == []  # nothing written
    applied = regions.run(bulk_import.import_file, hr, command(content, cycle_id=q4.id, dry_run=False))
    assert applied.applied and applied.error_count == 0
    assert regions.scalar("select count(*) from goals") == 25
    assert regions.scalar("select count(*) from key_results") == 2
    assert regions.scalar("select count(*) from goals where parent_id is not null") == 24
    assert regions.scalar("select count(*) from goals where owner_kind = 'org_unit'") == 13
    created = [t for t, _ in regions.events(mark) if t == "jixiao.goals.goal.created.v1"]
    assert len(created) == 25
    # the file again: every head's weights would total 200
    again = regions.run(bulk_import.import_file, hr, command(content, cycle_id=q4.id, dry_run=False))
    assert not again.applied and {e.code for e in again.errors} == {"weights_total"}
    assert regions.scalar("select count(*) from goals") == 25


def test_chinese_headers_in_an_xlsx_and_errors_name_the_row_and_the_column_as_written(regions, open_q4):
    q4 = open_q4()
    hr = regions.actors.person("hr")
    rows: list[list[object]] = [["2026年第四季度目标导入"], ZH,
                                ["a", "", "销售额", "KPI", "rep", "", 60, "", 100, ">=", 100, 90, "万元"],
                                ["b", "z", "回款", "KPI", "rep", "", 30, "", 100, ">=", 100, 90, "万元"],
                                ["c", "", "客户满意度", "KPI", "nobody", "", 10, "", 90, ">=", 90, 80, "分"],
                                ["a", "", "重复", "KPI", "rep", "", 10, "", 1, ">=", 1, 1, ""],
                                ["z", "", "上级", "KPI", "peer", "", 100, "", 1, ">=", 1, 1, ""]]
    report = regions.run(bulk_import.import_file, hr, command(xlsx_file(rows), cycle_id=q4.id, dry_run=False,
                                                             filename="目标.xlsx"))
    assert not report.applied
    found = {(e.row, e.column, e.code) for e in report.errors}
    assert (4, "上级目标", "parent_after_child") in found  # z is defined on row 7
    assert (5, "负责人", "unknown_owner") in found
    assert (6, "编号", "duplicate_row") in found
    assert (3, "权重", "weights_total") in found  # rep: 60 + 30 without the refused row's 10
    assert regions.scalar("select count(*) from goals") == 0


def test_a_row_the_service_refuses_rolls_back_every_row(regions, open_q4):
    """Each row passes the file checks, but the manager may not set goals for a colleague outside his line:
    the rows before it were already tried in the transaction, and none of them stays."""
    q4 = open_q4()
    mgr = regions.actors.person("mgr")
    rows = [EN, ["r1", "", "Closure rate", "KPI", "rep", "", "100", "", "90", ">=", "90", "80", "%"],
            ["o1", "", "Elsewhere", "KPI", "outsider", "", "100", "", "90", ">=", "90", "80", "%"]]
    report = regions.run(bulk_import.import_file, mgr, command(csv_file(rows), cycle_id=q4.id, dry_run=False))
    assert not report.applied and [(e.row, e.code) for e in report.errors] == [(3, "rejected")]
    assert regions.scalar("select count(*) from goals") == 0
    bad_kpi = [EN, ["r1", "", "Closure rate", "KPI", "rep", "", "100", "", "90", ">=", "80", "90", "%"]]
    report = regions.run(bulk_import.import_file, mgr, command(csv_file(bad_kpi), cycle_id=q4.id, dry_run=False))
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "direction", "rejected")]
    assert regions.scalar("select count(*) from goals") == 0


@pytest.mark.parametrize(("content", "field"), [
    (base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").decode(), "content_base64"),
    ("not base64 at all!", "content_base64"),
])
def test_a_file_that_is_not_a_spreadsheet_is_a_400_naming_the_field(regions, fails, open_q4, content, field):
    q4 = open_q4()
    for filename in ("goals.csv", "goals.xlsx"):
        error = fails(regions.run, bulk_import.import_file, regions.actors.person("hr"),
                      command(content, cycle_id=q4.id, filename=filename))
        assert error.status == 400 and error.errors[0]["field"] == field
    no_format = fails(regions.run, bulk_import.import_file, regions.actors.person("hr"),
                      command(csv_file([EN]), cycle_id=q4.id, filename="goals.txt"))
    assert no_format.status == 400 and no_format.errors[0]["field"] == "format"


def test_wrong_headers_and_a_huge_file_are_reported_not_applied(regions, open_q4, monkeypatch):
    q4 = open_q4()
    hr = regions.actors.person("hr")
    wrong = regions.run(bulk_import.import_file, hr, command(csv_file([["name", "email"], ["a", "b"]]),
                                                             cycle_id=q4.id, dry_run=False))
    assert [e.code for e in wrong.errors] == ["no_header"] and not wrong.applied
    missing = regions.run(bulk_import.import_file, hr, command(csv_file([["ref", "title"], ["a", "b"]]),
                                                               cycle_id=q4.id))
    assert {e.column for e in missing.errors} == {"kind", "owner", "weight"}
    monkeypatch.setattr("goals.domain.bulk.MAX_ROWS", 30)
    huge = regions.run(bulk_import.import_file, hr, command(csv_file(retailer_goals() * 2), cycle_id=q4.id,
                                                            dry_run=False))
    assert "too_many_rows" in {e.code for e in huge.errors} and not huge.applied
    assert regions.scalar("select count(*) from goals") == 0


def test_thirty_eight_job_types_indicators_then_templates(regions, fails):
    hr = regions.actors.person("hr")
    indicators = [["指标编码", "指标名称", "类型", "方向", "单位", "目标值", "绿灯阈值", "黄灯阈值"]]
    indicators += [[f"sales_{n:02d}", f"销售额 {n}", "KPI", "越高越好", "万元", 100, 100, 90] for n in range(1, 39)]
    indicators += [["nps", "客户净推荐值", "KPI", ">=", "分", 50, 50, 40]]
    saved = regions.run(bulk_import.import_file, hr, command(csv_file(indicators), kind="indicators",
                                                             dry_run=False, filename="指标库.csv"))
    assert saved.applied and saved.planned == 39
    templates = [["模板编码", "模板名称", "岗位类型", "指标编码", "权重"]]
    for n, job in enumerate(JOB_TYPES, start=1):
        templates += [[job, f"岗位 {n}", f"岗位类型 {n}", f"sales_{n:02d}", 70], [job, f"岗位 {n}", f"岗位类型 {n}",
                                                                             "nps", 30]]
    dry = regions.run(bulk_import.import_file, hr, command(xlsx_file(templates), kind="templates",
                                                           filename="templates.xlsx"))
    assert dry.error_count == 0 and dry.planned == 38 and regions.scalar("select count(*) from templates") == 0
    applied = regions.run(bulk_import.import_file, hr, command(xlsx_file(templates), kind="templates",
                                                               dry_run=False, filename="templates.xlsx"))
    assert applied.applied and regions.scalar("select count(*) from templates") == 38
    careless = [["template code", "template name", "job type", "indicator", "weight"],
                ["x", "X", "X", "nope", "50"], ["x", "X", "X", "nps", "40"]]
    report = regions.run(bulk_import.import_file, hr, command(csv_file(careless), kind="templates", dry_run=False))
    assert {(e.row, e.column, e.code) for e in report.errors} >= {(2, "indicator", "unknown_indicator"),
                                                                  (3, "weight", "weights_total")}
    assert fails(regions.run, bulk_import.import_file, regions.actors.person("rep"),
                 command(csv_file(indicators), kind="indicators")).status == 403
    assert regions.scalar("select count(*) from indicators") == 39


def test_weights_are_decimals_and_totals_exact(regions, open_q4):
    q4 = open_q4()
    rows = [EN, ["x", "", "A", "KPI", "rep", "", "33.33", "", "1", ">=", "1", "1", ""],
            ["y", "", "B", "KPI", "rep", "", "33.33", "", "1", ">=", "1", "1", ""],
            ["z", "", "C", "KPI", "rep", "", "33.34", "", "1", ">=", "1", "1", ""]]
    report = regions.run(bulk_import.import_file, regions.actors.person("hr"),
                         command(csv_file(rows), cycle_id=q4.id, dry_run=False))
    assert report.applied, report.errors
    assert regions.scalar("select sum(weight) from goals where responsible_id = 'rep'") == Decimal("100.00")
