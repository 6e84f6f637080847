"""Repositories: how compliance's use cases load and store (SQLAlchemy 2 on the unit of work's session; `lock=True`
takes the row lock a read-modify-write needs). One repository per aggregate, built by `ComplianceUnitOfWork.open`;
the audit writer, which runs its own short transactions outside any unit of work, gets an `AuditLog` from
`audit_transaction` / `audit_session`. Use cases write no queries of their own.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import InstrumentedAttribute, Session

from chassis.access import AccessUnitOfWork, apply_org_event, apply_person_snapshots
from chassis.access.snapshot import read_snapshot
from compliance import models as m
from contracts.base import Event
from contracts.compliance import AuditQuery
from contracts.envelope import Envelope
from contracts.org import OrgSnapshotPage, OrgSnapshotQuery, PersonChanged

RowT = TypeVar("RowT", bound=m.Base)
CHUNK = 5000  # ids per IN list
HEAD_ID = 1  # the audit log's one head row
SETTINGS_ID = 1  # the one row of the company's compliance policy


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


class Repository(Generic[RowT]):
    """Rows of one model by primary key."""

    model: type[RowT]

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: Any, *, lock: bool = False) -> RowT | None:
        return self.session.get(self.model, key, with_for_update=lock)

    def add(self, row: RowT) -> None:
        self.session.add(row)

    def delete(self, row: RowT) -> None:
        self.session.delete(row)


class ClosedRecords(Repository[RowT]):
    """Rows that close (`closed_at`) and are purged by id once retention says so."""

    key: ClassVar[InstrumentedAttribute[str]]
    closed_at: ClassVar[InstrumentedAttribute[datetime | None]]

    # read through the class: on an instance, a mapped attribute is a descriptor of rows, not the column
    def closed(self) -> list[RowT]:
        return list(self.session.scalars(select(self.model).where(type(self).closed_at.is_not(None))))

    def purge(self, ids: Sequence[str]) -> None:
        for chunk in _chunks(ids):
            self.session.execute(delete(self.model).where(type(self).key.in_(list(chunk))))


# -- the directory ---------------------------------------------------------------------------------------------

class OrgUnits(Repository[m.OrgUnitRow]):
    model = m.OrgUnitRow

    def live(self, unit_id: str | None) -> m.OrgUnitRow | None:
        """The unit unless it is missing or removed."""
        row = None if unit_id is None else self.get(unit_id)
        return None if row is None or row.removed else row

    def first_child(self, unit_id: str) -> str | None:
        return self.session.scalar(select(m.OrgUnitRow.org_unit_id).where(
            m.OrgUnitRow.parent_id == unit_id, m.OrgUnitRow.removed.is_(False)).limit(1))

    def all_live(self) -> list[m.OrgUnitRow]:
        return list(self.session.scalars(select(m.OrgUnitRow).where(m.OrgUnitRow.removed.is_(False))))


class People(Repository[m.PersonRow]):
    model = m.PersonRow

    def first_member(self, unit_id: str) -> str | None:
        """Someone still working in the unit (not erased, not terminated)."""
        return self.session.scalar(select(m.PersonRow.person_id).where(
            m.PersonRow.org_unit_id == unit_id, m.PersonRow.erased.is_(False),
            m.PersonRow.status != "terminated").limit(1))

    def with_email(self, email: str) -> str | None:
        return self.session.scalar(select(m.PersonRow.person_id).where(m.PersonRow.email == email))

    def page(self, units: Sequence[str] | None, after: str | None, limit: int) -> list[m.PersonRow]:
        """Up to `limit` people not erased, by id after `after`, in `units` when given."""
        query = select(m.PersonRow).where(m.PersonRow.erased.is_(False)).order_by(m.PersonRow.person_id)
        if units is not None:
            query = query.where(m.PersonRow.org_unit_id.in_(list(units)))
        if after is not None:
            query = query.where(m.PersonRow.person_id > after)
        return list(self.session.scalars(query.limit(limit)))

    def all_live(self) -> list[m.PersonRow]:
        return list(self.session.scalars(select(m.PersonRow).where(m.PersonRow.erased.is_(False))))

    def ended(self) -> list[m.PersonRow]:
        """People whose employment ended and who are not erased yet (retention)."""
        return list(self.session.scalars(select(m.PersonRow).where(m.PersonRow.erased.is_(False),
                                                                   m.PersonRow.ended_at.is_not(None))))

    def stored_versions(self, person_ids: Sequence[str] | None) -> dict[str, Row[Any]]:
        """person id -> (person_id, version, ended_at, created_at, hired_on); everyone when `person_ids` is None."""
        columns = select(m.PersonRow.person_id, m.PersonRow.version, m.PersonRow.ended_at, m.PersonRow.created_at,
                         m.PersonRow.hired_on)
        if person_ids is not None:
            columns = columns.where(m.PersonRow.person_id.in_(list(person_ids)))
        return {row.person_id: row for row in self.session.execute(columns)}

    def upsert(self, values: list[dict[str, Any]]) -> None:
        """Insert or replace whole records (an import), in chunks."""
        if not values:
            return
        dialect = self.session.connection().dialect.name
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(m.PersonRow.__table__)
        names = [name for name in values[0] if name not in ("person_id", "created_at")]
        stmt = stmt.on_conflict_do_update(index_elements=["person_id"],
                                          set_={name: stmt.excluded[name] for name in names})
        for chunk in _chunks(values):
            self.session.execute(stmt, list(chunk))


class Grants(Repository[m.GrantsRow]):
    model = m.GrantsRow


class OrgReadModel:
    """Compliance's own org read model (the chassis tables), kept in the directory's transactions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def apply(self, envelope: Envelope) -> None:
        apply_org_event(self.session, envelope)

    def apply_people(self, people: list[PersonChanged]) -> None:
        apply_person_snapshots(self.session, people)

    def snapshot(self, query: OrgSnapshotQuery) -> OrgSnapshotPage:
        return read_snapshot(self.session, query)


