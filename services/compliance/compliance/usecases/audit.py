"""The audit log: every event of every service, staged by the consumer and sealed into the hash chain by one
writer (the head row is locked while sealing), with signed checkpoints; query, export and verification.

Why staging: sealing needs the head row locked, so sealing in the handlers would serialize them all on that lock.
The (batching) handlers only insert envelopes, concurrently, deduplicated by the inbox; the sealer seals
thousands per transaction.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any, Protocol

import eventlet
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from chassis.access import Resource
from chassis.errors import InvalidInput
from chassis.ids import new_id
from chassis.uow import Store
from compliance.domain import audit_chain
from compliance.domain.audit_chain import (
    AuditChain,
    AuditEvent,
    BreakReason,
    ChainBreak,
    ChainHead,
    ChainVerifier,
    Checkpoint,
    WitnessRecord,
    anchor_is_authentic,
    parse_witness,
)
from compliance.domain.canonical import encode_normalised, utc_text
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.models import AuditDeadLetterRow, AuditEntryRow, AuditHeadRow, AuditStagedRow
from compliance.repositories import AuditLog, ComplianceUnitOfWork, audit_session, audit_transaction
from contracts.actor import Actor
from contracts.compliance import (
    AuditCheckpointed,
    AuditEntryView,
    AuditExport,
    AuditPage,
    AuditQuery,
    ChainBreakView,
    VerifyAudit,
    VerifyReportView,
)
from contracts.envelope import Envelope

EXPORT_LIMIT = 10_000
VERIFY_BATCH = 5_000


class Witness(Protocol):
    """The operator's witness of the log (compliance.witness.WitnessFile): an append-only file of signed records."""

    def append(self, records: list[WitnessRecord]) -> None: ...

    def lines(self) -> list[str]: ...


# how a re-anchored audit log signs and witnesses its new start: (audit key, key id, witness)
AuditAnchor = tuple[bytes, str, Witness | None]


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


# the log's own checkpoints are its witness, not entries: auditing them would make every checkpoint move the head
NOT_AUDITED = frozenset({AuditCheckpointed.type})
DEAD_LETTERED = "jixiao.compliance.audit.dead_lettered.v1"


def stage(uow: ComplianceUnitOfWork, envelopes: list[Envelope]) -> None:
    """The consumer's part, a batch at a time: check each event can be sealed, then stage the new ones (one
    transaction with their inbox rows). An event that can never be sealed fails its batch; the chassis then
    handles the batch one by one, so only that event is retried and parked."""
    raws: list[tuple[str, dict[str, Any]]] = []
    for envelope in envelopes:
        if envelope.type in NOT_AUDITED:
            continue
        raw = envelope.model_dump(mode="json", exclude_none=True)
        try:
            audit_chain.seal(audit_chain.GENESIS, audit_event(raw))
        except DomainInvalidInput as error:
            raise InvalidInput(f"event {envelope.id} cannot be recorded: {error.message}") from None
        raws.append((envelope.id, raw))
    with uow:
        fresh = {envelope.id for envelope in uow.fresh(envelopes)}
        now = uow.now()
        rows = [{"envelope": json.dumps(raw, separators=(",", ":")), "staged_at": now, "attempts": 0}
                for event_id, raw in raws if event_id in fresh]
        uow.audit.stage(rows)


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


def _database_away(error: BaseException) -> bool:
    """A failure of the database itself (connection lost, server down), as opposed to one event's row."""
    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


def seal_pending(engine: Engine, *, key: bytes, key_id: str, checkpoint_every: int, batch: int, now: datetime,
                 max_attempts: int = 3) -> int:
    """Seal up to `batch` staged events into the chain, in arrival order, in one transaction. Returns how many.

    One event that cannot be sealed (a value its column refuses, an envelope that no longer parses) must not hold
    back the rest: when a batch fails for anything but the database being away, the events are sealed one by one,
    and the one that fails counts an attempt; after `max_attempts` it goes to the dead letters with the reason and
    a marker entry takes its place in the chain (issue 10 item 3)."""
    try:
        return _seal(engine, key=key, key_id=key_id, checkpoint_every=checkpoint_every, batch=batch, now=now)
    except Exception as error:
        if _database_away(error) or batch == 1:
            raise
    sealed = 0
    with audit_session(engine) as log:
        ids = log.staged_ids(batch)
    for staged_id in ids:
        try:
            sealed += _seal(engine, key=key, key_id=key_id, checkpoint_every=checkpoint_every, batch=1, now=now,
                            only=staged_id)
        except Exception as error:
            if _database_away(error):
                raise
            _count_failure(engine, staged_id, f"{type(error).__name__}: {error}"[:1000], max_attempts, now)
            eventlet.sleep(0)
    return sealed


