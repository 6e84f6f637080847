"""Bulk import over RPC: dry run with a per-row report, apply in one go, idempotent re-import, XLSX, progress,
bad input and denials."""
import base64
import io
import time

import pytest

from chassis.errors import Conflict, Forbidden, InvalidInput, NotFound
from chassis.testing.plugin import wait_for

GOOD = """工号,姓名,部门,直属上级工号,邮箱,手机,序列,状态
E100,张三,研发中心/平台部,M,zhangsan@example.com,13800138000,技术,在职
E101,李四,销售部,,lisi@example.com,,管理,在职
E102,王五,平台部,E100,,,,
"""
BAD = """工号,姓名,部门,直属上级工号,邮箱
E200,赵六,不存在的部门,,zhao@example.com
E201,,研发中心,,
E202,钱七,研发中心,ghost,not-an-email
"""


@pytest.fixture(params=["postgresql", "sqlite"])
def compliance_url(request, pg_database, tmp_path):
    """Every import test runs on both databases: SQLite (the embedded default, a pool of ONE connection) too."""
    if request.param == "sqlite":
        from chassis.migrations import upgrade

        url = f"sqlite:///{tmp_path / 'compliance.db'}"
        upgrade("compliance", url)
        return url
    return pg_database("compliance")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def finished(caller, job_id, status):
    return wait_for(lambda: (lambda job: job if job["status"] == status else None)(
        caller.get_import({"job_id": job_id})), message=f"import {status}")


def test_dry_run_reports_every_row_then_apply_is_idempotent(org, callers, audit_log, count_rows):
    root = callers("root").compliance
    people_before = count_rows("compliance_people")["compliance_people"]

    bad = root.start_import({"filename": "hr.csv", "content_base64": b64(BAD)})
    assert bad["status"] == "planning"
    report = finished(root, bad["job_id"], "planned")
    problems = {(issue["row"], issue["column"], issue["code"]) for issue in report["errors"]}
    assert problems == {(2, "部门", "unknown_org_unit"), (3, "姓名", "required"),
                        (4, "直属上级工号", "unknown_manager"), (4, "邮箱", "invalid_email")}
    with pytest.raises(Conflict):
        root.apply_import({"job_id": bad["job_id"]})
    assert count_rows("compliance_people")["compliance_people"] == people_before  # nothing half-applied

    good = root.start_import({"filename": "hr.csv", "content_base64": b64(GOOD)})
    planned = finished(root, good["job_id"], "planned")
    assert planned["summary"] == {"create": 3, "update": 0, "unchanged": 0, "errors": 0}
    assert planned["progress"] == 1.0 and planned["rows_read"] == 3
    assert count_rows("compliance_people")["compliance_people"] == people_before  # a dry run writes nothing
    root.apply_import({"job_id": good["job_id"]})
    applied = finished(root, good["job_id"], "applied")
    assert applied["summary"]["create"] == 3
    assert root.apply_import({"job_id": good["job_id"]})["status"] == "applied"  # asked twice: applied once
    person = root.get_person({"person_id": "E100"})
    assert (person["org_unit_id"], person["manager_id"], person["phone"], person["sequence"]) == (
        "rd-p", "M", "+8613800138000", "technical")
    audit_log.wait(lambda es: len(es) == 1, subject="E102", type="jixiao.compliance.person.changed.v1")
    # the new people exist for access decisions at once (compliance's read model moved with the import)
    assert callers("M").compliance.decide({"action": "goal.read", "resource": {"kind": "goal", "owner": "E100"}})[
        "allowed"]

    again = root.start_import({"filename": "hr-again.csv", "content_base64": b64(GOOD)})
    assert finished(root, again["job_id"], "planned")["summary"] == {
        "create": 0, "update": 0, "unchanged": 3, "errors": 0}
    root.apply_import({"job_id": again["job_id"]})
    finished(root, again["job_id"], "applied")
    assert root.get_person({"person_id": "E100"})["version"] == 1  # re-import changed nothing


def test_xlsx_imports_and_hr_is_held_to_their_units(org, callers):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["员工名单 2026"])  # a title row above the header, as HR exports have
    sheet.append(["Employee No", "Name", "Department", "Manager"])
    sheet.append(["X300", "Xlsx Person", "rd-p", "M"])
    sheet.append([301.0, "Float Number", "rd", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = base64.b64encode(buffer.getvalue()).decode()

    hr = callers("H").compliance
    with pytest.raises(Forbidden):
        hr.start_import({"filename": "team.xlsx", "content_base64": content})  # HR must name their unit
    with pytest.raises(Forbidden):
        hr.start_import({"filename": "team.xlsx", "content_base64": content, "within_unit": "sales"})
    job = hr.start_import({"filename": "team.xlsx", "content_base64": content, "within_unit": "rd"})
    planned = finished(hr, job["job_id"], "planned")
    assert planned["summary"]["create"] == 2, planned
    hr.apply_import({"job_id": job["job_id"]})
    finished(hr, job["job_id"], "applied")
    assert callers("root").compliance.get_person({"person_id": "301"})["org_unit_id"] == "rd"
    with pytest.raises(NotFound, match="no import job"):  # an employee does not learn of HR's job (issue 10 item 8)
        callers("T").compliance.get_import({"job_id": job["job_id"]})


def test_bad_import_requests_name_the_field(org, callers, count_rows):
    root = callers("root").compliance
    before = count_rows("compliance_import_jobs")
    cases = [
        ({"filename": "x.csv"}, "content_base64"),
        ({"filename": "x.csv", "content_base64": "%%%"}, "content_base64"),
        ({"filename": "x.txt", "content_base64": b64(GOOD)}, "format"),
        ({"filename": "x.csv", "upload_path": "../../etc/passwd"}, "upload_path"),
        ({"filename": "x.csv", "content_base64": b64(GOOD), "within_unit": "nowhere"}, "within_unit"),
        ({"filename": "x.csv", "content_base64": b64(GOOD), "format": "pdf"}, "format"),
    ]
    for payload, field in cases:
        with pytest.raises(InvalidInput) as raised:
            root.start_import(payload)
        assert raised.value.errors[0]["field"] == field, (payload, raised.value.errors)
    assert count_rows("compliance_import_jobs") == before
    broken = root.start_import({"filename": "x.xlsx", "content_base64": b64("not a workbook")})
    failed = finished(root, broken["job_id"], "failed")
    assert failed["errors"][0]["code"] == "unreadable"


def test_planning_a_large_file_leaves_the_service_answering(org, callers):
    """issue 8 item 9: while a file plans, the service's other calls answer (on SQLite the planner once held the
    only connection and every call timed out); the caller watches progress between 0 and 1."""
    root = callers("root").compliance
    header = "工号,姓名,部门,直属上级工号,邮箱"
    lines = [header] + [f"L{n:05d},员工{n},平台部,M,l{n}@example.com" for n in range(12_000)]
    job = root.start_import({"filename": "large.csv", "content_base64": b64("\n".join(lines) + "\n")})
    seen = []

    def watch():
        current = root.get_import({"job_id": job["job_id"]})
        started = time.monotonic()
        assert callers("P").compliance.get_person({"person_id": "T"})["name"] == "Target"  # other calls answer
        seen.append((current["status"], current["progress"], time.monotonic() - started))
        return current if current["status"] != "planning" else None
    planned = wait_for(watch, timeout=120, interval=0.02, message="the large file planned")
    assert planned["status"] == "planned" and planned["summary"]["create"] == 12_000
    during = [waited for status, _, waited in seen if status == "planning"]
    assert during and max(during) < 3.0, seen  # answered while planning, not after it