# -- appeals, data-subject requests, holds ---------------------------------------------------------------------

class Appeals(ClosedRecords[m.AppealRow]):
    model = m.AppealRow
    key = m.AppealRow.appeal_id
    closed_at = m.AppealRow.closed_at

    def open_for(self, appellant: str, target_ref: str) -> list[m.AppealRow]:
        return list(self.session.scalars(select(m.AppealRow).where(
            m.AppealRow.appellant == appellant, m.AppealRow.target_ref == target_ref,
            m.AppealRow.state.in_(["submitted", "under_review"]))))

    def scan(self, state: str | None, after: str | None) -> Iterator[m.AppealRow]:
        """Every appeal by id after `after` (in `state`), streamed: the caller filters by access and stops."""
        query = select(m.AppealRow).order_by(m.AppealRow.appeal_id)
        if state is not None:
            query = query.where(m.AppealRow.state == state)
        if after is not None:
            query = query.where(m.AppealRow.appeal_id > after)
        yield from self.session.scalars(query.execution_options(yield_per=500))

    def overdue(self, states: Sequence[str], now: datetime, limit: int) -> list[m.AppealRow]:
        """Open appeals past their deadline nobody was told of yet, locked (other replicas skip them)."""
        return list(self.session.scalars(select(m.AppealRow).where(
            m.AppealRow.state.in_(list(states)), m.AppealRow.due_at < now,
            m.AppealRow.overdue_notified_at.is_(None)).order_by(m.AppealRow.due_at, m.AppealRow.appeal_id)
            .limit(limit).with_for_update(skip_locked=True)))

    def of_appellant(self, appellant: str) -> list[m.AppealRow]:
        return list(self.session.scalars(select(m.AppealRow).where(m.AppealRow.appellant == appellant)))


