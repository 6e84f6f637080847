"""The audit log: every event of every service, staged by the consumer and sealed into the hash chain by one
writer (the head row is locked while sealing), with signed checkpoints; query, export and verification.

Why staging: sealing needs the head row locked, so sealing in the handlers would serialize them all on that lock.
The (batching) handlers only insert envelopes, concurrently, deduplicated by the inbox; the sealer seals
thousands per transaction.
"""
from __future__ import annotations

import json
from datetime import datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any

import eventlet
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from chassis.access import Resource
from chassis.errors import InvalidInput
from compliance.domain import audit_chain
from compliance.domain.audit_chain import AuditChain, AuditEvent, ChainHead, ChainVerifier, Checkpoint
from compliance.domain.canonical import encode_normalised, utc_text
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.models import AuditCheckpointRow, AuditEntryRow, AuditHeadRow, AuditStagedRow
from compliance.usecases.common import ComplianceUnitOfWork
from contracts.actor import Actor
from contracts.compliance import (
    AuditEntryView,
    AuditExport,
    AuditPage,
    AuditQuery,
    ChainBreakView,
    VerifyAudit,
    VerifyReportView,
)
from contracts.envelope import Envelope

HEAD_ID = 1
EXPORT_LIMIT = 10_000
VERIFY_BATCH = 5_000


def audit_event(envelope: dict[str, Any]) -> AuditEvent:
    """What the log records of an envelope: before/after when the event carries them, the rest as data."""
    data = dict(envelope.get("data") or {})
    before = data.pop("before", None)
    after = data.pop("after", None)
    actor = envelope.get("actor") or None
    time = envelope["time"]
    return AuditEvent(
        event_id=envelope["id"], type=envelope["type"], source=envelope["source"],
        time=datetime.fromisoformat(time.replace("Z", "+00:00")) if isinstance(time, str) else time,
        actor=actor.get("subject") if isinstance(actor, dict) else None, subject=envelope.get("subject"),
        data=data, before=before if isinstance(before, dict) else None,
        after=after if isinstance(after, dict) else None,
    )


def stage(uow: ComplianceUnitOfWork, envelopes: list[Envelope]) -> None:
    """The consumer's part, a batch at a time: check each event can be sealed, then stage the new ones (one
    transaction with their inbox rows). An event that can never be sealed fails its batch; the chassis then
    handles the batch one by one, so only that event is retried and parked."""
    raws = []
    for envelope in envelopes:
        raw = envelope.model_dump(mode="json", exclude_none=True)
        try:
            audit_chain.seal(audit_chain.GENESIS, audit_event(raw))
        except DomainInvalidInput as error:
            raise InvalidInput(f"event {envelope.id} cannot be recorded: {error.message}") from None
        raws.append((envelope.id, raw))
    with uow:
        fresh = {envelope.id for envelope in uow.fresh(envelopes)}
        rows = [{"envelope": json.dumps(raw, separators=(",", ":"))} for event_id, raw in raws if event_id in fresh]
        if rows:
            uow.session.execute(insert(AuditStagedRow), rows)


# -- the single writer -----------------------------------------------------------------------------------------

def _entry_row(entry: audit_chain.AuditEntry) -> dict[str, Any]:
    return {
        "sequence": entry.sequence, "event_id": entry.event_id, "type": entry.type, "source": entry.source,
        "actor": entry.actor, "subject": entry.subject, "time": entry.time,
        "data": encode_normalised(entry.data).decode("utf-8"),
        "before": None if entry.before is None else encode_normalised(entry.before).decode("utf-8"),
        "after": None if entry.after is None else encode_normalised(entry.after).decode("utf-8"),
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }


def _checkpoint_row(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"sequence": checkpoint.sequence, "hash": checkpoint.hash, "time": checkpoint.time,
            "key_id": checkpoint.key_id, "signature": checkpoint.signature}


