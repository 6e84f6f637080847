"""What a unit of work means, one suite run against every way it can run: SQLite (the embedded default),
PostgreSQL with lazy BEGIN (production's default, chassis.lazy_begin) and PostgreSQL without it
(`<SERVICE>_DB_LAZY_BEGIN=false`). The optimisation may change round trips, never the meaning."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select, text

from chassis.db import create_db_engine, inbox_table, outbox_table
from chassis.settings import load_settings
from chassis.testing.toy import Note, NoteWritten, create_schema
from chassis.uow import AlreadyProcessed, Store, UnitOfWork
from contracts import Actor, Envelope

BACKENDS = {"sqlite": None, "postgresql-lazy": None, "postgresql-eager": False}


@pytest.fixture(params=list(BACKENDS))
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'uow.db'}"
    else:
        pg = request.getfixturevalue("pg")
        name = f"jxt_uow_{uuid.uuid4().hex[:10]}"
        url = pg.create(name)
        request.addfinalizer(lambda: pg.drop(name))
    create_schema(url)
    store = Store(create_db_engine(url), "toy_writer", lazy=BACKENDS[request.param])
    store.backend = request.param
    yield store
    store.engine.dispose()


def rows(store, table):
    with store.engine.connect() as conn:
        return conn.execute(select(table)).all()


def write(uow, text="hello"):
    note = Note(id=str(uuid.uuid4()), text=text)
    uow.session.add(note)
    uow.publish(NoteWritten(note_id=note.id, text=text))
    return note


def test_the_setting_decides_lazy_begin_on_postgresql_only(store):
    assert store.lazy_begin is (store.backend == "postgresql-lazy")


def test_state_and_events_commit_together(store):
    with UnitOfWork(store, actor=Actor(subject="p-1"), correlation_id="c-1") as uow:
        uow.session.execute(select(Note)).all()  # a read first: with lazy BEGIN it runs before the transaction
        note = write(uow)
    assert [row.id for row in rows(store, Note.__table__)] == [note.id]
    [row] = rows(store, outbox_table)
    envelope = Envelope.model_validate_json(row.body)
    assert envelope.subject == note.id and envelope.correlationid == "c-1"


def test_a_failure_after_writes_leaves_nothing_half_written(store):
    with pytest.raises(ZeroDivisionError), UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()
        write(uow, "first")
        uow.session.flush()  # the rows reached the database inside the transaction
        write(uow, "second")
        uow.session.flush()
        _ = 1 / 0
    assert rows(store, Note.__table__) == [] and rows(store, outbox_table) == []


def test_a_unit_of_work_that_only_reads_commits_nothing_and_sees_committed_rows(store):
    with UnitOfWork(store) as uow:
        write(uow, "kept")
    with UnitOfWork(store) as uow:
        assert [n.text for n in uow.session.execute(select(Note)).scalars()] == ["kept"]
    assert len(rows(store, outbox_table)) == 1


def test_a_redelivered_event_is_a_no_op_and_a_failed_handler_leaves_no_claim(store):
    event_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError), UnitOfWork(store, inbox=("toy.handler", [event_id], False)) as uow:
        write(uow, "lost")
        raise RuntimeError("handler failed")
    assert rows(store, inbox_table) == [] and rows(store, Note.__table__) == []
    with UnitOfWork(store, inbox=("toy.handler", [event_id], False)) as uow:
        write(uow, "applied")
    with pytest.raises(AlreadyProcessed), UnitOfWork(store, inbox=("toy.handler", [event_id], False)) as uow:
        write(uow, "twice")
    assert [row.text for row in rows(store, Note.__table__)] == ["applied"]


def test_a_lock_starts_the_transaction_so_later_reads_share_its_snapshot_start(store):
    """With lazy BEGIN, plain reads before the first write or lock run on their own (READ COMMITTED gives each
    statement a fresh snapshot anyway); a lock (`FOR UPDATE`, the repositories' lock=True) begins the transaction.
    Without it, the driver's BEGIN comes with the first statement."""
    if store.backend == "sqlite":
        pytest.skip("SQLite takes BEGIN IMMEDIATE at the first statement; there is no server clock to compare")
    with UnitOfWork(store) as uow:
        write(uow, "row")
    probe = text("SELECT now() < statement_timestamp()")  # true inside a transaction begun earlier
    with UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()
        time.sleep(0.02)
        in_transaction_after_a_read = uow.session.execute(probe).scalar()
        uow.session.execute(select(Note).with_for_update()).all()
        time.sleep(0.02)
        in_transaction_after_a_lock = uow.session.execute(probe).scalar()
    assert in_transaction_after_a_read is (store.backend == "postgresql-eager")
    assert in_transaction_after_a_lock is True


def test_the_setting_is_read_per_service_from_the_environment(monkeypatch):
    assert load_settings("goals").db_lazy_begin is None  # default: on for PostgreSQL
    monkeypatch.setenv("GOALS_DB_LAZY_BEGIN", "false")
    assert load_settings("goals").db_lazy_begin is False
    assert load_settings("compliance").db_lazy_begin is None  # per service
    assert load_settings("goals", {"DB_LAZY_BEGIN": "true"}).db_lazy_begin is True  # the config file wins