class DsrRequests(ClosedRecords[m.DsrRow]):
    model = m.DsrRow
    key = m.DsrRow.request_id
    closed_at = m.DsrRow.closed_at

    def of_subject(self, subject: str) -> list[m.DsrRow]:
        return list(self.session.scalars(select(m.DsrRow).where(m.DsrRow.subject == subject)))

    def collecting(self, state: str) -> list[m.DsrRow]:
        """Requests in `state`, oldest first, locked (other replicas skip them)."""
        return list(self.session.scalars(select(m.DsrRow).where(m.DsrRow.state == state)
                                         .order_by(m.DsrRow.requested_at).with_for_update(skip_locked=True)))


class Holds(Repository[m.LegalHoldRow]):
    model = m.LegalHoldRow

    def unreleased(self) -> list[m.LegalHoldRow]:
        return list(self.session.scalars(select(m.LegalHoldRow).where(m.LegalHoldRow.released_at.is_(None))))

    def all(self) -> list[m.LegalHoldRow]:
        return list(self.session.scalars(select(m.LegalHoldRow).order_by(m.LegalHoldRow.placed_at)))


# -- imports, clients, the compliance policy -------------------------------------------------------------------

class ImportJobs(Repository[m.ImportJobRow]):
    model = m.ImportJobRow

    def detach(self, job: m.ImportJobRow) -> None:
        """Keep the job's loaded columns readable after its session is gone."""
        self.session.expunge(job)

    def report_progress(self, job_id: str, rows_read: int, progress: float) -> None:
        self.session.execute(update(m.ImportJobRow).where(m.ImportJobRow.job_id == job_id).values(
            rows_read=rows_read, progress=progress))


class Clients(Repository[m.ClientRow]):
    model = m.ClientRow

    def by_name(self) -> list[m.ClientRow]:
        return list(self.session.scalars(select(m.ClientRow).order_by(m.ClientRow.name)))

    def lapse_unannounced(self, today: date) -> list[m.ClientRow]:
        """Active clients whose agreement ended before `today` and whose lapse is not announced yet, locked (a
        concurrent sweep skips them: each lapse is announced once)."""
        row = m.ClientRow
        announced = row.dpa_lapse_announced_for
        return list(self.session.scalars(
            select(row).where(row.status == "active", row.dpa_expires < today,
                              announced.is_(None) | (announced != row.dpa_expires))
            .order_by(row.client_id).with_for_update(skip_locked=True)))


class ApiKeys(Repository[m.ApiKeyRow]):
    model = m.ApiKeyRow

    def live_ids(self, client_id: str) -> list[str]:
        return list(self.session.scalars(select(m.ApiKeyRow.key_id).where(m.ApiKeyRow.client_id == client_id,
                                                                          m.ApiKeyRow.revoked_at.is_(None))))


class PolicyRows(Repository[m.SettingsRow]):
    """The one row holding the company's compliance policy (and the day of the last retention sweep)."""

    model = m.SettingsRow

    def row(self, *, lock: bool = False) -> m.SettingsRow | None:
        return self.get(SETTINGS_ID, lock=lock)


# -- the audit log ---------------------------------------------------------------------------------------------

