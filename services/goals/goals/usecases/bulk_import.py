"""Import goals (with parents, owners, weights, key results and KPIs), indicators and templates from CSV/XLSX.

The file is checked row by row (goals.domain.bulk), then every row is tried through the same use-case code a
single create or save runs (add_goal, the library's saves: access per owner, the cycle's state, KPI thresholds,
formulas), all in ONE transaction. A dry run, or any row refused, rolls the whole transaction back: nothing is
written, not even half an import, and the report names every row and column at fault.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from chassis.errors import InvalidInput, ServiceError, pydantic_errors, to_service_error
from chassis.tabular import Row, UnreadableFile, read_csv, read_xlsx
from contracts import bulk as b
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import require
from goals.domain import bulk
from goals.domain.errors import DomainError
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import load_cycle
from goals.usecases.goals import add_goal
from goals.usecases.library import _save_indicator, _save_template

MAX_REPORTED_ISSUES = 1000
PROGRESS_EVERY = 500

# where a use-case error's field points in the goal file
_GOAL_COLUMN = {"owner": "owner", "responsible_id": "owner", "weight": "weight", "weights": "weight",
                "parent_id": "parent", "kpi": "direction", "key_results": "key_result", "title": "title",
                "description": "description", "cycle_id": None}


class _NothingWritten(Exception):
    """Raised inside the unit of work to roll it back (a dry run, or a refused row)."""


class Progress:
    """Where an import is: data rows checked, then items applied. `report(phase, done)`, when given, hears each
    step (a background job's progress, for its poll); `checked` lists the rows read at each check step."""

    def __init__(self, report: Callable[[str, int], None] | None = None) -> None:
        self.checked: list[int] = []
        self.report = report

    def check(self, rows: int) -> None:
        self.checked.append(rows)
        if self.report is not None:
            self.report("checking", rows)

    def apply(self, done: int) -> None:
        if self.report is not None and done % PROGRESS_EVERY == 0:
            self.report("applying", done)


def check_content(command: b.ImportFile) -> bytes:
    """The file's bytes, or a 400 naming `content_base64` (not base64, too large, not the format it claims)."""
    try:
        content = base64.b64decode(command.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.field("content_base64", "not valid base64") from None
    if len(content) > b.MAX_IMPORT_BYTES:
        raise InvalidInput.field("content_base64", f"the file is {len(content)} bytes; at most "
                                                   f"{b.MAX_IMPORT_BYTES} (split it, by region for example)")
    _rows(command, content)  # the format's checks: a PNG named .csv is refused here, not by a job
    return content


def _rows(command: b.ImportFile, content: bytes) -> Iterator[Row]:
    file_format = command.format or PurePath(command.filename).suffix.lower().lstrip(".")
    if file_format == "xlsx":
        if not content.startswith(b"PK"):
            raise InvalidInput.field("content_base64", "not an XLSX workbook (an XLSX file is a zip archive)")
        import io

        return read_xlsx(io.BytesIO(content), command.sheet)
    if file_format == "csv":
        if b"\x00" in content[:4096] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InvalidInput.field("content_base64", "not a CSV text file (it has binary bytes)")
        return read_csv(content)
    raise InvalidInput.field("format", "say csv or xlsx (the file name does not tell)")


def _issue_views(issues: tuple[bulk.Issue, ...] | list[bulk.Issue]) -> list[b.ImportIssueView]:
    return [b.ImportIssueView(row=i.row, column=i.column, code=i.code.value, message=i.message)
            for i in list(issues)[:MAX_REPORTED_ISSUES]]


def _refused(error: Exception) -> ServiceError:
    mapped = error if isinstance(error, ServiceError) else to_service_error(error)
    if mapped is None:
        raise error
    return mapped


def require_cycle(command: b.ImportFile) -> None:
    if command.kind == "goals" and command.cycle_id is None:
        raise InvalidInput.field("cycle_id", "goals are imported into a cycle: name it")


def import_file(uow: GoalsUnitOfWork, actor: Actor | None, command: b.ImportFile) -> b.ImportReport:
    content = check_content(command)
    require_cycle(command)
    return run_import(uow, actor, command, content)


def run_import(uow: GoalsUnitOfWork, actor: Actor | None, command: b.ImportFile, content: bytes,
               progress: Progress | None = None,
               on_applied: Callable[[b.ImportReport], None] | None = None) -> b.ImportReport:
    """Check and (unless a dry run or any row is refused) apply the file in ONE transaction. `on_applied` runs in
    that transaction before it commits (a job marks itself done there: done and written commit together)."""
    rows = _rows(command, content)
    progress = progress or Progress()
    try:
        with uow:
            if command.kind == "goals":
                plan, refused = _import_goals(uow, actor, command, rows, progress)
            else:
                plan, refused = _import_library(uow, actor, command, rows, progress)
            errors = sorted([*plan.errors, *refused], key=lambda issue: issue.row)
            report = b.ImportReport(
                kind=command.kind, dry_run=command.dry_run, applied=not command.dry_run and not errors,
                rows=plan.rows, planned=len(plan.items), error_count=len(errors), errors=_issue_views(errors),
                warnings=_issue_views(plan.warnings), progress=progress.checked)
            if not report.applied:
                raise _NothingWritten
            if on_applied is not None:
                on_applied(report)
            return report
    except _NothingWritten:
        return report
    except UnreadableFile as error:
        raise InvalidInput.field("content_base64" if error.field == "file" else error.field, error.message) from None


def _import_goals(uow: GoalsUnitOfWork, actor: Actor | None, command: b.ImportFile, rows: Iterator[Row],
                  progress: Progress) -> tuple[bulk.Plan, list[bulk.Issue]]:
    cycle = load_cycle(uow, command.cycle_id or "", field="cycle_id")
    index = uow.access.index
    people = {person_id: entry.org_unit_id for person_id, entry in index.people.items()}
    existing = uow.session.scalars(select(m.Goal.id).where(m.Goal.cycle_id == cycle.id)).all()
    weights = dict(uow.session.execute(
        select(m.Goal.responsible_id, func.sum(m.Goal.weight))
        .where(m.Goal.cycle_id == cycle.id, m.Goal.owner_kind == "person").group_by(m.Goal.responsible_id)).all())
    plan = bulk.plan_goals(rows, people=people, units=index.units.keys(), existing_goals=existing,
                           weights_so_far={k: Decimal(v) for k, v in weights.items()}, progress=progress.check,
                           progress_every=PROGRESS_EVERY)
    refused: list[bulk.Issue] = []
    if plan.errors:
        return plan, refused
    created: dict[str, str] = {}  # ref → new goal id
    for done, draft in enumerate(plan.items, start=1):
        progress.apply(done)
        if draft.parent_ref is not None and draft.parent_ref not in created:
            refused.append(bulk.Issue(draft.row, "parent", bulk.IssueCode.UNKNOWN_PARENT,
                                      f"goal {draft.parent_ref!r} was refused"))
            continue
        try:
            view = add_goal(uow, actor, _create_goal(cycle.id, draft, created))
        except (ServiceError, DomainError, ValidationError) as error:
            refused.append(_goal_refusal(draft.row, error))
            continue
        created[draft.ref] = view.id
    return plan, refused


def _create_goal(cycle_id: str, draft: bulk.GoalDraft, created: dict[str, str]) -> c.CreateGoal:
    owner = {"kind": "org_unit", "id": draft.org_unit_id} if draft.org_unit_id else {"kind": "person",
                                                                                      "id": draft.owner_id}
    return c.CreateGoal.model_validate({
        "cycle_id": cycle_id, "title": draft.title, "description": draft.description, "kind": draft.kind,
        "owner": owner, "responsible_id": draft.owner_id if draft.org_unit_id else None, "weight": draft.weight,
        "parent_id": created[draft.parent_ref] if draft.parent_ref else draft.parent_id, "kpi": draft.kpi,
        "key_results": [{"title": kr.title, "start": kr.start, "target": kr.target, "unit": kr.measure,
                         "weight": kr.weight} for kr in draft.key_results]})


def _goal_refusal(row: int, error: Exception) -> bulk.Issue:
    if isinstance(error, ValidationError):
        problems = pydantic_errors(error)
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        field = str(problems[0]["field"]) if problems else ""
    else:
        mapped = _refused(error)
        field = str(mapped.errors[0].get("field", "")) if mapped.errors else ""
        message = mapped.detail
    column = _GOAL_COLUMN.get(field.split(".")[0])
    return bulk.Issue(row, column, bulk.IssueCode.REJECTED, message)


def _import_library(uow: GoalsUnitOfWork, actor: Actor | None, command: b.ImportFile, rows: Iterator[Row],
                    progress: Progress) -> tuple[bulk.Plan, list[bulk.Issue]]:
    require(uow, actor, "company.manage")
    if command.kind == "indicators":
        plan = bulk.plan_indicators(rows, progress.check)
    else:
        plan = bulk.plan_templates(rows, uow.library.indicators().keys(), progress.check)
    refused: list[bulk.Issue] = []
    if plan.errors:
        return plan, refused
    for done, item in enumerate(plan.items, start=1):
        progress.apply(done)
        try:
            if command.kind == "indicators":
                data = c.SaveIndicator.model_validate(item.payload).model_dump(exclude={"expected_version"})
                _save_indicator(uow, actor, data, None)
            else:
                data = c.SaveTemplate.model_validate(item.payload).model_dump(exclude={"expected_version"})
                _save_template(uow, data, None)
            uow.session.flush()
        except (ServiceError, DomainError, ValidationError) as error:
            refused.append(_library_refusal(item.row, error))
    return plan, refused


def _library_refusal(row: int, error: Exception) -> bulk.Issue:
    if isinstance(error, ValidationError):
        problems: list[dict[str, Any]] = pydantic_errors(error)
        return bulk.Issue(row, str(problems[0]["field"]) if problems else None, bulk.IssueCode.REJECTED,
                          "; ".join(f"{p['field']}: {p['message']}" for p in problems))
    mapped = _refused(error)
    column = str(mapped.errors[0].get("field")) if mapped.errors else None
    return bulk.Issue(row, column, bulk.IssueCode.REJECTED, mapped.detail)
