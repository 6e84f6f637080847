"""Org directory snapshots: how a read model that missed events catches up.

The source (compliance) answers `org_snapshot` with `read_snapshot`: pages of its own read model, which holds
exactly what its events said (it is kept in the same transaction as the directory), tombstones included. A
reader applies each page with `apply_snapshot`, under the same rule as events: a row changes only when the
incoming version is newer. So a page and an event crossing it in flight settle on the newest version in either
order, an erased person stays erased, and applying a page twice changes nothing.

Paging needs no consistency across pages: the reader's event queue exists before it asks for the first page, so
whatever changes after a page was read reaches it as an event.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from chassis.access.readmodel import (
    bump_generation,
    grants_table,
    grants_values,
    people_table,
    person_values,
    tombstone,
    unit_values,
    units_table,
    upsert_many_newer,
)
from contracts.org import (
    OrgSnapshotPage,
    OrgSnapshotQuery,
    OrgUnitChanged,
    PersonChanged,
    PersonErased,
    RoleGrant,
    RoleGrantsChanged,
)

log = logging.getLogger(__name__)

KINDS = ("units", "people", "grants")  # units first: people's units are then known as they arrive
_KEYS = {"units": units_table.c.org_unit_id, "people": people_table.c.person_id,
         "grants": grants_table.c.subject_id}


def read_snapshot(session: Session, query: OrgSnapshotQuery) -> OrgSnapshotPage:
    """One page of this read model as snapshot contracts, ordered by id, after `query.after`."""
    key = _KEYS[query.kind]
    stmt = select(key.table).order_by(key).limit(query.limit + 1)
    if query.after is not None:
        stmt = stmt.where(key > query.after)
    rows = session.execute(stmt).all()
    page, more = rows[:query.limit], len(rows) > query.limit
    cursor = getattr(page[-1], key.name) if more else None
    if query.kind == "units":
        return OrgSnapshotPage(kind="units", next_cursor=cursor, units=[
            OrgUnitChanged(org_unit_id=row.org_unit_id, version=row.version, name=row.name, parent_id=row.parent_id,
                           removed=row.removed) for row in page])
    if query.kind == "grants":
        return OrgSnapshotPage(kind="grants", next_cursor=cursor, grants=[
            RoleGrantsChanged(subject_id=row.subject_id, version=row.version,
                              grants=[RoleGrant(**grant) for grant in json.loads(row.grants)]) for row in page])
    people, erased = [], []
    for row in page:
        if row.erased:  # version 0: erased by an unversioned event before anything else was known
            erased.append(PersonErased(person_id=row.person_id, pseudonym=row.pseudonym or row.person_id,
                                       version=row.version or None))
        else:
            people.append(PersonChanged(
                person_id=row.person_id, version=row.version, name=row.name, org_unit_id=row.org_unit_id,
                manager_id=row.manager_id, job_family=row.job_family, grade=row.grade, sequence=row.sequence,
                location=row.location, status=row.status, hired_on=row.hired_on))
    return OrgSnapshotPage(kind="people", next_cursor=cursor, people=people, erased=erased)


@dataclass
class AppliedPage:
    entities: int = 0
    moved: dict[str, str | None] = field(default_factory=dict)  # person id -> new org unit, for the newer ones
    overruled: int = 0  # rows above the owner's version that the snapshot put back


def _overrule(session: Session, page: OrgSnapshotPage, before: datetime) -> int:
    """Lower the stored version of rows above the owner's (written before `before`) to just under it, so the
    newest-wins upsert that follows applies the owner's row."""
    wanted: list[tuple[Table, str, dict[str, int]]] = [
        (units_table, "org_unit_id", {u.org_unit_id: u.version for u in page.units}),
        (people_table, "person_id", {p.person_id: p.version for p in page.people}),
        (grants_table, "subject_id", {g.subject_id: g.version for g in page.grants}),
    ]
    erased = {e.person_id: e.version for e in page.erased if e.version is not None}
    wanted[1][2].update(erased)
    overruled = 0
    for table, key, versions in wanted:
        if not versions:
            continue
        column = table.c[key]
        stale = session.execute(select(column, table.c.version, table.c.updated_at).where(
            column.in_(list(versions)))).all()
        for row in stale:
            owner = versions[row[0]]
            written = row.updated_at if row.updated_at is None or row.updated_at.tzinfo else \
                row.updated_at.replace(tzinfo=UTC)
            if row.version > owner and (written is None or written < before):
                session.execute(update(table).where(column == row[0]).values(version=owner - 1))
                overruled += 1
    if overruled:
        log.warning("org snapshot: %d row(s) held a version above the owner's; the owner's snapshot won", overruled)
    return overruled


def apply_snapshot(session: Session, page: OrgSnapshotPage, owner_wins_before: datetime | None = None) -> AppliedPage:
    """Apply one page (newer versions only). Call inside a transaction; it commits the page as a whole.

    `owner_wins_before` (a resync started at that moment): a row stored with a *higher* version than the owner's
    snapshot and written before the resync began is overwritten by the snapshot. The owner is the only source of
    versions; a higher one it never issued (a forged event with version 50) must not lock the real source out.
    Rows written after the resync began keep the newest-wins rule: they are events that crossed the page in flight.
    """
    applied = AppliedPage(len(page.units) + len(page.people) + len(page.erased) + len(page.grants))
    if owner_wins_before is not None:
        applied.overruled = _overrule(session, page, owner_wins_before)
    if page.units:
        upsert_many_newer(session, units_table, "org_unit_id", [unit_values(unit) for unit in page.units])
    if page.people:
        applied.moved = _moves(session, page.people)
        upsert_many_newer(session, people_table, "person_id", [person_values(person) for person in page.people])
    for erased in page.erased:
        tombstone(session, erased)
    if page.grants:
        upsert_many_newer(session, grants_table, "subject_id", [grants_values(change) for change in page.grants])
    if applied.entities:
        bump_generation(session)
    return applied


def _moves(session: Session, people: list[PersonChanged]) -> dict[str, str | None]:
    """The people of the page whose newer snapshot puts them in another org unit than the read model had."""
    p = people_table
    stored = {row.person_id: row for row in session.execute(
        select(p.c.person_id, p.c.version, p.c.org_unit_id, p.c.erased)
        .where(p.c.person_id.in_([person.person_id for person in people])))}
    moved = {}
    for person in people:
        before = stored.get(person.person_id)
        if (before is not None and not before.erased and before.version < person.version
                and before.org_unit_id != person.org_unit_id):
            moved[person.person_id] = person.org_unit_id
    return moved