def seal_pending(engine, *, key: bytes, key_id: str, checkpoint_every: int, batch: int, now: datetime) -> int:
    """Seal up to `batch` staged events into the chain, in arrival order, in one transaction. Returns how many."""
    with Session(engine) as session, session.begin():
        head = session.get(AuditHeadRow, HEAD_ID, with_for_update=True)  # one writer at a time, any replica
        staged = session.execute(select(AuditStagedRow.id, AuditStagedRow.envelope)
                                 .order_by(AuditStagedRow.id).limit(batch)).all()
        if not staged:
            return 0
        envelopes = [json.loads(row.envelope) for row in staged]
        ids = [envelope["id"] for envelope in envelopes]
        known = set(session.scalars(select(AuditEntryRow.event_id).where(AuditEntryRow.event_id.in_(ids))))
        chain = AuditChain(ChainHead(head.sequence, head.hash), key=key, key_id=key_id,
                           checkpoint_every=checkpoint_every)
        entries, checkpoints = [], []
        for envelope in envelopes:
            if envelope["id"] in known:
                continue  # recorded already (a replayed staging row)
            known.add(envelope["id"])
            entry, checkpoint = chain.append(audit_event(envelope), now=now)
            entries.append(_entry_row(entry))
            if checkpoint is not None:
                checkpoints.append(_checkpoint_row(checkpoint))
        if entries:
            session.execute(insert(AuditEntryRow), entries)
        if checkpoints:
            session.execute(insert(AuditCheckpointRow), checkpoints)
        # exactly the rows sealed: a row with a lower id may have committed since the select (ids are taken at
        # insert, commits come in any order), and a range delete would drop it unsealed
        staged_ids = [row.id for row in staged]
        for start in range(0, len(staged_ids), 5000):
            session.execute(delete(AuditStagedRow).where(AuditStagedRow.id.in_(staged_ids[start:start + 5000])))
        head.sequence, head.hash = chain.head.sequence, chain.head.hash
        return len(staged)


def checkpoint_now(engine, *, key: bytes, key_id: str, now: datetime) -> Checkpoint | None:
    """A signed checkpoint at the head, unless the head is already checkpointed (the periodic timer)."""
    with Session(engine) as session, session.begin():
        head = session.get(AuditHeadRow, HEAD_ID, with_for_update=True)
        last = session.scalar(select(func.max(AuditCheckpointRow.sequence)))
        if head.sequence == 0 or (last is not None and last >= head.sequence):
            return None
        checkpoint = audit_chain.sign_checkpoint(ChainHead(head.sequence, head.hash), now, key, key_id)
        session.execute(insert(AuditCheckpointRow), [_checkpoint_row(checkpoint)])
        return checkpoint


# -- reading ---------------------------------------------------------------------------------------------------

def _view(row: AuditEntryRow) -> AuditEntryView:
    return AuditEntryView(
        sequence=row.sequence, event_id=row.event_id, type=row.type, source=row.source, actor=row.actor,
        subject=row.subject, time=row.time, data=json.loads(row.data),
        before=None if row.before is None else json.loads(row.before),
        after=None if row.after is None else json.loads(row.after), prev_hash=row.prev_hash, hash=row.hash,
    )


def _filtered(command: AuditQuery):
    query = select(AuditEntryRow).order_by(AuditEntryRow.sequence)
    if command.subject is not None:
        query = query.where(AuditEntryRow.subject == command.subject)
    if command.actor is not None:
        query = query.where(AuditEntryRow.actor == command.actor)
    if command.type is not None:
        if command.type.endswith("*"):
            prefix = command.type[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEntryRow.type.like(prefix + "%", escape="\\"))
        else:
            query = query.where(AuditEntryRow.type == command.type)
    if command.since is not None:
        query = query.where(AuditEntryRow.time >= command.since)
    if command.until is not None:
        query = query.where(AuditEntryRow.time < command.until)
    if command.after is not None:
        query = query.where(AuditEntryRow.sequence > command.after)
    return query


def _check_window(command: AuditQuery) -> None:
    if command.since is not None and command.until is not None and command.until <= command.since:
        raise InvalidInput.field("until", "must be after since")


def query(uow: ComplianceUnitOfWork, actor: Actor | None, command: AuditQuery) -> AuditPage:
    _check_window(command)
    with uow:
        uow.access.require(actor, "audit.read", Resource("audit", owner=command.subject))
        rows = uow.session.scalars(_filtered(command).limit(command.limit + 1)).all()
        page = rows[:command.limit]
        return AuditPage(entries=[_view(row) for row in page],
                         next_cursor=page[-1].sequence if len(rows) > command.limit else None)


def export(uow: ComplianceUnitOfWork, actor: Actor | None, command: AuditQuery) -> AuditExport:
    """Entries as JSON lines with their hashes, so an auditor can re-verify them outside the system."""
    _check_window(command)
    limit = min(EXPORT_LIMIT, max(command.limit, EXPORT_LIMIT))
    with uow:
        uow.access.require(actor, "audit.read", Resource("audit", owner=command.subject))
        rows = uow.session.scalars(_filtered(command).limit(limit + 1)).all()
        page = rows[:limit]
        lines = [_view(row).model_dump_json() for row in page]
    return AuditExport(content="\n".join(lines), count=len(page),
                       next_cursor=page[-1].sequence if len(rows) > limit else None)


