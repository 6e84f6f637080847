"""Bulk import of people from HR's CSV/XLSX exports: a job that plans (dry run, per-row report), then applies
in one transaction. Both phases run in compliance's own event handler (`ImportRequested`), durably and outside
the caller's RPC time limit; the job row carries status and progress for the caller to poll.

Idempotent: re-importing a file changes nothing (every row plans as unchanged); applying an applied job again is
a no-op. An import never half-applies: it is re-planned against the directory inside the applying transaction,
and any error leaves the directory untouched.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import eventlet

from chassis.access import Resource
from chassis.errors import Conflict, InvalidInput, NotFound
from chassis.ids import new_id
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.domain.importing import ChangeKind, ImportIssue, ImportPlan, Row, plan_import, read_csv, read_xlsx
from compliance.domain.org import CareerSequence, OrgUnit, Person, PersonStatus
from compliance.models import ImportJobRow, PersonRow
from compliance.repositories import ComplianceUnitOfWork, OrgUnits, People, directory_session
from compliance.usecases.common import acting, dumps, loads, require_unless_hidden
from contracts.actor import Actor
from contracts.compliance import (
    ImportApplied,
    ImportIssueView,
    ImportJobRef,
    ImportJobView,
    ImportRequested,
    StartImport,
)
from contracts.envelope import Envelope
from contracts.org import PersonChanged

log = logging.getLogger(__name__)

MAX_REPORTED_ISSUES = 1000
PROGRESS_EVERY = 2000  # rows between progress reports (a multiple of YIELD_EVERY)
YIELD_EVERY = 200  # rows between yields to the service's other calls while a file plans


def job_view(row: ImportJobRow) -> ImportJobView:
    return ImportJobView(
        job_id=row.job_id, filename=row.filename, status=row.status, requested_by=row.requested_by,
        rows_read=row.rows_read, progress=row.progress, summary=loads(row.summary, {}),
        errors=[ImportIssueView(**issue) for issue in loads(row.errors, [])], error_count=row.error_count,
        warnings=[ImportIssueView(**issue) for issue in loads(row.warnings, [])], detail=row.detail,
    )


def _content(command: StartImport, upload_dir: Path | None) -> bytes:
    if (command.content_base64 is None) == (command.upload_path is None):
        raise InvalidInput.field("content_base64", "give the file as content_base64 or as upload_path (one of them)")
    if command.content_base64 is not None:
        try:
            content = base64.b64decode(command.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput.field("content_base64", "not valid base64") from None
    else:
        if upload_dir is None:
            raise InvalidInput.field("upload_path", "uploads by path are not configured (COMPLIANCE_UPLOAD_DIR)")
        root = upload_dir.resolve()
        path = (root / (command.upload_path or "")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise InvalidInput.field("upload_path", "no such file in the upload directory")
        content = path.read_bytes()
    if not content:
        raise InvalidInput.field("content_base64", "the file is empty")
    return content


def _format(command: StartImport) -> str:
    if command.format is not None:
        return command.format
    suffix = Path(command.filename).suffix.lower().lstrip(".")
    if suffix not in ("csv", "xlsx"):
        raise InvalidInput.field("format", "say csv or xlsx (the file name does not tell)")
    return suffix


def start_import(uow: ComplianceUnitOfWork, actor: Actor | None, command: StartImport,
                 upload_dir: Path | None) -> ImportJobView:
    file_format = _format(command)
    content = _content(command, upload_dir)
    with uow:
        uow.access.require(actor, "org.import", Resource("org", org_unit=command.within_unit))
        if command.within_unit is not None and uow.units.live(command.within_unit) is None:
            raise InvalidInput.field("within_unit", f"no org unit {command.within_unit!r}")
        now = uow.now()
        row = ImportJobRow(
            job_id=new_id(), filename=command.filename, format=file_format, sheet=command.sheet,
            within_unit=command.within_unit, content=content, content_sha256=hashlib.sha256(content).hexdigest(),
            status="planning", requested_by=acting(uow.actor).subject, rows_read=0, progress=0.0, summary="{}",
            errors="[]", error_count=0, warnings="[]", created_at=now, updated_at=now,
        )
        uow.imports.add(row)
        uow.publish(ImportRequested(job_id=row.job_id, phase="plan"))
        return job_view(row)


def _missing(job_id: str) -> str:
    return f"no import job {job_id!r}"


def get_import(uow: ComplianceUnitOfWork, actor: Actor | None, command: ImportJobRef) -> ImportJobView:
    with uow:
        row = uow.imports.get(command.job_id)
        if row is None:
            raise NotFound(_missing(command.job_id))
        if actor is None or actor.subject != row.requested_by:
            # who may not import there does not learn the job exists
            uow.access.require(actor, "org.import", Resource("org", org_unit=row.within_unit),
                               missing=_missing(row.job_id))
        return job_view(row)


def apply_import(uow: ComplianceUnitOfWork, actor: Actor | None, command: ImportJobRef) -> ImportJobView:
    with uow:
        row = uow.imports.get(command.job_id, lock=True)
        if row is None:
            raise NotFound(_missing(command.job_id))
        # the requester sees their job (get_import) and gets the honest 403; anyone else the 404 of a missing job
        require_unless_hidden(uow, actor, "org.import", Resource("org", org_unit=row.within_unit),
                              missing=_missing(row.job_id), visible=actor is not None and
                              actor.subject == row.requested_by)
        if row.status in ("applying", "applied"):
            return job_view(row)  # asked twice: one application
        if row.status != "planned":
            raise Conflict(f"import {row.job_id} is {row.status}; only a planned import can be applied")
        if row.error_count:
            raise Conflict(f"import {row.job_id} has {row.error_count} errors; fix the file and import it again")
        row.status, row.progress, row.updated_at = "applying", 0.0, uow.now()
        uow.publish(ImportRequested(job_id=row.job_id, phase="apply"))
        return job_view(row)


# -- the handler's work ----------------------------------------------------------------------------------------

def _stored_person(row: PersonRow) -> Person:
    """A directory record as the planner compares it (the columns hold the enums' values)."""
    sequence = row.sequence if row.sequence in set(CareerSequence) else None
    return Person(row.person_id, row.name, row.org_unit_id or "", row.email, row.phone, row.manager_id,
                  row.job_family, row.grade, None if sequence is None else CareerSequence(sequence), row.location,
                  PersonStatus(row.status))


def _directory(people: People, units: OrgUnits) -> tuple[dict[str, Person], list[OrgUnit]]:
    found = {row.person_id: _stored_person(row) for row in people.all_live()}
    return found, [OrgUnit(row.org_unit_id, row.name, row.parent_id) for row in units.all_live()]


def _rows(job: ImportJobRow) -> Iterator[Row]:
    if job.format == "xlsx":
        return read_xlsx(io.BytesIO(job.content), job.sheet)
    return read_csv(job.content)


def _estimated_rows(job: ImportJobRow) -> int:
    if job.format == "csv":
        return max(1, job.content.count(b"\n"))
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(job.content), read_only=True)
        sheet = workbook[job.sheet] if job.sheet in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.max_row or 1
        workbook.close()
        return rows
    except Exception:  # an unreadable workbook is reported by the planner itself
        return 1


