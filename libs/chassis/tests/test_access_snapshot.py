"""Snapshots of the org read model on both backends: paging through a source and rebuilding a reader from it, the
version rules shared with events (newest wins in either order, tombstones hold), and the sync markers."""
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.access import apply_org_event, apply_snapshot, create_org_read_model, load_index, read_snapshot
from chassis.access.readmodel import (
    mark_synced,
    on_resync_requested,
    people_table,
    request_resync,
    sync_needed,
)
from chassis.access.snapshot import KINDS
from chassis.db import create_db_engine
from contracts import Envelope
from contracts.org import (
    OrgSnapshotPage,
    OrgSnapshotQuery,
    OrgUnitChanged,
    PersonChanged,
    PersonErased,
    RoleGrant,
    RoleGrantsChanged,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engines(request, tmp_path, pg):
    """(source, reader): two empty read models on the same backend."""
    made = []
    for role in ("source", "reader"):
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'{role}.db'}"
        else:
            name = f"jxt_chassis_{role}_{uuid.uuid4().hex[:8]}"
            url = pg.create(name)
            request.addfinalizer(lambda name=name: pg.drop(name))
        engine = create_db_engine(url)
        create_org_read_model(engine)
        made.append(engine)
    yield made
    for engine in made:
        engine.dispose()


def apply(engine, *events) -> None:
    with Session(engine) as session, session.begin():
        for event in events:
            apply_org_event(session, Envelope.wrap(event))


def person(pid, version, unit="rd", manager=None, **kw):
    return PersonChanged(person_id=pid, version=version, name=f"{pid} v{version}", org_unit_id=unit,
                         manager_id=manager, **kw)


def copy(source, reader, limit: int) -> tuple[int, dict]:
    """Page through the source into the reader as OrgSync does; (pages, people moved)."""
    pages, moved = 0, {}
    for kind in KINDS:
        after = None
        while True:
            with Session(source) as session:
                page = read_snapshot(session, OrgSnapshotQuery(kind=kind, after=after, limit=limit))
            page = OrgSnapshotPage.model_validate(page.model_dump(mode="json"))  # as it travels
            with Session(reader) as session, session.begin():
                moved.update(apply_snapshot(session, page).moved)
            pages += 1
            if page.next_cursor is None:
                break
            after = page.next_cursor
    return pages, moved


def rows(engine):
    with engine.connect() as conn:
        return {row.person_id: row for row in conn.execute(select(people_table))}


def test_a_reader_rebuilt_from_snapshot_pages_knows_what_the_events_said(engines):
    source, reader = engines
    apply(source,
          OrgUnitChanged(org_unit_id="hq", version=1, name="HQ"),
          OrgUnitChanged(org_unit_id="rd", version=2, name="R&D", parent_id="hq"),
          OrgUnitChanged(org_unit_id="old", version=3, name="Old", parent_id="hq", removed=True),
          person("CEO", 1, unit="hq"), person("M", 4, manager="CEO"), person("T", 2, manager="M", grade="P6"),
          person("P", 1, manager="M", status="leave"),
          person("X", 1), PersonErased(person_id="X", pseudonym="anon-x", version=2),
          PersonErased(person_id="U", pseudonym="anon-u"),  # unversioned, never known before
          RoleGrantsChanged(subject_id="H", version=3, grants=[RoleGrant(role="hr", org_unit_id="hq")]),
          RoleGrantsChanged(subject_id="A", version=1, grants=[RoleGrant(role="auditor")]))
    pages, moved = copy(source, reader, limit=2)
    assert pages == 2 + 3 + 1 and moved == {}  # 3 units, 6 people (tombstones too), 2 grants
    with Session(source) as a, Session(reader) as b:
        mine, theirs = load_index(a, max_age=0), load_index(b, max_age=0)
        assert {p: (m.org_unit_id, m.manager_id, m.status) for p, m in theirs.people.items()} == {
            p: (m.org_unit_id, m.manager_id, m.status) for p, m in mine.people.items()}
        assert set(theirs.units) == {"hq", "rd"} and theirs.unit_within("rd", "hq")
        assert [(g.role, g.org_unit_id) for g in theirs.grants_of("H")] == [("hr", "hq")]
        assert theirs.reports_to("T", "CEO") and theirs.person("X") is None
    copied, original = rows(reader), rows(source)
    for pid in original:
        assert {**copied[pid]._mapping, "updated_at": None} == {**original[pid]._mapping, "updated_at": None}, pid
    assert copied["X"].erased and copied["X"].pseudonym == "anon-x" and copied["X"].version == 2
    assert copied["U"].erased and copied["U"].version == 0
    assert copy(source, reader, limit=1000) == (3, {})  # applying it again changes nothing