def _json_text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


class StoredEntry:
    """A stored row as the verifier sees it: the canonical body rebuilt from the columns, without parsing the
    JSON columns (they hold canonical JSON, exactly the bytes the body embeds). `time` arrives as the canonical
    text (the database formats it), so a million rows need no datetime objects."""

    __slots__ = ("_body", "hash", "prev_hash", "sequence")

    def __init__(self, sequence, event_id, type_, source, actor, subject, time, data, before, after, prev_hash,
                 hash_):
        self.sequence = sequence
        self.prev_hash = prev_hash
        self.hash = hash_
        self._body = "".join((
            '{"actor":', _json_text(actor),
            "" if after is None else ',"after":' + after,
            "" if before is None else ',"before":' + before,
            ',"data":', data, ',"event_id":', _encode_string(event_id), ',"sequence":', str(sequence),
            ',"source":', _encode_string(source), ',"subject":', _json_text(subject),
            ',"time":"', time if isinstance(time, str) else utc_text(time),
            '","type":', _encode_string(type_), "}",
        )).encode("utf-8")

    def body(self) -> bytes:
        return self._body


def _time_text(column, dialect: str):
    """The canonical time text (canonical.utc_text) computed by the database."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return column  # SQLite: formatted in Python


def verify(uow: ComplianceUnitOfWork, actor: Actor | None, command: VerifyAudit, keys: dict[str, bytes]
           ) -> VerifyReportView:
    """Walk the chain from the retained start (or `from_sequence`) and name the first broken entry."""
    with uow:
        uow.access.require(actor, "audit.verify", Resource("audit"))
        head = uow.session.get(AuditHeadRow, HEAD_ID)
        anchor = ChainHead(head.anchor_sequence, head.anchor_hash)
        if command.from_sequence is not None and command.from_sequence - 1 > anchor.sequence:
            previous = uow.session.get(AuditEntryRow, command.from_sequence - 1)
            if previous is None:
                raise InvalidInput.field("from_sequence", "no such entry")
            anchor = ChainHead(previous.sequence, previous.hash)
        checkpoints = [Checkpoint(row.sequence, row.hash, row.time, row.key_id, row.signature)
                       for row in uow.session.scalars(select(AuditCheckpointRow)
                                                      .where(AuditCheckpointRow.sequence > anchor.sequence))]
        verifier = ChainVerifier(anchor=anchor, checkpoints=checkpoints, keys=keys)
        e = AuditEntryRow
        dialect = uow.session.get_bind().dialect.name
        result = uow.session.connection().execute(  # Core, not ORM: a million rows need no ORM row processing
            select(e.sequence, e.event_id, e.type, e.source, e.actor, e.subject, _time_text(e.time, dialect),
                   e.data, e.before, e.after, e.prev_hash, e.hash)
            .where(e.sequence > anchor.sequence).order_by(e.sequence).execution_options(yield_per=VERIFY_BATCH))
        for rows in result.partitions():
            if verifier.feed([StoredEntry(*row) for row in rows]) is not None:
                break
            eventlet.sleep(0)  # a long walk must not starve the other greenthreads
        result.close()
        report = verifier.finish()
    broken = report.first_break
    return VerifyReportView(
        ok=report.ok, verified=report.verified, head_sequence=report.head.sequence, head_hash=report.head.hash,
        checkpoints_matched=report.checkpoints_matched,
        first_break=None if broken is None else ChainBreakView(sequence=broken.sequence, reason=broken.reason.value,
                                                               detail=broken.detail))


def purge_prefix(session: Session, before: datetime) -> list[int]:
    """Retention of the log itself: drop the oldest entries (time < before) and re-anchor the chain after them."""
    head = session.get(AuditHeadRow, HEAD_ID, with_for_update=True)
    first_kept = session.scalar(select(func.min(AuditEntryRow.sequence)).where(AuditEntryRow.time >= before))
    last = (first_kept - 1) if first_kept is not None else head.sequence
    if last <= head.anchor_sequence:
        return []
    anchor = session.get(AuditEntryRow, last)
    purged = list(session.scalars(select(AuditEntryRow.sequence).where(AuditEntryRow.sequence <= last)))
    session.execute(delete(AuditEntryRow).where(AuditEntryRow.sequence <= last))
    session.execute(delete(AuditCheckpointRow).where(AuditCheckpointRow.sequence <= last))
    session.execute(update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID)
                    .values(anchor_sequence=anchor.sequence, anchor_hash=anchor.hash))
    return purged
