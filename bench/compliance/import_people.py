"""Bulk import of 100,000 people from a CSV as HR exports it (Chinese headers, department paths, managers),
through the RPCs a gateway uses: `start_import` (base64 upload, dry run) → poll `get_import` → `apply_import`
→ poll until applied. Compliance runs under `nameko run` on PostgreSQL.

    python bench/compliance/import_people.py [--people 100000]
"""
from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import eventlet

eventlet.monkey_patch()

from bench_support import ADMIN, compliance_process  # noqa: E402


def csv_text(people: int) -> str:
    lines = ["工号,姓名,部门,直属上级工号,邮箱,手机,职级,序列,工作地点,状态"]
    for i in range(people):
        manager = "" if i == 0 else f"E{(i - 1) // 8:06d}"
        lines.append(f"E{i:06d},员工{i},研发中心/组{i % 50},{manager},e{i}@example.com,1{3 + i % 7}{i:09d},"
                     f"P{5 + i % 4},{'技术' if i % 5 else '管理'},上海,在职")
    return "\n".join(lines) + "\n"


def wait(caller, job_id: str, status: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = caller.compliance.get_import({"job_id": job_id})
        if job["status"] == status:
            return job
        if job["status"] == "failed" or time.monotonic() > deadline:
            raise SystemExit(f"import {job['status']}: {job.get('detail')} {job['errors'][:3]}")
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()

    from chassis.remote import StandaloneRpc
    from contracts import Actor

    content = base64.b64encode(csv_text(args.people).encode("utf-8")).decode()
    with compliance_process(RPC_TIMEOUT=60) as (uri, _url), \
            StandaloneRpc(uri, timeout=60, actor=Actor(subject=ADMIN)) as admin:
        admin.compliance.upsert_org_unit({"org_unit_id": "rd", "name": "研发中心"})
        for n in range(50):
            admin.compliance.upsert_org_unit({"org_unit_id": f"rd-{n}", "name": f"组{n}", "parent_id": "rd"})
        started = time.perf_counter()
        job = admin.compliance.start_import({"filename": "people.csv", "content_base64": content})
        planned = wait(admin, job["job_id"], "planned")
        plan_time = time.perf_counter() - started
        assert planned["error_count"] == 0, planned["errors"][:5]
        admin.compliance.apply_import({"job_id": job["job_id"]})
        applied = wait(admin, job["job_id"], "applied")
        total = time.perf_counter() - started
    print(f"import {args.people:,} people: {total:.1f}s in all (dry run with per-row report {plan_time:.1f}s, "
          f"apply {total - plan_time:.1f}s; {applied['summary']})")


if __name__ == "__main__":
    main()