def _count_failure(engine: Engine, staged_id: int, reason: str, max_attempts: int, now: datetime) -> None:
    with audit_transaction(engine) as log:
        row = log.staged_row(staged_id, lock=True)
        if row is None:
            return
        row.attempts, row.last_error = (row.attempts or 0) + 1, reason
        if row.attempts < max_attempts:
            return
        try:
            envelope = json.loads(row.envelope)
        except ValueError:
            envelope = {}
        event_id = str(envelope.get("id", ""))[:200] or None
        log.add(AuditDeadLetterRow(event_id=event_id, envelope=row.envelope, reason=reason,
                                   attempts=row.attempts, failed_at=now))
        log.remove(row)
        # the chain says an event was set aside, and why: the gap is on the record, not silent
        marker = {"id": new_id(), "source": "/jixiao/compliance", "type": DEAD_LETTERED,
                  "specversion": "1.0", "time": utc_text(now), "subject": event_id,
                  "data": {"event_id": event_id, "event_type": str(envelope.get("type", ""))[:200],
                           "source": str(envelope.get("source", ""))[:200], "reason": reason[:500],
                           "attempts": row.attempts}}
        log.add(AuditStagedRow(envelope=json.dumps(marker, separators=(",", ":")), staged_at=now, attempts=0))


def _seal(engine: Engine, *, key: bytes, key_id: str, checkpoint_every: int, batch: int, now: datetime,
          only: int | None = None) -> int:
    with audit_transaction(engine) as log:
        head = log.head(lock=True)  # one writer at a time, any replica
        staged = log.staged(batch, only)
        if not staged:
            return 0
        envelopes = [json.loads(row.envelope) for row in staged]
        ids = [envelope["id"] for envelope in envelopes]
        known = log.recorded(ids)
        chain = AuditChain(ChainHead(head.sequence, head.hash), key=key, key_id=key_id,
                           checkpoint_every=checkpoint_every)
        entries: list[dict[str, Any]] = []
        checkpoints: list[dict[str, Any]] = []
        for envelope in envelopes:
            if envelope["id"] in known:
                continue  # recorded already (a replayed staging row)
            known.add(envelope["id"])
            entry, checkpoint = chain.append(audit_event(envelope), now=now)
            entries.append(_entry_row(entry))
            if checkpoint is not None:
                checkpoints.append(_checkpoint_row(checkpoint))
        log.append(entries, checkpoints)
        log.unstage([row.id for row in staged])  # exactly the rows sealed
        head.sequence, head.hash = chain.head.sequence, chain.head.hash
        return len(staged)


def checkpoint_now(engine: Engine, *, key: bytes, key_id: str, now: datetime) -> Checkpoint | None:
    """A signed checkpoint at the head, unless the head is already checkpointed (kept in the database only; the
    writer's timed checkpoints are `witness_head`)."""
    with audit_transaction(engine) as log:
        head = log.head(lock=True)
        last = log.newest_checkpoint()
        if head.sequence == 0 or (last is not None and last >= head.sequence):
            return None
        checkpoint = audit_chain.sign_checkpoint(ChainHead(head.sequence, head.hash), now, key, key_id)
        log.append([], [_checkpoint_row(checkpoint)])
        return checkpoint


def _witnessed(checkpoint: Checkpoint, kind: str) -> AuditCheckpointed:
    return AuditCheckpointed(kind=kind, sequence=checkpoint.sequence, hash=checkpoint.hash, time=checkpoint.time,
                             key_id=checkpoint.key_id, signature=checkpoint.signature)


def witness_head(store: Store, *, key: bytes, key_id: str, now: datetime, witness: Witness) -> Checkpoint | None:
    """Take the head out of the database: sign a checkpoint at it, append it to the operator's witness (fsynced)
    and publish it (`AuditCheckpointed`), then record it as witnessed. Nothing when the head is witnessed already.
    Written to the witness before the database: a checkpoint of committed entries is true wherever it lands."""
    with audit_session(store.engine) as log:
        head = log.head_position()
        last = log.newest_checkpoint(witnessed=True)
    if head is None or head.sequence == 0 or (last is not None and last >= head.sequence):
        return None
    checkpoint = audit_chain.sign_checkpoint(ChainHead(head.sequence, head.hash), now, key, key_id)
    witness.append([WitnessRecord("checkpoint", checkpoint)])
    uow = ComplianceUnitOfWork(store)
    with uow:
        uow.audit.append([], [{**_checkpoint_row(checkpoint), "witnessed_at": now}])
        uow.publish(_witnessed(checkpoint, "checkpoint"))
    return checkpoint


