"""Idempotency-Key on creating POSTs: the same key and request from the same caller is done once, and a retry gets
the first answer again.

Keys live in the gateway's database (not in memory) so that a retry reaching another replica, or the same one
after a restart, is still recognised. A key is claimed (`pending`) in its own transaction before the service is
called, so two concurrent retries cannot both go through; the answer is stored when it is a definite one (2xx,
4xx). A 503 (the request never left: the broker was unreachable) releases the key. After a timeout or another 5xx
the outcome is unknown: the key stays bound to its first attempt (`unknown`), and a retry with it runs again with
the same request key, which the service deduplicates (chassis.requestkeys): the write happens at most once, and a
retry whose first attempt did go through is told so (409 `idempotency-key-completed`). A claim whose request died
with its gateway is taken over once it is older than `stale_after`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chassis import UnitOfWork
from gateway.models import IdempotencyRecord
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


def unknown(uow: UnitOfWork, owner: str, key: str) -> None:
    """The first attempt timed out (or failed upstream): keep the key bound to it; a retry runs it again."""
    table = IdempotencyRecord.__table__
    with uow:
        uow.session.execute(update(table).where(table.c.owner == owner, table.c.key == key,
                                                table.c.state == "pending").values(state="unknown"))


def release(uow: UnitOfWork, owner: str, key: str) -> None:
    table = IdempotencyRecord.__table__
    with uow:
        uow.session.execute(delete(table).where(table.c.owner == owner, table.c.key == key,
                                                table.c.state == "pending"))


def purge_expired(uow: UnitOfWork) -> int:
    table = IdempotencyRecord.__table__
    with uow:
        return uow.session.execute(delete(table).where(table.c.expires_at <= uow.now())).rowcount