def _time_text(column: Any, dialect: str) -> Any:
    """The canonical time text (canonical.utc_text) computed by the database (SQLite: formatted in Python)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return column


class AuditLog:
    """The staged events, the hash chain's entries and head, checkpoints and dead letters."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # staging and sealing
    def stage(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(m.AuditStagedRow), rows)

    def head(self, *, lock: bool = False) -> m.AuditHeadRow:
        head = self.session.get(m.AuditHeadRow, HEAD_ID, with_for_update=lock)
        if head is None:  # the migration creates it; without it nothing can be sealed or verified
            raise LookupError("the audit log has no head row (migrations not applied?)")
        return head

    def head_position(self) -> Row[Any] | None:
        """(sequence, hash) of the head, without locking or loading the row."""
        return self.session.execute(select(m.AuditHeadRow.sequence, m.AuditHeadRow.hash)
                                    .where(m.AuditHeadRow.id == HEAD_ID)).first()

    def staged_ids(self, limit: int) -> list[int]:
        return list(self.session.scalars(select(m.AuditStagedRow.id).order_by(m.AuditStagedRow.id).limit(limit)))

    def staged(self, limit: int, only: int | None = None) -> Sequence[Row[Any]]:
        """(id, envelope) of the oldest staged events, or of the one `only`."""
        query = select(m.AuditStagedRow.id, m.AuditStagedRow.envelope).order_by(m.AuditStagedRow.id).limit(limit)
        if only is not None:
            query = query.where(m.AuditStagedRow.id == only)
        return self.session.execute(query).all()

    def staged_row(self, staged_id: int, *, lock: bool = False) -> m.AuditStagedRow | None:
        return self.session.get(m.AuditStagedRow, staged_id, with_for_update=lock)

    def add(self, row: m.AuditStagedRow | m.AuditDeadLetterRow) -> None:
        self.session.add(row)

    def remove(self, row: m.AuditStagedRow) -> None:
        self.session.delete(row)

    def recorded(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these events are in the chain already."""
        return set(self.session.scalars(select(m.AuditEntryRow.event_id)
                                        .where(m.AuditEntryRow.event_id.in_(list(event_ids)))))

    def append(self, entries: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> None:
        if entries:
            self.session.execute(insert(m.AuditEntryRow), entries)
        if checkpoints:
            self.session.execute(insert(m.AuditCheckpointRow), checkpoints)

    def unstage(self, staged_ids: Sequence[int]) -> None:
        """Exactly these rows: a row with a lower id may have committed since they were read (ids are taken at
        insert, commits come in any order), and a range delete would drop it unsealed."""
        for chunk in _chunks(staged_ids):
            self.session.execute(delete(m.AuditStagedRow).where(m.AuditStagedRow.id.in_(list(chunk))))

    # checkpoints and lag
    def newest_checkpoint(self, *, witnessed: bool = False) -> int | None:
        query = select(func.max(m.AuditCheckpointRow.sequence))
        if witnessed:
            query = query.where(m.AuditCheckpointRow.witnessed_at.is_not(None))
        return self.session.scalar(query)

    def newest_witnessed(self) -> Row[Any] | None:
        """(sequence, witnessed_at) of the newest witnessed checkpoint."""
        return self.session.execute(select(m.AuditCheckpointRow.sequence, m.AuditCheckpointRow.witnessed_at)
                                    .where(m.AuditCheckpointRow.witnessed_at.is_not(None))
                                    .order_by(m.AuditCheckpointRow.sequence.desc()).limit(1)).first()

    def staged_backlog(self) -> tuple[int, datetime | None]:
        """(how many staged events, when the oldest was staged)."""
        count, oldest = self.session.execute(select(func.count(), func.min(m.AuditStagedRow.staged_at))).one()
        return int(count), oldest

    def dead_letter_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(m.AuditDeadLetterRow)) or 0)

    def checkpoints_after(self, sequence: int) -> list[m.AuditCheckpointRow]:
        return list(self.session.scalars(select(m.AuditCheckpointRow)
                                         .where(m.AuditCheckpointRow.sequence > sequence)))

    # reading
    def entry(self, sequence: int) -> m.AuditEntryRow | None:
        return self.session.get(m.AuditEntryRow, sequence)

    def entries(self, command: AuditQuery, limit: int) -> list[m.AuditEntryRow]:
        """Entries matching the query's filters, by sequence after `command.after`, up to `limit`."""
        e = m.AuditEntryRow
        query: Select[tuple[m.AuditEntryRow]] = select(e).order_by(e.sequence)
        conditions: list[ColumnElement[bool]] = []
        if command.subject is not None:
            conditions.append(e.subject == command.subject)
        if command.actor is not None:
            conditions.append(e.actor == command.actor)
        if command.type is not None:
            if command.type.endswith("*"):
                prefix = command.type[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(e.type.like(prefix + "%", escape="\\"))
            else:
                conditions.append(e.type == command.type)
        if command.since is not None:
            conditions.append(e.time >= command.since)
        if command.until is not None:
            conditions.append(e.time < command.until)
        if command.after is not None:
            conditions.append(e.sequence > command.after)
        return list(self.session.scalars(query.where(*conditions).limit(limit)))

    def stored_entries(self, after: int, batch: int) -> Iterator[Sequence[Sequence[Any]]]:
        """Every entry after `after` as plain columns (sequence, event_id, type, source, actor, subject, time as
        canonical text, data, before, after, prev_hash, hash), in partitions of `batch`: Core, not ORM, since a
        million rows need no ORM row processing."""
        e = m.AuditEntryRow
        dialect = self.session.get_bind().dialect.name
        result = self.session.connection().execute(
            select(e.sequence, e.event_id, e.type, e.source, e.actor, e.subject, _time_text(e.time, dialect),
                   e.data, e.before, e.after, e.prev_hash, e.hash)
            .where(e.sequence > after).order_by(e.sequence).execution_options(yield_per=batch))
        try:
            yield from result.partitions()
        finally:
            result.close()

    # retention of the log itself
    def first_sequence_since(self, before: datetime) -> int | None:
        return self.session.scalar(select(func.min(m.AuditEntryRow.sequence)).where(m.AuditEntryRow.time >= before))

    def purge_through(self, last: int) -> list[int]:
        """Delete the entries and checkpoints up to `last`; the purged entries' sequences."""
        purged = list(self.session.scalars(select(m.AuditEntryRow.sequence)
                                           .where(m.AuditEntryRow.sequence <= last)))
        self.session.execute(delete(m.AuditEntryRow).where(m.AuditEntryRow.sequence <= last))
        self.session.execute(delete(m.AuditCheckpointRow).where(m.AuditCheckpointRow.sequence <= last))
        return purged

    def move_anchor(self, values: dict[str, Any]) -> None:
        self.session.execute(update(m.AuditHeadRow).where(m.AuditHeadRow.id == HEAD_ID).values(**values))


@contextmanager
def audit_transaction(engine: Engine) -> Iterator[AuditLog]:
    """The audit writer's own short transaction (it runs beside the workers, outside any unit of work)."""
    with Session(engine) as session, session.begin():
        yield AuditLog(session)


@contextmanager
def audit_session(engine: Engine) -> Iterator[AuditLog]:
    """A read-only look at the audit log (metrics, readiness, the witness's head): nothing is kept open."""
    with Session(engine) as session:
        try:
            yield AuditLog(session)
        finally:
            session.rollback()


@contextmanager
def directory_session(engine: Engine, *, write: bool = False) -> Iterator[tuple[ImportJobs, People, OrgUnits]]:
    """A short session of its own for an import's planning, which runs outside any unit of work (a plan takes
    long, and on SQLite the pool holds ONE connection: never open it inside a unit of work). `write=True`
    commits; otherwise nothing is kept open or written."""
    with Session(engine) as session:
        if write:
            with session.begin():
                yield ImportJobs(session), People(session), OrgUnits(session)
            return
        try:
            yield ImportJobs(session), People(session), OrgUnits(session)
        finally:
            session.rollback()


# -- the unit of work ------------------------------------------------------------------------------------------

class ComplianceUnitOfWork(AccessUnitOfWork):
    """Compliance's unit of work and its repositories. The org read model lives in the same database, so `access`
    decides here exactly as in every other service."""

    def open(self, session: Session) -> None:
        super().open(session)
        self.units = OrgUnits(session)
        self.people = People(session)
        self.grants = Grants(session)
        self.org = OrgReadModel(session)
        self.appeals = Appeals(session)
        self.dsr = DsrRequests(session)
        self.holds = Holds(session)
        self.imports = ImportJobs(session)
        self.clients = Clients(session)
        self.api_keys = ApiKeys(session)
        self.policy = PolicyRows(session)
        self.audit = AuditLog(session)

    def flush(self) -> None:
        """Write pending changes now (a version number an event carries must be the stored one)."""
        if self.session is None:
            raise RuntimeError("flush() outside `with uow:`")
        self.session.flush()

    def publish_org(self, *events: Event) -> None:
        """Publish directory events and apply them to compliance's own read model in the same transaction."""
        for envelope in self.publish(*events):
            self.org.apply(envelope)