def lag(log: AuditLog, now: datetime) -> dict[str, float]:
    """What has not reached the chain or the witness yet: the staged backlog and its age, dead letters, and the
    entries after the newest witnessed checkpoint (metrics and readiness)."""
    staged, oldest = log.staged_backlog()
    head = log.head_position()
    witnessed = log.newest_witnessed()
    head_sequence = 0 if head is None else head.sequence
    witnessed_sequence = 0 if witnessed is None else witnessed.sequence
    return {
        "staged": float(staged), "staged_oldest_seconds": 0.0 if oldest is None else
        max(0.0, (now - oldest).total_seconds()),
        "dead_letters": float(log.dead_letter_count()),
        "head_sequence": float(head_sequence), "witnessed_sequence": float(witnessed_sequence),
        "unwitnessed": float(max(0, head_sequence - witnessed_sequence)),
        "witness_age_seconds": 0.0 if witnessed is None or head_sequence <= witnessed_sequence else
        max(0.0, (now - witnessed.witnessed_at).total_seconds()),
    }


# -- reading ---------------------------------------------------------------------------------------------------

def _view(row: AuditEntryRow) -> AuditEntryView:
    return AuditEntryView(
        sequence=row.sequence, event_id=row.event_id, type=row.type, source=row.source, actor=row.actor,
        subject=row.subject, time=row.time, data=json.loads(row.data),
        before=None if row.before is None else json.loads(row.before),
        after=None if row.after is None else json.loads(row.after), prev_hash=row.prev_hash, hash=row.hash,
    )


def _check_window(command: AuditQuery) -> None:
    if command.since is not None and command.until is not None and command.until <= command.since:
        raise InvalidInput.field("until", "must be after since")


def query(uow: ComplianceUnitOfWork, actor: Actor | None, command: AuditQuery) -> AuditPage:
    _check_window(command)
    with uow:
        uow.access.require(actor, "audit.read", Resource("audit", owner=command.subject))
        rows = uow.audit.entries(command, command.limit + 1)
        page = rows[:command.limit]
        return AuditPage(entries=[_view(row) for row in page],
                         next_cursor=page[-1].sequence if len(rows) > command.limit else None)


def export(uow: ComplianceUnitOfWork, actor: Actor | None, command: AuditQuery) -> AuditExport:
    """Entries as JSON lines with their hashes, so an auditor can re-verify them outside the system."""
    _check_window(command)
    limit = min(EXPORT_LIMIT, max(command.limit, EXPORT_LIMIT))
    with uow:
        uow.access.require(actor, "audit.read", Resource("audit", owner=command.subject))
        rows = uow.audit.entries(command, limit + 1)
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

    def __init__(self, sequence: int, event_id: str, type_: str, source: str, actor: str | None,
                 subject: str | None, time: str | datetime, data: str, before: str | None, after: str | None,
                 prev_hash: str, hash_: str) -> None:
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


def _anchor_break(head: AuditHeadRow, keys: dict[str, bytes], anchors: list[Checkpoint]) -> ChainBreak | None:
    """The retention anchor must be one retention signed, and one the witness holds when it holds any: an anchor
    moved by hand (to start verification after an edited entry) is a break."""
    if head.anchor_sequence == 0:
        return None
    if head.anchor_signature is None or head.anchor_time is None or not anchor_is_authentic(
            Checkpoint(head.anchor_sequence, head.anchor_hash, head.anchor_time, head.anchor_key_id or "",
                       head.anchor_signature), keys):
        return ChainBreak(head.anchor_sequence, BreakReason.ANCHOR_SIGNATURE,
                          "the retained log's start is not signed by retention")
    if anchors and not any(a.sequence == head.anchor_sequence and a.hash == head.anchor_hash for a in anchors):
        return ChainBreak(head.anchor_sequence, BreakReason.ANCHOR_UNWITNESSED,
                          "the retained log's start is not an anchor the witness holds")
    return None


