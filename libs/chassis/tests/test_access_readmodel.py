"""The org read model on both backends: versioned idempotent application, tombstones, the cached index and the
migration helper."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.access import apply_org_event, create_org_read_model, create_org_read_model_v1, load_index
from chassis.access.readmodel import meta_table, org_metadata, people_table
from chassis.db import chassis_metadata, create_db_engine
from chassis.testing import toy
from contracts import Envelope
from contracts.org import OrgUnitChanged, PersonChanged, PersonErased, RoleGrant, RoleGrantsChanged


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    create_org_read_model(engine)
    yield engine
    engine.dispose()


def apply(engine, event) -> bool:
    with Session(engine) as session:
        changed = apply_org_event(session, Envelope.wrap(event))
        session.commit()
    return changed


def person(version, **kw):
    return PersonChanged(**{"person_id": "T", "version": version, "name": f"T v{version}", "org_unit_id": "rd",
                            "manager_id": "M", **kw})


def test_events_apply_once_and_only_when_newer(engine):
    assert apply(engine, person(2))
    assert not apply(engine, person(2))  # redelivered
    assert not apply(engine, person(1, org_unit_id="sales"))  # late, older
    assert apply(engine, person(3, org_unit_id="sales"))
    with Session(engine) as session:
        row = session.execute(select(people_table).where(people_table.c.person_id == "T")).one()
    assert (row.version, row.org_unit_id, row.name) == (3, "sales", "T v3")


def test_erasure_leaves_a_tombstone_older_snapshots_cannot_undo(engine):
    apply(engine, person(1))
    assert apply(engine, PersonErased(person_id="T", pseudonym="anon_1", version=2))
    assert not apply(engine, person(1))
    assert not apply(engine, person(2))
    with Session(engine) as session:
        assert load_index(session, max_age=0).person("T") is None
        row = session.execute(select(people_table).where(people_table.c.person_id == "T")).one()
    assert row.erased and row.name is None and row.pseudonym == "anon_1"
    assert apply(engine, PersonErased(person_id="U", pseudonym="anon_2"))  # unversioned: still a tombstone


def test_the_index_follows_the_events_and_is_cached(engine):
    apply(engine, OrgUnitChanged(org_unit_id="hq", version=1, name="HQ"))
    apply(engine, OrgUnitChanged(org_unit_id="rd", version=1, name="R&D", parent_id="hq"))
    apply(engine, person(1))
    apply(engine, PersonChanged(person_id="M", version=1, name="M", org_unit_id="rd"))
    apply(engine, RoleGrantsChanged(subject_id="H", version=1, grants=[
        RoleGrant(role="hr", org_unit_id="hq"), RoleGrant(role="hrbp"), RoleGrant(role="employee")]))
    with Session(engine) as session:
        index = load_index(session)
        assert load_index(session) is index  # cached
        assert index.reports_to("T", "M") and index.unit_within("rd", "hq")
        assert [(g.role, g.org_unit_id) for g in index.grants_of("H")] == [("hr", "hq")]  # unscoped hrbp dropped
    apply(engine, OrgUnitChanged(org_unit_id="rd", version=2, name="R&D", parent_id="hq", removed=True))
    with Session(engine) as session:
        fresh = load_index(session)  # a change applied in this process is seen at once
        assert fresh is not index and fresh.unit("rd") is None


def test_another_replicas_change_is_seen_after_max_age(engine):
    apply(engine, person(1))
    with Session(engine) as session:
        index = load_index(session, max_age=60)
        session.execute(meta_table.update().values(generation=meta_table.c.generation + 1))  # another process
        session.commit()
        assert load_index(session, max_age=60) is index
        assert load_index(session, max_age=0) is not index


def test_concurrent_versions_converge_on_the_newest(engine):
    import eventlet

    events = [person(v, name=f"v{v}") for v in range(1, 21)]
    pool = eventlet.GreenPool(8)
    list(pool.imap(lambda e: apply(engine, e), reversed(events)))
    with Session(engine) as session:
        assert session.execute(select(people_table.c.version, people_table.c.name)).one() == (20, "v20")


def test_the_migration_helper_matches_the_tables(db_url):
    engine = create_db_engine(db_url)
    try:
        with engine.begin() as conn:
            create_org_read_model_v1(Operations(MigrationContext.configure(conn)))
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                     [org_metadata, chassis_metadata, toy.Base.metadata])
            generation = conn.execute(select(meta_table.c.generation)).scalar()
        assert diffs == []
        assert generation == 0
    finally:
        engine.dispose()
