"""Streamed CSV and XLSX exports: the gateway reads a service's keyset-paged export RPC page by page and writes the
rows out as each page arrives, so 100,000 rows never sit in memory at once.

CSV streams straight to the client (UTF-8 with a BOM, which Excel needs to read Chinese). XLSX cannot be sent
front to back (a zip's directory comes last), so chassis.tabular.write_xlsx writes it to a temporary file a row at
a time, and the file is then streamed and deleted. The first page is read before the response starts, so a
refused or malformed request is an ordinary problem document, never a half-sent file.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from chassis.tabular import write_xlsx
from contracts import bulk as b
from gateway.api import Ctx, Route
from gateway.i18n import negotiate

CHUNK = 64 * 1024
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# column key -> (en, zh-CN) header; a key missing here is written as is
HEADERS: Mapping[str, tuple[str, str]] = {
    "goal_id": ("Goal ID", "目标编号"), "title": ("Title", "目标名称"), "kind": ("Kind", "类型"),
    "owner_kind": ("Owner kind", "负责类型"), "owner_id": ("Owner", "负责人"), "org_unit_id": ("Org unit", "部门"),
    "parent_id": ("Parent goal", "上级目标"), "weight": ("Weight", "权重"), "progress": ("Progress", "进度"),
    "colour": ("Status", "状态"), "confidence": ("Confidence", "信心指数"), "due_on": ("Due", "截止日期"),
    # score cards, ratings and participation (feedback)
    "person_id": ("Employee", "员工"), "manager_id": ("Manager", "直属上级"), "grade": ("Grade", "职级"),
    "state": ("Review state", "评估状态"), "self_score": ("Self score", "自评分"),
    "self_late": ("Self review late", "自评逾期"),
    "manager_score": ("Manager score", "上级评分"), "manager_late": ("Manager review late", "上级评估逾期"),
    "peers_answered": ("Peer answers", "同事评价数"), "peer_score": ("Peer score", "同事评分"),
    "rating_label": ("Rating", "绩效等级"), "rating_score": ("Rating score", "绩效得分"),
    "acknowledged_at": ("Acknowledged", "确认时间"), "label": ("Rating", "绩效等级"), "score": ("Score", "得分"),
    "formula_version": ("Formula version", "公式版本"), "approval_status": ("Approval", "审批状态"),
    "version": ("Version", "版本"), "month": ("Month", "月份"), "expected": ("Reports expected", "应填报数"),
    "submitted": ("Reports submitted", "已填报数"), "rate": ("Participation rate", "主动填报率"),
}


def headers(columns: Iterable[str], language: str) -> list[str]:
    position = 1 if language == "zh-CN" else 0
    return [HEADERS[key][position] if key in HEADERS else key for key in columns]


def pages(call: Callable[[dict[str, Any]], dict[str, Any]], query: dict[str, Any],
          first: dict[str, Any]) -> Iterator[list[list[Any]]]:
    """The rows of `first`, then of each following page, fetched only when the writer wants them."""
    page = first
    while True:
        yield page["rows"]
        cursor = page.get("next_cursor")
        if not cursor:
            return
        page = call({**query, "cursor": cursor})


def _cell(value: Any) -> Any:
    return "" if value is None else value


def csv_stream(columns: list[str], language: str, rows: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers(columns, language))
    for page in rows:
        writer.writerows([[_cell(v) for v in row] for row in page])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def xlsx_file(columns: list[str], language: str, rows: Iterator[list[list[Any]]], title: str) -> str:
    """Write every page into a temporary XLSX (chassis.tabular.write_xlsx: rows go to disk as they come); returns
    its path."""
    handle, path = tempfile.mkstemp(prefix="jixiao-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, headers(columns, language), (row for page in rows for row in page), sheet=title)
    except BaseException:
        os.unlink(path)
        raise
    return path


def file_stream(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def export_handler(target: str, name: str) -> Callable[[Ctx], Response]:
    def handler(ctx: Ctx) -> Response:
        data = {**ctx.params, **ctx.query}
        file_format = data.pop("format", "csv")
        language = data.pop("lang", None) or negotiate(ctx.request.headers.get("Accept-Language"))
        data.setdefault("limit", 2000)

        def call(query: dict[str, Any]) -> dict[str, Any]:
            return ctx.call(target, query)  # type: ignore[no-any-return]

        first = call(data)  # refused or malformed: a problem document before any byte of the file
        columns = first["columns"]
        filename = f"{name}-{data.get('cycle_id') or data.get('month') or 'export'}.{file_format}"
        disposition = f"attachment; filename=\"{name}.{file_format}\"; filename*=UTF-8''{quote(filename)}"
        rows = pages(call, data, first)
        if file_format == "xlsx":
            path = xlsx_file(columns, language, rows, name)
            return Response(file_stream(path), mimetype=XLSX_TYPE, direct_passthrough=True,
                            headers={"Content-Disposition": disposition, "Content-Language": language,
                                     "Content-Length": str(os.path.getsize(path))})
        return Response(csv_stream(columns, language, rows), content_type=CSV_TYPE, direct_passthrough=True,
                        headers={"Content-Disposition": disposition, "Content-Language": language})

    handler.target = target  # type: ignore[attr-defined]  # as gateway.api.forward's: the RPC table test reads it
    return handler


def exported(declared: Route, name: str, query: type[b.FileOptions] = b.ExportQuery) -> Route:
    """The route `declared` (an RPC route taking a contracts.bulk page query, as the RPC table declares it) as a
    file download: its query (`query`: the page's fields and FileOptions') also takes `format` and `lang`, and its
    handler streams every page as CSV or XLSX."""
    from gateway.routes.build import rpc_route  # the route tables import this module

    target = declared.handler.target  # type: ignore[attr-defined]  # gateway.api.forward's handlers carry it
    route = rpc_route(declared.method, declared.path, target, summary=declared.summary, scope=declared.scope,
                      tag=declared.tag, request=query, response=b.ExportRows, operation_id=f"export_{name}",
                      description="A file, not JSON: CSV (UTF-8 with BOM) or XLSX by `format`, headers in the "
                                  "language of `lang` or Accept-Language (zh-CN or en), streamed page by page.")
    return replace(route, handler=export_handler(target, name), files=("text/csv", XLSX_TYPE))
