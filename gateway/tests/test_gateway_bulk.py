"""Bulk in and out over HTTP against the real goals and compliance services, in the quarter running now (Q4 2026):
a goal file's dry run and apply, a careless file's 4xx, and the board streamed as CSV (zh-CN headers from
Accept-Language) and XLSX, with the board's access rule."""
from __future__ import annotations

import base64
import csv
import io

import openpyxl


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _q4(seeded):
    hr = seeded.as_("H1")
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "Q4 2026", "period": "quarter", "year": 2026, "index": 4}), 201)
    return _ok(hr.post(f"/api/v1/cycles/{cycle['id']}/transitions", {"to": "open"}))


def _file(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return base64.b64encode(out.getvalue().encode("utf-8-sig")).decode()


GOALS = [["编号", "上级目标", "目标名称", "类型", "负责人", "部门", "权重", "关键结果", "目标值", "方向", "绿灯阈值",
          "黄灯阈值"],
         ["team", "", "平台稳定性", "OKR", "M1", "U2", "0", "可用性达到 99.95%", "99.95", "", "", ""]]
GOALS += [[f"{p}-{n}", "team", f"{p} 目标 {n}", "KPI", p, "", "50", "", "100", ">=", "100", "90"]
          for p in ("E1", "E2") for n in (1, 2)]


def test_import_goals_then_export_the_board_streamed(seeded):
    q4 = _q4(seeded)
    hr = seeded.as_("H1")
    body = {"kind": "goals", "cycle_id": q4["id"], "filename": "目标.csv", "content_base64": _file(GOALS)}
    dry = _ok(hr.post("/api/v1/goals/imports", body))
    assert (dry["dry_run"], dry["applied"], dry["planned"], dry["error_count"]) == (True, False, 5, 0)
    assert _ok(hr.get("/api/v1/goals", cycle_id=q4["id"], owner_id="E1"))["items"] == []
    applied = _ok(hr.post("/api/v1/goals/imports", {**body, "dry_run": False}))
    assert applied["applied"] and applied["error_count"] == 0
    again = _ok(hr.post("/api/v1/goals/imports", {**body, "dry_run": False}))  # weights would total 200: nothing
    assert not again["applied"] and {e["column"] for e in again["errors"]} == {"权重"}

    exported = hr.get(f"/api/v1/cycles/{q4['id']}/board/export", headers={"Accept-Language": "zh-CN"}, limit=2)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Content-Language"] == "zh-CN"
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["目标编号", "目标名称", "类型"] and len(rows) == 6  # 5 goals over 3 pages of 2
    assert len({row[0] for row in rows[1:]}) == 5

    xlsx = hr.get(f"/api/v1/cycles/{q4['id']}/board/export", format="xlsx", lang="en")
    assert xlsx.status_code == 200 and xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:2] == ("Goal ID", "Title") and len(table) == 6

    # the board's rule: the manager exports his unit, an employee not the company; problems, not broken files
    assert len(seeded.as_("M1").get(f"/api/v1/cycles/{q4['id']}/board/export", org_unit_id="U2").text
               .splitlines()) == 6
    denied = seeded.as_("E1").get(f"/api/v1/cycles/{q4['id']}/board/export")
    assert denied.status_code == 403 and denied.headers["Content-Type"] == "application/problem+json"
    bad = hr.get(f"/api/v1/cycles/{q4['id']}/board/export", format="pdf")
    assert bad.status_code == 400 and "format" in bad.text


def test_careless_files_are_4xx_or_row_errors_never_a_500(seeded):
    q4 = _q4(seeded)
    hr = seeded.as_("H1")
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
    for filename in ("goals.xlsx", "goals.csv"):
        refused = hr.post("/api/v1/goals/imports", {"kind": "goals", "cycle_id": q4["id"], "filename": filename,
                                              "content_base64": png})
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "content_base64"
    assert hr.post("/api/v1/goals/imports", {"kind": "goals", "filename": "goals.csv",
                                       "content_base64": _file(GOALS)}).status_code == 400  # no cycle
    headers = _ok(hr.post("/api/v1/goals/imports", {"kind": "goals", "cycle_id": q4["id"], "filename": "x.csv",
                                              "content_base64": _file([["name", "email"], ["a", "b"]])}))
    assert [e["code"] for e in headers["errors"]] == ["no_header"]
    assert seeded.as_("E1").post("/api/v1/goals/imports", {"kind": "indicators", "filename": "i.csv",
                                                     "content_base64": _file([["code", "name"]])}).status_code == 403
