"""Request keys: a write retried after its answer was lost (a 504) is done once, never twice.

The gateway binds an `Idempotency-Key` to its first attempt and, when that attempt's outcome is unknown (a
timeout), lets a retry with the same key go through again carrying the same request key. The service must then
recognise the request: a worker called with `request_key` in its context claims
`(rpc:<service>.<method>, key)` in the inbox table *in the same transaction as its first write* (as the first flush
that writes begins, else at the first commit that changed something), so the write and the claim commit together
or not at all. A second attempt that would write finds the claim taken (or waits on it while the first attempt's
transaction is open): its transaction is rolled back and it answers 409 `request-already-done`; the gateway then
answers the first attempt's reply, which it kept (chassis.remote.FirstOutcomes). A read-only call claims nothing.

The claim is also looked up once, when the worker's first transaction begins: a retry whose first attempt already
committed is answered `request-already-done` before the use case runs, so a rule that would refuse a second copy
("this cycle exists already") cannot answer in its place.

Keys are 64 hexadecimal characters (a digest the caller derives per call, see `RpcCaller.with_request_key`).
"""
from __future__ import annotations

import contextvars
import hashlib
import re
from contextvars import Token
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

REQUEST_KEY = "request_key"
_KEY = re.compile(r"^[0-9a-f]{64}$")
_WROTE = "jixiao_wrote"
_CLAIMING = "jixiao_claiming"


@dataclass
class Claim:
    handler: str
    key: str
    claimed: bool = False
    looked_up: bool = False  # the early look-up ran (once per worker)


_claim: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("jixiao_request_claim", default=None)


def call_key(request_key: str, target: str, n: int) -> str:
    """The key of the n-th call to `target` within one request (a request may call one method several times)."""
    return hashlib.sha256(f"{request_key}\n{target}\n{n}".encode()).hexdigest()


def begin(worker_ctx: Any) -> Token[Claim | None]:
    """Called as a worker starts: remember the request key of an RPC that carries one. Returns a reset token."""
    key = worker_ctx.data.get(REQUEST_KEY)
    entrypoint = worker_ctx.entrypoint
    if not isinstance(key, str) or not _KEY.match(key) or not getattr(entrypoint, "deduplicates_requests", False):
        return _claim.set(None)
    return _claim.set(Claim(f"rpc:{worker_ctx.container.service_name}.{entrypoint.method_name}", key))


def end(token: Token[Claim | None]) -> None:
    try:
        _claim.reset(token)
    except ValueError:  # set in another context; nothing to undo there
        pass


class RequestAlreadyDone(Exception):
    """This request's write was committed by an earlier attempt (answered as 409 `request-already-done`)."""


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush_context: Any) -> None:
    session.info[_WROTE] = True  # a flush runs only when there were changes


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_CLAIMING, None)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE, None)
    claim = session.info.pop(_CLAIMING, None)
    if claim is not None:  # the commit that carried the claim failed: the next write claims again
        claim.claimed = False


@event.listens_for(Session, "after_begin")
def _already_done_before_anything_runs(session: Session, transaction: SessionTransaction,
                                       connection: Connection) -> None:
    claim = _claim.get()
    if claim is None or claim.looked_up or claim.claimed:
        return
    claim.looked_up = True
    from chassis.db import inbox_table

    found = connection.execute(select(inbox_table.c.event_id).where(
        inbox_table.c.event_id == claim.key, inbox_table.c.handler == claim.handler)).first()
    if found is not None:
        raise RequestAlreadyDone(f"{claim.handler}: this request was carried out by an earlier attempt")


@event.listens_for(Session, "before_flush")
def _claim_before_the_first_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Claim as the first flush that writes begins, before its statements run: two attempts in flight at once
    (a retry sent while the first attempt waits on a lock) are then ordered by who started writing first, the
    later one waiting on the claim's row and answering `request-already-done`. Claimed only at commit, the two
    raced once the lock was released and the retry could win, the first attempt's reply being the refusal."""
    claim = _claim.get()
    if claim is None or claim.claimed:
        return
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        _take_the_claim(session)


@event.listens_for(Session, "before_commit")
def _claim_with_the_first_write(session: Session) -> None:
    if session.info.get(_WROTE):
        _take_the_claim(session)


def _take_the_claim(session: Session) -> None:
    claim = _claim.get()
    if claim is None or claim.claimed:
        return
    from chassis.db import inbox_table, utcnow

    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(inbox_table).values(event_id=claim.key, handler=claim.handler, processed_at=utcnow())
    taken = connection.execute(stmt.on_conflict_do_nothing().returning(inbox_table.c.event_id)).first()
    if taken is None:
        raise RequestAlreadyDone(f"{claim.handler}: this request was carried out by an earlier attempt")
    claim.claimed = True
    session.info[_CLAIMING] = claim