def verify(uow: ComplianceUnitOfWork, actor: Actor | None, command: VerifyAudit, keys: dict[str, bytes],
           witness: Witness | None = None) -> VerifyReportView:
    """Walk the chain from the retained start (or `from_sequence`) and name the first broken entry. Checkpoints
    come from the database AND the witness (which the database's owner cannot rewrite): a witnessed checkpoint
    beyond the end of the log is a truncation, whatever was deleted beside it. Entries after the newest witnessed
    checkpoint are reported as unwitnessed, not as ok."""
    records, rejected = parse_witness(witness.lines() if witness is not None else [], keys)
    witnessed = [r.checkpoint for r in records if r.kind == "checkpoint"]
    anchors = [r.checkpoint for r in records if r.kind == "anchor"]
    with uow:
        uow.access.require(actor, "audit.verify", Resource("audit"))
        head = uow.audit.head()
        anchor = ChainHead(head.anchor_sequence, head.anchor_hash)
        anchor_break = _anchor_break(head, keys, anchors)
        if command.from_sequence is not None and command.from_sequence - 1 > anchor.sequence:
            previous = uow.audit.entry(command.from_sequence - 1)
            if previous is None:
                raise InvalidInput.field("from_sequence", "no such entry")
            anchor = ChainHead(previous.sequence, previous.hash)
        checkpoints = [Checkpoint(row.sequence, row.hash, row.time, row.key_id, row.signature)
                       for row in uow.audit.checkpoints_after(anchor.sequence)]
        known = {(c.sequence, c.signature) for c in checkpoints}
        checkpoints += [c for c in witnessed if c.sequence > anchor.sequence and (c.sequence, c.signature) not in known]
        verifier = ChainVerifier(anchor=anchor, checkpoints=checkpoints, keys=keys)
        for rows in uow.audit.stored_entries(anchor.sequence, VERIFY_BATCH):
            if verifier.feed([StoredEntry(*row) for row in rows]) is not None:
                break
            eventlet.sleep(0)  # a long walk must not starve the other greenthreads
        report = verifier.finish()
    broken = anchor_break or report.first_break
    newest = max((c.sequence for c in witnessed), default=0)
    unwitnessed = max(0, report.head.sequence - max(newest, anchor.sequence))
    status = "broken" if broken is not None else "unwitnessed" if unwitnessed else "ok"
    return VerifyReportView(
        ok=broken is None, verified=report.verified, head_sequence=report.head.sequence,
        head_hash=report.head.hash, checkpoints_matched=report.checkpoints_matched,
        first_break=None if broken is None else ChainBreakView(sequence=broken.sequence, reason=broken.reason.value,
                                                               detail=broken.detail),
        status=status, witnessed_sequence=newest, unwitnessed=unwitnessed, witness_rejected=rejected)


def purge_prefix(uow: ComplianceUnitOfWork, before: datetime,
                 sign_anchor: Callable[[ChainHead], Checkpoint] | None = None) -> list[int]:
    """Retention of the log itself: drop the oldest entries (time < before) and re-anchor the chain after them;
    `sign_anchor` signs the new anchor (and witnesses it), so verification can tell it from one moved by hand."""
    log = uow.audit
    head = log.head(lock=True)
    first_kept = log.first_sequence_since(before)
    last = (first_kept - 1) if first_kept is not None else head.sequence
    if last <= head.anchor_sequence:
        return []
    anchor = log.entry(last)
    if anchor is None:  # the chain has no gaps: an entry below the head and above the anchor exists
        raise LookupError(f"audit entry {last} is missing: verify the log")
    purged = log.purge_through(last)
    values: dict[str, Any] = {"anchor_sequence": anchor.sequence, "anchor_hash": anchor.hash}
    if sign_anchor is not None:
        signed = sign_anchor(ChainHead(anchor.sequence, anchor.hash))
        values.update(anchor_time=signed.time, anchor_key_id=signed.key_id, anchor_signature=signed.signature)
    log.move_anchor(values)
    return purged


def anchor_signer(uow: ComplianceUnitOfWork, key: bytes, key_id: str,
                  witness: Witness | None) -> Callable[[ChainHead], Checkpoint]:
    """Signs a new retention anchor, appends it to the witness and publishes it with the retention's unit of work
    (the witness may then hold an anchor that never committed: harmless, an anchor only has to be among them)."""
    def sign(anchor: ChainHead) -> Checkpoint:
        signed = audit_chain.sign_anchor(anchor, uow.now(), key, key_id)
        if witness is not None:
            witness.append([WitnessRecord("anchor", signed)])
        uow.publish(_witnessed(signed, "anchor"))
        return signed
    return sign