def test_pages_and_events_settle_on_the_newest_version_in_either_order(engines):
    source, reader = engines
    apply(source, person("T", 2, unit="b"), person("S", 5, unit="b"), person("Z", 1), PersonErased(
        person_id="E", pseudonym="anon-e", version=3))
    apply(reader,
          person("T", 3, unit="c"),  # an event newer than the snapshot, delivered before the page
          person("S", 4, unit="a"),  # older than the snapshot: the page moves S to b
          person("E", 2, unit="a"))  # the page's tombstone is newer
    _, moved = copy(source, reader, limit=1000)
    assert moved == {"S": "b"}
    found = rows(reader)
    assert (found["T"].version, found["T"].org_unit_id) == (3, "c")
    assert (found["S"].version, found["S"].org_unit_id) == (5, "b")
    assert found["E"].erased and found["E"].name is None
    # events arriving after the page: an older one changes nothing, a tombstone's person stays erased
    apply(reader, person("S", 5, unit="x"), person("E", 2, unit="a"), person("Z", 2, unit="d"))
    found = rows(reader)
    assert found["S"].org_unit_id == "b" and found["E"].erased and found["Z"].org_unit_id == "d"


def test_markers_say_when_a_snapshot_is_needed_and_requests_wake_the_sync(engines):
    _, reader = engines
    woken = []
    on_resync_requested(reader, lambda: woken.append(True))
    with reader.connect() as conn:
        assert sync_needed(conn) == 0  # never synced: needed
    with reader.begin() as conn:
        mark_synced(conn, 0)
    with reader.connect() as conn:
        assert sync_needed(conn) is None
    with Session(reader) as session, session.begin():
        request_resync(session)
        assert woken == []  # not before the request is committed
    assert woken == [True]
    with Session(reader) as session, session.begin():
        request_resync(session)  # a second request while the first is pending
    with reader.begin() as conn:
        assert sync_needed(conn) == 2
        mark_synced(conn, 1)  # a snapshot that started before the second request does not satisfy it
    with reader.begin() as conn:
        assert sync_needed(conn) == 2
        mark_synced(conn, 2)
        mark_synced(conn, 1)  # never backwards
    with reader.connect() as conn:
        assert sync_needed(conn) is None


def test_snapshot_queries_are_strict():
    from pydantic import ValidationError

    for bad in ({"kind": "everything"}, {"kind": "people", "limit": 0}, {"kind": "people", "limit": 5001},
                {"kind": "people", "after": ""}, {"kind": "people", "colour": "blue"}):
        with pytest.raises(ValidationError):
            OrgSnapshotQuery.model_validate(bad)


def test_a_resync_from_the_owner_wins_over_a_forged_version_jump(engines):
    """issue 10 #1: a forged grants event at version 50 made the owner's later updates and a resync look stale."""
    from datetime import timedelta

    from chassis.db import utcnow

    source, reader = engines
    real = [person("E1003", 3, unit="sales"), RoleGrantsChanged(subject_id="E1003", version=3, grants=[])]
    apply(source, *real)
    apply(reader, *real)
    apply(reader, RoleGrantsChanged(subject_id="E1003", version=50, grants=[RoleGrant(role="admin")]),
          person("E1003", 50, unit="board"))
    resync_began = utcnow() + timedelta(seconds=1)
    apply(source, RoleGrantsChanged(subject_id="E1003", version=4, grants=[]))
    apply(reader, RoleGrantsChanged(subject_id="E1003", version=4, grants=[]))  # the real update: stale today
    crossing = utcnow() - timedelta(seconds=5)
    for kind in KINDS:
        with Session(source) as session:
            page = read_snapshot(session, OrgSnapshotQuery(kind=kind, after=None, limit=100))
        with Session(reader) as session, session.begin():
            apply_snapshot(session, page, owner_wins_before=resync_began)
    with Session(reader) as session:
        index = load_index(session)
        assert not index.grants_of("E1003")  # no admin any more
        row = session.execute(select(people_table).where(people_table.c.person_id == "E1003")).one()
        assert (row.version, row.org_unit_id) == (3, "sales")
    # a row written after the resync began (an event crossing the page) keeps newest-wins
    apply(reader, person("E1003", 4, unit="emea"))
    with Session(source) as session:
        page = read_snapshot(session, OrgSnapshotQuery(kind="people", after=None, limit=100))
    with Session(reader) as session, session.begin():
        apply_snapshot(session, page, owner_wins_before=crossing)
    with Session(reader) as session:
        assert session.execute(select(people_table.c.org_unit_id).where(
            people_table.c.person_id == "E1003")).scalar() == "emea"
