"""Import jobs: a CSV/XLSX import of goals, indicators or templates that the caller polls instead of waiting on.

`start_import` checks what it can at once (the file's bytes and format, the cycle, the library's right), stores
the file with who asked, and publishes `ImportRequested` to goals itself in the same transaction (the outbox): the
RPC answers at once (202). Goals' own handler then runs the import (bulk_import.run_import) with the requester's
rights, counting rows and reporting progress on the job row in short transactions of their own (PostgreSQL).

Never half-applied: the import is one transaction, and the job is marked done inside it when it writes anything,
so the goals and the `done` commit together. A process killed half way commits nothing; the request, unacked, is
redelivered and the job runs again from the start, at most MAX_ATTEMPTS times, then fails with nothing written.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from chassis.db import is_sqlite, utcnow
from chassis.errors import NotFound, ServiceError, Unauthenticated
from chassis.ids import new_id
from chassis.tabular import UnreadableFile, read_csv, read_xlsx
from contracts import bulk as b
from contracts.actor import Actor
from contracts.envelope import Envelope
from goals import models as m
from goals.access import can, require
from goals.repositories import GoalsUnitOfWork
from goals.usecases import bulk_import
from goals.usecases.common import load_cycle

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # runs started (a killed process's included) before a job is failed


def job_view(row: m.ImportJob) -> b.GoalImportJob:
    return b.GoalImportJob(
        job_id=row.id, kind=row.kind, cycle_id=row.cycle_id, filename=row.filename, dry_run=row.dry_run,
        requested_by=row.requested_by, state=row.state, phase=row.phase, rows_total=row.rows_total,
        rows_done=row.rows_done, attempts=row.attempts, detail=row.detail,
        report=None if row.report is None else b.ImportReport.model_validate(row.report))


def _command(row: m.ImportJob) -> b.ImportFile:
    """The job's import as the synchronous RPC takes it (the bytes travel beside it, not as base64)."""
    return b.ImportFile(kind=row.kind, cycle_id=row.cycle_id, filename=row.filename, format=row.format,
                        sheet=row.sheet, dry_run=row.dry_run, content_base64="-")


def _format(command: b.ImportFile) -> str:
    return command.format or ("xlsx" if command.filename.lower().endswith(".xlsx") else "csv")


def start_goal_import(uow: GoalsUnitOfWork, actor: Actor | None, command: b.ImportFile) -> b.GoalImportJob:
    content = bulk_import.check_content(command)
    bulk_import.require_cycle(command)
    with uow:
        if actor is None:
            raise Unauthenticated("an import runs with the rights of who asked: sign in")
        if command.kind == "goals":
            load_cycle(uow, command.cycle_id or "", field="cycle_id")  # each row's owner is checked by the job
        else:
            require(uow, actor, "company.manage")  # the library is the company's
        now = uow.now()
        row = m.ImportJob(id=new_id(), kind=command.kind, cycle_id=command.cycle_id, filename=command.filename,
                          format=_format(command), sheet=command.sheet, dry_run=command.dry_run, content=content,
                          actor=actor.model_dump(mode="json"), requested_by=actor.subject, state="queued",
                          phase="waiting", rows_total=None, rows_done=0, attempts=0, detail=None, report=None,
                          created_at=now, updated_at=now)
        uow.session.add(row)
        uow.publish(b.ImportRequested(job_id=row.id))
        return job_view(row)


def get_goal_import(uow: GoalsUnitOfWork, actor: Actor | None, ref: b.GoalImportJobRef) -> b.GoalImportJob:
    """The requester's job; company managers see every job. Anyone else: the 404 of a missing job."""
    with uow:
        row = uow.session.get(m.ImportJob, ref.job_id)
        mine = actor is not None and row is not None and actor.subject == row.requested_by
        if row is None or not (mine or can(uow, actor, "company.manage")):
            raise NotFound(f"no import job {ref.job_id!r}", errors=[{"field": "job_id", "message": "no such job"}])
        return job_view(row)


# -- the handler's work ----------------------------------------------------------------------------------------

def count_rows(file_format: str, content: bytes, sheet: str | None) -> int:
    """Non-blank rows after the header: the total a job's progress counts up to."""
    try:
        rows = read_xlsx(io.BytesIO(content), sheet) if file_format == "xlsx" else read_csv(content)
        filled = sum(1 for _, cells in rows if any(str(c).strip() for c in cells if c is not None))
    except UnreadableFile:
        return 0  # the import itself says why
    return max(0, filled - 1)


@lru_cache(maxsize=8)
def _side_engine(url: str) -> Engine:
    """A connection outside the pool for progress writes while the import's transaction holds a pooled one (the
    pool is sized to the workers: waiting for a second pooled connection could wait for ourselves)."""
    return create_engine(url, poolclass=NullPool)


def _write(engine: Engine, job_id: str, **values: Any) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(m.ImportJob).where(m.ImportJob.id == job_id).values(updated_at=utcnow(), **values))


def _progress(engine: Engine, job_id: str) -> Callable[[str, int], None] | None:
    if is_sqlite(str(engine.url)):
        return None  # one connection: progress would wait for the import's own transaction; the end is reported

    side = _side_engine(engine.url.render_as_string(hide_password=False))

    def report(phase: str, done: int) -> None:
        try:
            _write(side, job_id, phase=phase, rows_done=done)
        except Exception:  # progress is a courtesy: never the reason an import fails
            log.warning("import %s: progress not recorded", job_id, exc_info=True)
    return report


def _claim(engine: Engine, job_id: str) -> tuple[b.ImportFile, bytes, Actor] | None:
    """Start a run in a short transaction of its own: count it, fail the job after MAX_ATTEMPTS, count the rows."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(m.ImportJob, job_id, with_for_update=True)
        if row is None or row.state in ("done", "failed"):
            return None  # finished already: a redelivered request changes nothing
        row.attempts += 1
        row.updated_at = utcnow()
        if row.attempts > MAX_ATTEMPTS:
            row.state, row.phase, row.content = "failed", "finished", b""
            row.detail = (f"the import stopped {MAX_ATTEMPTS} times before finishing (the service was restarted "
                          "or killed); nothing was written: import the file again")
            return None
        row.state, row.phase, row.rows_done = "running", "checking", 0
        row.rows_total = count_rows(row.format, row.content, row.sheet)
        return _command(row), row.content, Actor.model_validate(row.actor)


def run_job(uow: GoalsUnitOfWork, event: Envelope) -> None:
    job_id = b.ImportRequested.model_validate(event.data).job_id
    engine = uow.store.engine
    claimed = _claim(engine, job_id)
    if claimed is None:
        return
    command, content, actor = claimed
    uow.actor = actor  # the events the import publishes name who asked for it

    def applied(report: b.ImportReport) -> None:  # inside the import's transaction: done commits with the goals
        uow.session.execute(update(m.ImportJob).where(m.ImportJob.id == job_id).values(
            state="done", phase="finished", rows_done=report.rows, report=report.model_dump(mode="json"),
            content=b"", updated_at=uow.now()))

    try:
        report = bulk_import.run_import(uow, actor, command, content, bulk_import.Progress(_progress(engine, job_id)),
                                        on_applied=applied)
    except ServiceError as error:  # an unreadable row deep in the file, a cycle gone meanwhile: nothing written
        detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.errors) or error.detail
        _write(engine, job_id, state="failed", phase="finished", detail=detail, content=b"")
        return
    if not report.applied:  # a dry run, or refused rows: rolled back, reported
        _write(engine, job_id, state="done", phase="finished", rows_done=report.rows,
               report=report.model_dump(mode="json"), content=b"")
