"""Bulk in and out for goals and feedback: imports of goals, indicators and templates from CSV/XLSX (a dry run
reporting every issue by row and column, then an all-or-nothing apply), and the keyset-paged reads the gateway
streams into CSV/XLSX exports (boards, score cards, ratings, participation)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from contracts.base import Contract, Event

ImportKind = Literal["goals", "indicators", "templates"]
MAX_IMPORT_BYTES = 10 * 1024 * 1024  # a region's goal file is well under a megabyte; larger is a mistake


class ImportFile(Contract):
    kind: ImportKind = Field(description="what the file holds: goals (of one cycle), indicators or templates")
    cycle_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="the cycle the goals are imported into (goals only)")
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="the file's name; its suffix (.csv or .xlsx) gives the format unless `format` does")
    format: Literal["csv", "xlsx"] | None = Field(default=None, description="default: from the file name")
    content_base64: Annotated[str, StringConstraints(min_length=1, max_length=MAX_IMPORT_BYTES * 4 // 3 + 4)] = (
        Field(description="the file's bytes, base64 (at most 10 MiB of file)"))
    sheet: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="the XLSX sheet (default: the first)")
    dry_run: bool = Field(default=True, description="plan and report only; false applies, all or nothing")


class ImportIssueView(Contract):
    row: int = Field(description="the row number as the spreadsheet shows it")
    column: str | None = Field(description="the column header as written in the file (None: the whole row)")
    code: str = Field(description="a stable code, e.g. unknown_owner, parent_after_child, weights_total")
    message: str


class ImportReport(Contract):
    kind: ImportKind = Field(description="what the file holds: goals, indicators or templates")
    dry_run: bool = Field(description="true: checked and planned, nothing written")
    applied: bool = Field(description="true once every row is written; false leaves nothing written")
    rows: int = Field(description="data rows read (blank rows not counted)")
    planned: int = Field(description="goals, indicators or templates the file creates or saves")
    error_count: int = Field(description="every error found (the list below holds the first 1000)")
    errors: list[ImportIssueView] = Field(description="the first 1000 errors, by row")
    warnings: list[ImportIssueView] = Field(description="what is accepted but worth a look, by row")
    progress: list[int] = Field(default_factory=list, description="rows read at each progress report")


ImportJobState = Literal["queued", "running", "done", "failed"]
ImportPhase = Literal["waiting", "checking", "applying", "finished"]


class GoalImportJobRef(Contract):
    job_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class GoalImportJob(Contract):
    """A goals import running in the background (POST answers it with 202): poll it until `state` is done or
    failed. An apply is one transaction: a job stopped half way (the process killed) has written nothing, and runs
    again from the start on the redelivered request, at most `max_attempts` times, then fails."""

    job_id: str
    kind: ImportKind = Field(description="what the file holds: goals, indicators or templates")
    cycle_id: str | None
    filename: str
    dry_run: bool = Field(description="true: check and plan only, nothing written")
    requested_by: str
    state: ImportJobState = Field(description="queued, running, done (the report says what was written) or failed "
                                              "(nothing written; `detail` says why)")
    phase: ImportPhase = Field(description="waiting; checking the rows; applying them (one transaction); finished")
    rows_total: int | None = Field(description="data rows in the file, once counted")
    rows_done: int = Field(description="rows through the current phase so far")
    attempts: int = Field(description="runs started (a run stopped by a killed process counts)")
    detail: str | None = Field(default=None, description="why the job failed")
    report: ImportReport | None = Field(default=None, description="the import's report once done")


class ImportRequested(Event):
    """Goals to itself: run an import job, durably (redelivered if the process dies) and outside the RPC time
    limit."""

    type = "jixiao.goals.import.requested.v1"
    subject_field = "job_id"
    job_id: str


ExportKind = Literal["board", "scorecards", "ratings", "participation"]


class ExportPage(Contract):
    """One page of an export, read in key order: pass back `next_cursor` until it is None."""

    cycle_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    org_unit_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="only this unit's subtree")
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=1000, ge=1, le=5000)


class ExportRows(Contract):
    columns: list[str] = Field(description="the column keys of every row, in order (headers come from them)")
    rows: list[list[Any]] = Field(description="the rows, each a list of cell values in `columns` order")
    next_cursor: str | None = None


class ParticipationExportPage(Contract):
    """One page of the participation export (one row a person: weekly reports expected and submitted in `month`),
    in person order: pass back `next_cursor` until it is None."""

    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = Field(description="YYYY-MM")
    org_unit_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="only this unit's subtree")
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=1000, ge=1, le=5000)


class FileOptions(Contract):
    format: Literal["csv", "xlsx"] = Field(default="csv", description="csv (UTF-8 with BOM) or xlsx")
    lang: Literal["en", "zh-CN"] | None = Field(default=None, description="header language (default: "
                                                                          "Accept-Language, else en)")


class ExportQuery(ExportPage, FileOptions):
    """What the gateway's export routes take: the page query, the file format and the headers' language."""


class ParticipationExportQuery(ParticipationExportPage, FileOptions):
    """The participation export's query: the page query, the file format and the headers' language."""