def _plan(uow: ComplianceUnitOfWork, job: ImportJobRow) -> ImportPlan:
    people, units = _directory(uow.people, uow.units)
    return plan_import(_rows(job), people=people, units=units, within_unit=job.within_unit,
                       progress_every=PROGRESS_EVERY)


def _issues(issues: Sequence[ImportIssue]) -> list[dict[str, Any]]:
    return [{"row": i.row, "column": i.column, "code": i.code.value, "message": i.message}
            for i in issues[:MAX_REPORTED_ISSUES]]


def run_phase(uow: ComplianceUnitOfWork, event: Envelope) -> None:
    payload = ImportRequested.model_validate(event.data)
    if payload.phase == "plan":
        _run_plan(uow, payload.job_id)
    else:
        _run_apply(uow, payload.job_id)


def _run_plan(uow: ComplianceUnitOfWork, job_id: str) -> None:
    """Plan outside any transaction: read the job and the directory in one short session, plan in memory (yielding
    to the service's other calls every PROGRESS_EVERY rows, each progress report its own short transaction), then
    write the report in the handler's unit of work. Never two sessions at once: on SQLite the pool holds ONE
    connection, and a second session inside the first waited for it until the RPCs timed out (issue 8 item 9)."""
    engine = uow.store.engine
    with directory_session(engine) as (jobs, people_repo, units_repo):
        job = jobs.get(job_id)
        planning = job is not None and job.status == "planning"
        if job is not None and planning:
            people, units = _directory(people_repo, units_repo)
            jobs.detach(job)  # its content and settings stay readable once the session is gone
    plan: ImportPlan | None = None
    failure: DomainInvalidInput | None = None
    if job is not None and planning:
        estimate = _estimated_rows(job)

        def progress(rows_read: int) -> None:  # no other session is open here
            if rows_read % PROGRESS_EVERY == 0:
                with directory_session(engine, write=True) as (progress_jobs, _, _):
                    progress_jobs.report_progress(job_id, rows_read, min(0.99, rows_read / estimate))
            eventlet.sleep(0)  # planning is CPU work: let the other calls run between chunks

        try:
            plan = plan_import(_rows(job), people=people, units=units, within_unit=job.within_unit,
                               progress=progress, progress_every=YIELD_EVERY)
        except DomainInvalidInput as error:  # unreadable file
            failure = error
        except Exception as error:  # the planner (no database in it) met what it did not expect: say so on the job
            log.exception("import %s could not be planned", job_id)
            failure = DomainInvalidInput(f"the file could not be planned ({type(error).__name__}); nothing was "
                                         "changed")
    with uow:  # one unit of work: the result commits with the inbox row
        job = uow.imports.get(job_id, lock=True)
        if not planning or job is None or job.status != "planning":
            return
        job.updated_at = uow.now()
        if failure is not None:
            job.status, job.detail = "failed", failure.message
            job.errors = dumps([{"row": 0, "column": "file", "code": "unreadable", "message": failure.message}])
            job.error_count = 1
            return
        if plan is None:  # planned, or failed: one of the two is set above
            raise RuntimeError(f"import {job_id}: no plan and no failure")
        job.status, job.progress, job.rows_read = "planned", 1.0, plan.rows
        job.summary = dumps(plan.summary())
        job.errors, job.error_count = dumps(_issues(plan.errors)), len(plan.errors)
        job.warnings = dumps(_issues(plan.warnings))


