"""Idempotency-Key on every write (POST, PUT, PATCH, DELETE; creations and edits alike): the same key and request
from the same caller is done once, and a retry gets the first answer again, including a retry after a timeout.

Keys live in the gateway's database (not in memory) so that a retry reaching another replica, or the same one
after a restart, is still recognised. A key is claimed (`pending`) in its own transaction before the service is
called, so two concurrent retries cannot both go through; the answer is stored when it is a definite one (2xx,
4xx). A 503 (the request never left: the broker was unreachable) releases the key.

After a timeout or another 5xx the outcome is unknown: the key stays bound to its first attempt (`unknown`). What
that attempt's calls answered is kept (`FirstOutcomes`): the replies that came in time, and a reply that comes
after the 504, for as long as `stale_after`. A retry runs again with the same request keys, which the services
deduplicate (chassis.requestkeys): a call the first attempt carried out is not done again, and the service's
`request-already-done` is answered with the kept reply (waited for up to the call's deadline when it is still on
its way), so the retry answers what the first attempt would have answered: the same 201 and body, one write.
Only when that reply can never come (the gateway that sent the first attempt stopped before it arrived) does the
retry answer 409 `idempotency-key-completed`: done once, read the resource. A claim whose request died with its
gateway is taken over once it is older than `stale_after`.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chassis import Store, UnitOfWork
from gateway.models import IdempotencyRecord, IdempotencyReply
from gateway.problems import HttpProblem, invalid

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
REPLAYED_HEADERS = ("Location", "ETag", "Content-Type")


@dataclass(frozen=True)
class Stored:
    status: int
    body: str
    headers: dict[str, str]


def check_key(value: str) -> str:
    if not KEY_PATTERN.fullmatch(value):
        raise invalid("Idempotency-Key", "1 to 255 visible ASCII characters", "header")
    return value


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(uow: UnitOfWork, owner: str, key: str, print_: str, ttl: timedelta,
          stale_after: timedelta) -> Stored | None:
    """None: this request now holds the key and must run. A `Stored` answer: replay it."""
    table = IdempotencyRecord.__table__
    with uow:
        session = uow.session
        now = uow.now()
        where = (table.c.owner == owner, table.c.key == key)
        session.execute(delete(table).where(*where, table.c.expires_at <= now))
        values = {"owner": owner, "key": key, "fingerprint": print_, "state": "pending", "created_at": now,
                  "expires_at": now + ttl}
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        if session.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1:
            return None
        row = session.execute(select(table).where(*where)).one()
        if row.fingerprint != print_:
            raise HttpProblem(422, "this Idempotency-Key was already used for a different request",
                              code="idempotency-key-reused")
        if row.state == "done":
            return Stored(row.status, row.body, json.loads(row.headers or "{}"))
        if row.state == "unknown":  # the first attempt's outcome is unknown: run again, same request key
            taken = session.execute(update(table).where(*where, table.c.state == "unknown")
                                    .values(state="pending", created_at=now)).rowcount
            if taken == 1:
                return None
            raise HttpProblem(409, "a request with this Idempotency-Key is still in progress",
                              code="idempotency-key-in-use", headers={"Retry-After": "1"})
        if row.created_at > now - stale_after:
            raise HttpProblem(409, "a request with this Idempotency-Key is still in progress",
                              code="idempotency-key-in-use", headers={"Retry-After": "1"})
        taken = session.execute(update(table).where(*where, table.c.state == "pending",
                                                    table.c.created_at == row.created_at)
                                .values(created_at=now, expires_at=now + ttl)).rowcount
        if taken != 1:
            raise HttpProblem(409, "a request with this Idempotency-Key is still in progress",
                              code="idempotency-key-in-use", headers={"Retry-After": "1"})
        return None


def complete(uow: UnitOfWork, owner: str, key: str, answer: Stored) -> None:
    table = IdempotencyRecord.__table__
    with uow:
        uow.session.execute(update(table).where(table.c.owner == owner, table.c.key == key).values(
            state="done", status=answer.status, body=answer.body, headers=json.dumps(answer.headers)))


def request_key(owner: str, key: str) -> str:
    """What the services deduplicate on: a digest of the caller and their key (the key itself stays here)."""
    return hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()


def unknown(uow: UnitOfWork, owner: str, key: str, outcomes: FirstOutcomes | None = None) -> None:
    """The first attempt timed out (or failed upstream): keep the key bound to it, with what its calls answered so
    far; a retry runs it again."""
    table = IdempotencyRecord.__table__
    with uow:
        uow.session.execute(update(table).where(table.c.owner == owner, table.c.key == key,
                                                table.c.state == "pending").values(state="unknown"))
        if outcomes is not None:
            outcomes.keep_answered(uow)


class FirstOutcomes:
    """chassis.remote.FirstOutcomes in the gateway's database, so a retry reaching another replica finds them.

    Replies that come in time stay in memory (the request usually ends with a definite answer, stored whole by
    `complete`); `unknown` writes them. A late reply is written as it arrives."""

    POLL_SECONDS = 0.05

    def __init__(self, store: Store, ttl: timedelta):
        self._store = store
        self._ttl = ttl
        self._answered: dict[str, dict[str, Any]] = {}

    def answered(self, call_key: str, reply: dict[str, Any]) -> None:
        self._answered[call_key] = reply

    def arrived_late(self, call_key: str, reply: dict[str, Any]) -> None:
        self._keep(UnitOfWork(self._store), {call_key: reply})

    def keep_answered(self, uow: UnitOfWork) -> None:
        """Inside `uow`'s transaction: the replies that came in time, for the retry to answer."""
        if self._answered:
            self._insert(uow, self._answered)

    def recall(self, call_key: str, wait: float) -> dict[str, Any] | None:
        table = IdempotencyReply.__table__
        deadline = time.monotonic() + wait
        while True:
            with UnitOfWork(self._store) as uow:
                reply = uow.session.execute(select(table.c.reply).where(table.c.call_key == call_key,
                                                                        table.c.expires_at > uow.now())).scalar()
            if reply is not None:
                kept: dict[str, Any] = json.loads(reply)
                return kept
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(self.POLL_SECONDS, left))  # green under eventlet: the late reply may be landing

    def _keep(self, uow: UnitOfWork, replies: dict[str, dict[str, Any]]) -> None:
        with uow:
            self._insert(uow, replies)

    def _insert(self, uow: UnitOfWork, replies: dict[str, dict[str, Any]]) -> None:
        session = uow.session
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        expires_at = uow.now() + self._ttl
        rows = [{"call_key": call_key, "reply": json.dumps(reply), "expires_at": expires_at}
                for call_key, reply in replies.items()]
        session.execute(insert(IdempotencyReply.__table__).values(rows).on_conflict_do_nothing())


def release(uow: UnitOfWork, owner: str, key: str) -> None:
    table = IdempotencyRecord.__table__
    with uow:
        uow.session.execute(delete(table).where(table.c.owner == owner, table.c.key == key,
                                                table.c.state == "pending"))


def purge_expired(uow: UnitOfWork) -> int:
    """Forget expired keys and kept replies; answers how many keys."""
    table, replies = IdempotencyRecord.__table__, IdempotencyReply.__table__
    with uow:
        uow.session.execute(delete(replies).where(replies.c.expires_at <= uow.now()))
        purged: int = uow.session.execute(delete(table).where(table.c.expires_at <= uow.now())).rowcount
        return purged
