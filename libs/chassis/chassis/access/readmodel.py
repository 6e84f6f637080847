"""The org read model every service keeps from compliance's `contracts.org` events, and the cached index over it.

Tables (on their own MetaData, `org_metadata`; a service adds them to its models with
`include_org_read_model(Base.metadata)` and creates them in a migration with `create_org_read_model_v1(op)`):

- `chassis_org_people`  — one row per person (a tombstone once erased), with the event `version`;
- `chassis_org_units`   — one row per org unit (kept with `removed` set once removed), with `version`;
- `chassis_org_grants`  — one row per subject: the full set of role grants as JSON, with `version`;
- `chassis_org_meta`    — counters by name: `org`, a `generation` that grows with every applied change (cache
  invalidation across replicas of a service); `sync_wanted` / `sync_done`, the snapshot markers
  (`chassis.access.snapshot`).

`apply_org_event(session, envelope)` applies an event only when its version is newer than the stored one, in one
conditional upsert, so redelivery, reordering and concurrent handlers are harmless. `load_index(session)`
returns the in-memory `OrgIndex`, rebuilt only when the generation moved.
"""
from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    Text,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.orm import Session

from chassis.access.org import SCOPED_ROLES, Grant, Member, OrgIndex, OrgUnit, PersonStatus, Role
from chassis.db import NAMING_CONVENTION, UTCDateTime, utcnow
from contracts.envelope import Envelope
from contracts.org import OrgResyncRequested, OrgUnitChanged, PersonChanged, PersonErased, RoleGrantsChanged

if TYPE_CHECKING:
    from alembic.operations import Operations
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

    # what _dialect_insert builds: both offer on_conflict_do_nothing / on_conflict_do_update and `excluded`
    DialectInsert = PgInsert | SqliteInsert

ORG_EVENT_TYPES = (
    "jixiao.compliance.person.*.v1",
    "jixiao.compliance.orgunit.*.v1",
    "jixiao.compliance.grants.*.v1",
    "jixiao.compliance.org.*.v1",  # resync requests (chassis.access.OrgSync)
)
# A service's org handler takes the events in batches of this many (`@event_handler("compliance",
# ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)` with `apply_org_events`): one transaction per batch.
ORG_EVENT_BATCH = 200
META_KEY = "org"
DEFAULT_MAX_AGE = 1.0  # seconds a cached index is trusted before the generation is read again

org_metadata = MetaData(naming_convention=NAMING_CONVENTION)