def _run_apply(uow: ComplianceUnitOfWork, job_id: str) -> None:
    with uow:
        job = uow.imports.get(job_id, lock=True)
        if job is None or job.status != "applying":
            return
        plan = _plan(uow, job)
        now = uow.now()
        job.updated_at = now
        if not plan.ok:  # the directory changed since the dry run in a way that breaks this file
            job.status, job.progress = "planned", 1.0
            job.errors, job.error_count = dumps(_issues(plan.errors)), len(plan.errors)
            job.detail = "the directory changed since the dry run; review the new errors"
            return
        changes = [c for c in plan.changes if c.kind != ChangeKind.UNCHANGED]
        # a large file touches most of the directory: one scan beats a huge IN list
        stored = uow.people.stored_versions([c.person.employee_number for c in changes]
                                            if len(changes) < 30_000 else None)
        values: list[dict[str, Any]] = []
        events: list[PersonChanged] = []
        for change in changes:
            person = change.person
            before = stored.get(person.employee_number)
            version = 1 if before is None else before.version + 1
            terminated = person.status == "terminated"
            values.append({
                "person_id": person.employee_number, "version": version, "name": person.name,
                "email": person.email, "phone": person.phone, "org_unit_id": person.org_unit_id or None,
                "manager_id": person.manager_id, "job_family": person.job_family, "grade": person.grade,
                "sequence": None if person.sequence is None else str(person.sequence), "location": person.location,
                "status": str(person.status), "erased": False,
                "created_at": now if before is None else before.created_at, "updated_at": now,
                "ended_at": ((before.ended_at if before is not None else None) or now) if terminated else None,
            })
            events.append(PersonChanged(
                person_id=person.employee_number, version=version, name=person.name,
                org_unit_id=person.org_unit_id, manager_id=person.manager_id, job_family=person.job_family,
                grade=person.grade, sequence=None if person.sequence is None else str(person.sequence),
                location=person.location, status=str(person.status),
                hired_on=None if before is None else before.hired_on))  # files carry no hire date: kept
        if values:
            uow.people.upsert(values)
            uow.publish(*events)
            uow.org.apply_people(events)
        summary = plan.summary()
        uow.publish(ImportApplied(job_id=job_id, created=summary["create"], updated=summary["update"],
                                  unchanged=summary["unchanged"]))
        job.status, job.progress, job.summary, job.detail = "applied", 1.0, dumps(summary), None
