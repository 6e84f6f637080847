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


def _imported(client, body) -> dict:
    """POST the import (202, a job), then poll the job until it is done or failed."""
    from chassis.testing.plugin import wait_for

    job = _ok(client.post("/api/v1/goals/imports", body), 202)
    assert job["state"] == "queued" and job["report"] is None
    seen = {}

    def finished() -> bool:
        seen["job"] = _ok(client.get(f"/api/v1/goals/imports/{job['job_id']}"))
        return seen["job"]["state"] in ("done", "failed")
    wait_for(finished, message="the import job finishes")
    return seen["job"]


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
    job = _imported(hr, body)
    dry = job["report"]
    assert (job["state"], job["rows_total"], job["rows_done"], job["attempts"]) == ("done", 5, 5, 1)
    assert (dry["dry_run"], dry["applied"], dry["planned"], dry["error_count"]) == (True, False, 5, 0)
    assert _ok(hr.get("/api/v1/goals", cycle_id=q4["id"], owner_id="E1"))["items"] == []
    applied = _imported(hr, {**body, "dry_run": False})["report"]
    assert applied["applied"] and applied["error_count"] == 0
    again = _imported(hr, {**body, "dry_run": False})["report"]  # weights would total 200: nothing written
    assert not again["applied"] and {e["column"] for e in again["errors"]} == {"权重"}
    # the job is the requester's (and company managers'): anyone else gets the 404 of a missing job
    assert seeded.as_("E1").get(f"/api/v1/goals/imports/{job['job_id']}").status_code == 404
    assert hr.get("/api/v1/goals/imports/no-such-job").status_code == 404

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
        # refused by goals after the edge's schema checks: a rule no schema states (gateway.problems): 422
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "content_base64"
    no_cycle = hr.post("/api/v1/goals/imports", {"kind": "goals", "filename": "goals.csv",
                                                 "content_base64": _file(GOALS)})
    assert no_cycle.status_code == 422 and no_cycle.json()["errors"][0]["field"] == "cycle_id"
    headers = _imported(hr, {"kind": "goals", "cycle_id": q4["id"], "filename": "x.csv",
                             "content_base64": _file([["name", "email"], ["a", "b"]])})["report"]
    assert [e["code"] for e in headers["errors"]] == ["no_header"]
    assert hr.post("/api/v1/goals/imports", {"kind": "goals", "cycle_id": "no-such-cycle", "filename": "g.csv",
                                             "content_base64": _file(GOALS)}).status_code == 404
    assert seeded.as_("E1").post("/api/v1/goals/imports", {"kind": "indicators", "filename": "i.csv",
                                                     "content_base64": _file([["code", "name"]])}).status_code == 403


def _table(response, lang_header: str) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Language"] == lang_header
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_score_cards_ratings_and_participation_exported_with_the_reads_access(seeded):
    """Year-end 2026 in calibration: HR exports the ratings (zh-CN CSV over pages of one, en XLSX) and the score
    cards; an employee exports only their own row, without the manager's score or the rating before publishing;
    a manager is not HR of his unit (403 problem); a month's participation, one row a person."""
    from .test_gateway_feedback_routes import FORMULA, _until_known

    hr, mgr, e1 = (seeded.as_(p) for p in ("H1", "M1", "E1"))
    cycle = _ok(_until_known(hr, "/api/v1/feedback/review-cycles", {
        "goals_cycle_id": "FY2026", "name": "Year-end 2026", "formula": FORMULA, "people": ["E1", "E2"],
        "deadlines": {"self_review": "2026-12-20", "manager_review": "2026-12-28"}}), 201)
    base = f"/api/v1/feedback/review-cycles/{cycle['id']}"
    _ok(hr.post(base + "/advance", {"to_stage": "self_review"}))
    _ok(e1.put(base + "/self-review", {"items": [{"code": "g1", "score": "4"}]}))
    _ok(hr.post(base + "/advance", {"to_stage": "manager_review"}))
    for person, score in (("E1", "4"), ("E2", "3")):
        _ok(mgr.put(base + f"/reviews/{person}/manager-review", {"items": [{"code": "g1", "score": score}]}))
    _ok(hr.post(base + "/advance", {"to_stage": "calibration"}))

    ratings = _table(hr.get(base + "/ratings/export", limit=1, headers={"Accept-Language": "zh-CN"}), "zh-CN")
    assert ratings[0][:4] == ["员工", "部门", "绩效等级", "得分"]
    assert [(r[0], r[2]) for r in ratings[1:]] == [("E1", "A"), ("E2", "B")]  # two pages of one, in person order
    xlsx = hr.get(base + "/ratings/export", format="xlsx", lang="en", org_unit_id="U2")
    assert xlsx.status_code == 200 and xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = list(openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
                 .iter_rows(values_only=True))
    assert sheet[0][:3] == ("Employee", "Org unit", "Rating") and [r[0] for r in sheet[1:]] == ["E1", "E2"]

    cards = {r[0]: r for r in _table(hr.get(base + "/scorecards/export", lang="en"), "en")[1:]}
    header = _table(hr.get(base + "/scorecards/export", lang="en"), "en")[0]
    e1_card = dict(zip(header, cards["E1"], strict=True))
    assert (e1_card["Self score"], e1_card["Manager score"], e1_card["Rating"]) == ("4", "4", "A")
    mine = _table(e1.get(base + "/scorecards/export", lang="en"), "en")
    assert [r[0] for r in mine[1:]] == ["E1"]  # only their own
    own = dict(zip(mine[0], mine[1], strict=True))
    assert (own["Self score"], own["Manager score"], own["Rating"]) == ("4", "", "")  # not published yet
    assert len(_table(e1.get(base + "/ratings/export", lang="en"), "en")) == 1  # the header alone
    denied = mgr.get(base + "/ratings/export", org_unit_id="U2")
    assert denied.status_code == 403 and denied.headers["Content-Type"] == "application/problem+json"
    assert hr.get(base + "/ratings/export", org_unit_id="nowhere").status_code == 422  # no such unit

    _ok(e1.post("/api/v1/feedback/reports", {"kind": "weekly", "period": "2026-W49", "done": "demo"}))
    month = _table(hr.get("/api/v1/feedback/participation/export", month="2026-12", lang="zh-CN", limit=2),
                   "zh-CN")
    assert month[0][-3:] == ["应填报数", "已填报数", "主动填报率"]
    by_person = {r[0]: r[-3:] for r in month[1:]}
    assert set(by_person) == {"M1", "E1", "E2", "H1", "A1"} and by_person["E1"] == ["1", "1", "1.0000"]
    assert by_person["E2"] == ["1", "0", "0.0000"]
    assert [r[0] for r in _table(e1.get("/api/v1/feedback/participation/export", month="2026-12"), "en")[1:]] == [
        "E1"]
    bad = hr.get("/api/v1/feedback/participation/export", month="2026-13")
    assert bad.status_code == 400 and "month" in bad.text