people_table = Table(
    "chassis_org_people", org_metadata,
    Column("person_id", String(128), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("name", String(200)),
    Column("org_unit_id", String(128), index=True),
    Column("manager_id", String(128), index=True),
    Column("job_family", String(64)),
    Column("grade", String(32)),
    Column("sequence", String(20)),
    Column("location", String(100)),
    Column("status", String(20), nullable=False),
    Column("hired_on", Date),
    Column("erased", Boolean, nullable=False),
    Column("pseudonym", String(128)),
    Column("updated_at", UTCDateTime, nullable=False),
)

units_table = Table(
    "chassis_org_units", org_metadata,
    Column("org_unit_id", String(128), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(128), index=True),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

grants_table = Table(
    "chassis_org_grants", org_metadata,
    Column("subject_id", String(128), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("grants", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

meta_table = Table(
    "chassis_org_meta", org_metadata,
    Column("name", String(32), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

TABLES = (people_table, units_table, grants_table, meta_table)


def include_org_read_model(metadata: MetaData) -> None:
    """Add the read-model tables to a service's metadata (so autogenerate and the drift test see them)."""
    for table in TABLES:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)


# -- migrations ------------------------------------------------------------------------------------------------

def create_org_read_model_v1(op: Operations) -> None:
    """The org read model, version 1. Call from a service's alembic migration (`upgrade()`)."""
    op.create_table(
        "chassis_org_people",
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("org_unit_id", sa.String(128)),
        sa.Column("manager_id", sa.String(128)),
        sa.Column("job_family", sa.String(64)),
        sa.Column("grade", sa.String(32)),
        sa.Column("sequence", sa.String(20)),
        sa.Column("location", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hired_on", sa.Date),
        sa.Column("erased", sa.Boolean, nullable=False),
        sa.Column("pseudonym", sa.String(128)),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_chassis_org_people"),
    )
    op.create_index("ix_chassis_org_people_org_unit_id", "chassis_org_people", ["org_unit_id"])
    op.create_index("ix_chassis_org_people_manager_id", "chassis_org_people", ["manager_id"])
    op.create_table(
        "chassis_org_units",
        sa.Column("org_unit_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(128)),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("org_unit_id", name="pk_chassis_org_units"),
    )
    op.create_index("ix_chassis_org_units_parent_id", "chassis_org_units", ["parent_id"])
    op.create_table(
        "chassis_org_grants",
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("grants", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name="pk_chassis_org_grants"),
    )
    meta = op.create_table(
        "chassis_org_meta",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_chassis_org_meta"),
    )
    op.bulk_insert(meta, [{"name": META_KEY, "generation": 0}])


def drop_org_read_model_v1(op: Operations) -> None:
    for name in ("chassis_org_meta", "chassis_org_grants", "chassis_org_units", "chassis_org_people"):
        op.drop_table(name)


def create_org_read_model(engine: Engine) -> None:
    """Tests and tools without migrations: create the tables and the meta row."""
    org_metadata.create_all(engine)
    with engine.begin() as conn:
        _insert_ignoring(conn, meta_table, {"name": META_KEY, "generation": 0}, ["name"])


# -- applying events -------------------------------------------------------------------------------------------

def _dialect_insert(connection: Connection, table: Table) -> DialectInsert:
    name = connection.dialect.name
    if name == "postgresql":
        return pg_insert(table)
    if name == "sqlite":
        return sqlite_insert(table)
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover - the two supported backends


def _insert_ignoring(connection: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> None:
    connection.execute(_dialect_insert(connection, table).values(**values).on_conflict_do_nothing(
        index_elements=keys))


def _newer_upsert(session: Session, table: Table, key: str, names: Iterable[str]) -> DialectInsert:
    """INSERT ... ON CONFLICT: insert, or update when the incoming version is newer than the stored one."""
    stmt = _dialect_insert(session.connection(), table)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={name: stmt.excluded[name] for name in names if name != key},
        where=table.c.version < stmt.excluded.version,
    )


def _upsert_newer(session: Session, table: Table, key: str, values: dict[str, Any]) -> bool:
    """Insert, or update when `values["version"]` is newer than the stored one. True when something changed."""
    result = session.execute(_newer_upsert(session, table, key, values).values(**values))
    assert isinstance(result, CursorResult)  # an INSERT's result: it has a rowcount
    return result.rowcount == 1


def upsert_many_newer(session: Session, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """`_upsert_newer` for many rows of one table, executed as one batch (rows changed are not counted)."""
    if rows:
        session.execute(_newer_upsert(session, table, key, list(rows[0])), rows)


def person_values(person: PersonChanged) -> dict[str, Any]:
    return {
        "person_id": person.person_id, "version": person.version, "name": person.name,
        "org_unit_id": person.org_unit_id, "manager_id": person.manager_id, "job_family": person.job_family,
        "grade": person.grade, "sequence": person.sequence, "location": person.location,
        "status": person.status, "hired_on": person.hired_on, "erased": False, "pseudonym": None,
        "updated_at": utcnow(),
    }


def unit_values(unit: OrgUnitChanged) -> dict[str, Any]:
    return {"org_unit_id": unit.org_unit_id, "version": unit.version, "name": unit.name,
            "parent_id": unit.parent_id, "removed": unit.removed, "updated_at": utcnow()}


def grants_values(change: RoleGrantsChanged) -> dict[str, Any]:
    grants = [grant.model_dump(mode="json") for grant in change.grants]
    return {"subject_id": change.subject_id, "version": change.version,
            "grants": json.dumps(grants, separators=(",", ":"), sort_keys=True), "updated_at": utcnow()}


def tombstone(session: Session, erased: PersonErased) -> bool:
    """Erase a person in the read model (a tombstone at the erasure's version). True when something changed."""
    values = {
        "person_id": erased.person_id, "name": None, "org_unit_id": None, "manager_id": None,
        "job_family": None, "grade": None, "sequence": None, "location": None,
        "status": PersonStatus.TERMINATED.value, "hired_on": None, "erased": True,
        "pseudonym": erased.pseudonym, "updated_at": utcnow(),
    }
    if erased.version is not None:
        return _upsert_newer(session, people_table, "person_id", {**values, "version": erased.version})
    # an unversioned erasure (older publishers) erases whatever version is stored
    stored = session.execute(select(people_table.c.erased).where(
        people_table.c.person_id == erased.person_id)).first()
    if stored is None:
        session.execute(sa.insert(people_table).values(**values, version=0))
        return True
    if stored.erased:
        return False
    session.execute(update(people_table).where(people_table.c.person_id == erased.person_id).values(**values))
    return True


def apply_org_event(session: Session, envelope: Envelope) -> bool:
    """Apply one `contracts.org` event to the read model. True when the read model changed; False when the event
    was stale, not an org event, or a resync request (counted for `OrgSync`, which then fetches a snapshot).

    Call it inside the handler's single `with uow:` so the inbox row commits with the change.
    """
    changed = _apply_unbumped(session, envelope)
    if changed:
        bump_generation(session)
    return changed


def apply_org_events(session: Session, envelopes: Iterable[Envelope],
                     on_applied: Callable[[Envelope], None] | None = None) -> int:
    """Batch form of `apply_org_event` for a batching handler (`ORG_EVENT_BATCH`): every event with the same
    version rules, in the caller's one transaction, one generation bump; `on_applied(envelope)` runs after each
    event that changed the read model. Returns how many did. One transaction per event capped a 10,000-person
    import at ~8 events/s per service; a batch of 200 commits once."""
    changed = 0
    for envelope in envelopes:
        if _apply_unbumped(session, envelope):
            changed += 1
            if on_applied is not None:
                on_applied(envelope)
    if changed:
        bump_generation(session)
    return changed


def _apply_unbumped(session: Session, envelope: Envelope) -> bool:
    payload = envelope.payload() if envelope.type in _HANDLED else None
    if isinstance(payload, PersonChanged):
        changed = _upsert_newer(session, people_table, "person_id", person_values(payload))
    elif isinstance(payload, PersonErased):
        changed = tombstone(session, payload)
    elif isinstance(payload, OrgUnitChanged):
        changed = _upsert_newer(session, units_table, "org_unit_id", unit_values(payload))
    elif isinstance(payload, RoleGrantsChanged):
        changed = _upsert_newer(session, grants_table, "subject_id", grants_values(payload))
    elif isinstance(payload, OrgResyncRequested):
        request_resync(session)
        return False
    else:
        return False
    return changed


_HANDLED = frozenset({PersonChanged.type, PersonErased.type, OrgUnitChanged.type, RoleGrantsChanged.type,
                      OrgResyncRequested.type})


def bump_generation(session: Session) -> None:
    """Mark the read model changed: every cached index (here and in other processes) reloads."""
    connection = session.connection()
    bumped = connection.execute(update(meta_table).where(meta_table.c.name == META_KEY)
                                .values(generation=meta_table.c.generation + 1)).rowcount
    if not bumped:
        _insert_ignoring(connection, meta_table, {"name": META_KEY, "generation": 1}, ["name"])
    engine = session.get_bind()
    # this process reloads as soon as the change is visible, without waiting for max_age
    event.listen(session, "after_commit", lambda _session: _cache_for(engine).mark_dirty(), once=True)


# -- snapshot markers ------------------------------------------------------------------------------------------
# `sync_wanted` counts resync requests; `sync_done` holds the `sync_wanted` value the last completed snapshot
# started from. No `sync_done` row: this read model never took a snapshot (a new service or deployment, a wiped
# database) and only knows what events reached it since its queue existed.

SYNC_WANTED = "sync_wanted"
SYNC_DONE = "sync_done"

# Keyed by the engine's pool: a database of the process, whichever engine object (a unit of work binds its
# session to the service engine with execution options, a distinct object over the same pool) reaches it.
_wakers: weakref.WeakKeyDictionary[sa.pool.Pool, Callable[[], None]] = weakref.WeakKeyDictionary()


def sync_needed(connection: Connection) -> int | None:
    """The `sync_wanted` value a snapshot taken now would satisfy, or None when the read model is up to date."""
    m = meta_table
    found = dict(connection.execute(select(m.c.name, m.c.generation).where(m.c.name.in_((SYNC_WANTED, SYNC_DONE)))
                                    ).all())
    wanted, done = found.get(SYNC_WANTED, 0), found.get(SYNC_DONE)
    return wanted if done is None or done < wanted else None


def mark_synced(connection: Connection, wanted: int) -> None:
    """A snapshot that started when `sync_wanted` was `wanted` is complete (a later request stays pending)."""
    stmt = _dialect_insert(connection, meta_table).values(name=SYNC_DONE, generation=wanted)
    connection.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"generation": wanted},
                                                  where=meta_table.c.generation < wanted))


def request_resync(session: Session) -> None:
    """Ask for a new snapshot: the read model's `OrgSync` (in any replica) takes one; in this process at once."""
    stmt = _dialect_insert(session.connection(), meta_table).values(name=SYNC_WANTED, generation=1)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                               set_={"generation": meta_table.c.generation + 1}))
    engine = session.get_bind()
    event.listen(session, "after_commit", lambda _session: _wake_sync(engine), once=True)


def on_resync_requested(engine: Engine, wake: Callable[[], None]) -> None:
    """Register the process's `OrgSync` for this database: woken as soon as a request commits here."""
    _wakers[engine.pool] = wake


def _wake_sync(bind: Engine | Connection) -> None:
    wake = _wakers.get(_pool_of(bind))
    if wake is not None:
        wake()


# -- the cached index ------------------------------------------------------------------------------------------

@dataclass
class _Cache:
    index: OrgIndex | None = None
    generation: int | None = None
    checked_at: float = 0.0
    dirty: bool = True
    refreshing: bool = False

    def mark_dirty(self) -> None:
        self.dirty = True


_caches: weakref.WeakKeyDictionary[sa.pool.Pool, _Cache] = weakref.WeakKeyDictionary()  # by pool, as _wakers


def _pool_of(bind: Engine | Connection) -> sa.pool.Pool:
    """The pool behind a session's bind (an engine; a connection's engine when a test binds one)."""
    return bind.pool if isinstance(bind, Engine) else bind.engine.pool


def _cache_for(bind: Engine | Connection) -> _Cache:
    pool = _pool_of(bind)
    cache = _caches.get(pool)
    if cache is None:
        cache = _caches[pool] = _Cache()
    return cache


def load_index(session: Session, max_age: float = DEFAULT_MAX_AGE) -> OrgIndex:
    """The org index for this session's database: cached per engine, rebuilt when the generation moved.

    Changes applied in this process are seen at once; changes applied by another replica within `max_age`.
    """
    cache = _cache_for(session.get_bind())
    now = time.monotonic()
    if cache.index is not None and not cache.dirty and (now - cache.checked_at < max_age or cache.refreshing):
        # (refreshing: another green thread is reading the generation; when max_age ran out under a burst of
        # calls, every one of them read it at once, while one read serves them all)
        return cache.index
    cache.dirty = False  # before reading: a change committed meanwhile marks it again
    cache.refreshing = True
    try:
        generation = session.execute(select(meta_table.c.generation).where(meta_table.c.name == META_KEY)).scalar()
        generation = generation or 0
        if cache.index is None or generation != cache.generation:
            cache.index = build_index(session)
            cache.generation = generation
        cache.checked_at = now
    finally:
        cache.refreshing = False
    return cache.index


def build_index(session: Session) -> OrgIndex:
    p, u, g = people_table, units_table, grants_table
    people = [
        Member(row.person_id, row.org_unit_id, row.manager_id, PersonStatus(row.status), row.name)
        for row in session.execute(select(p.c.person_id, p.c.org_unit_id, p.c.manager_id, p.c.status, p.c.name)
                                   .where(p.c.erased.is_(False)))
    ]
    units = [
        OrgUnit(row.org_unit_id, row.name, row.parent_id)
        for row in session.execute(select(u.c.org_unit_id, u.c.name, u.c.parent_id).where(u.c.removed.is_(False)))
    ]
    grants = [
        grant
        for row in session.execute(select(g.c.subject_id, g.c.grants))
        for grant in _parse_grants(row.subject_id, row.grants)
    ]
    return OrgIndex(units, people, grants)


def _parse_grants(subject: str, text: str) -> list[Grant]:
    found = []
    for item in json.loads(text):
        try:
            role = Role(item.get("role"))
        except ValueError:
            continue  # "employee"/"manager" are relationships, not grants
        unit = item.get("org_unit_id")
        if role in SCOPED_ROLES and unit is None:
            continue  # a scoped role without a scope grants nothing
        found.append(Grant(subject, role, unit if role in SCOPED_ROLES else None))
    return found


def apply_person_snapshots(session: Session, people: list[PersonChanged]) -> None:
    """Bulk form of `apply_org_event` for PersonChanged snapshots (a directory import publishing thousands):
    the same versioned upsert, executed as one batch, and one generation bump."""
    if not people:
        return
    upsert_many_newer(session, people_table, "person_id", [person_values(person) for person in people])
    bump_generation(session)
