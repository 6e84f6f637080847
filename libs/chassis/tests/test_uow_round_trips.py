"""Lazy BEGIN on PostgreSQL (chassis.uow.lazy_begin): fewer round trips, the same atomicity and isolation."""
import uuid

import eventlet
import pytest
from sqlalchemy import event, select, text

from chassis.db import outbox_table
from chassis.testing.toy import Note, NoteWritten, create_schema
from chassis.uow import Store, UnitOfWork, service_engine


@pytest.fixture
def store(pg):
    """PostgreSQL only: SQLite keeps the driver's own transactions."""
    name = f"jxt_chassis_{uuid.uuid4().hex[:10]}"
    url = pg.create(name)
    create_schema(url)
    store = Store(service_engine(url, pool_size=4), "toy_writer")
    yield store
    store.engine.dispose()
    pg.drop(name)


@pytest.fixture
def sent(store):
    """Every statement as it reached the driver."""
    statements = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    return statements


def notes(store):
    with store.engine.connect() as conn:
        return [row.text for row in conn.execute(select(Note.text).order_by(Note.text))]


def test_a_reader_sends_no_begin_and_no_commit(store, sent):
    with UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()
        uow.session.execute(text("SELECT 1")).all()
    assert all(statement.startswith("SELECT") for statement in sent), sent
    assert len(sent) == 2


def test_the_first_write_carries_begin_and_everything_commits_together(store, sent):
    with UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()  # before BEGIN: a plain read
        uow.session.add(Note(id="1", text="a"))
        uow.publish(NoteWritten(note_id="1", text="a"))
    begins = [s for s in sent if "BEGIN" in s]
    assert len(begins) == 1 and begins[0].startswith("BEGIN;INSERT"), sent
    assert notes(store) == ["a"]
    with store.engine.connect() as conn:
        assert len(conn.execute(select(outbox_table)).all()) == 1


def test_a_failure_after_a_write_rolls_the_write_back(store):
    with pytest.raises(RuntimeError), UnitOfWork(store) as uow:
        uow.session.add(Note(id="1", text="a"))
        uow.session.flush()
        raise RuntimeError("boom")
    with pytest.raises(Exception), UnitOfWork(store) as uow:
        uow.session.add(Note(id="2", text="b"))
        uow.session.flush()
        uow.session.execute(text("SELECT 1/0"))  # a failing statement inside the transaction
    assert notes(store) == []


def test_a_locking_read_opens_the_transaction_and_holds_its_lock(store, sent):
    with UnitOfWork(store) as uow:
        uow.session.add(Note(id="1", text="a"))
    order = []

    def lock_then_write():
        with UnitOfWork(store) as uow:
            uow.session.execute(select(Note).where(Note.id == "1").with_for_update()).one()
            order.append("locked")
            eventlet.sleep(0.2)
            uow.session.execute(text("UPDATE toy_notes SET text = 'first' WHERE id = '1'"))
        order.append("first committed")

    def write_after():
        eventlet.sleep(0.05)
        with UnitOfWork(store) as uow:
            uow.session.execute(text("UPDATE toy_notes SET text = 'second' WHERE id = '1'"))
        order.append("second committed")

    threads = [eventlet.spawn(lock_then_write), eventlet.spawn(write_after)]
    for thread in threads:
        thread.wait()
    assert order == ["locked", "first committed", "second committed"]
    assert notes(store) == ["second"]
    assert any(s.startswith("BEGIN;SELECT") and "FOR UPDATE" in s for s in sent), sent


def test_the_pooled_connection_goes_back_in_transaction_mode(store):
    """Outside units of work (migrations, the relay) the engine keeps ordinary transactions."""
    with UnitOfWork(store) as uow:
        uow.session.add(Note(id="1", text="a"))
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        conn.execute(text("INSERT INTO toy_notes (id, text) VALUES ('2', 'b')"))
        raise RuntimeError("undo")
    with store.engine.connect() as conn:
        assert conn.connection.dbapi_connection.autocommit is False
    assert notes(store) == ["a"]


def test_many_concurrent_units_of_work_keep_every_write(store):
    def add(i):
        with UnitOfWork(store) as uow:
            uow.session.execute(select(Note)).all()
            uow.session.add(Note(id=str(uuid.uuid4()), text=f"n{i:03d}"))
            uow.publish(NoteWritten(note_id=str(i), text="x"))

    threads = [eventlet.spawn(add, i) for i in range(40)]
    for thread in threads:
        thread.wait()
    assert notes(store) == [f"n{i:03d}" for i in range(40)]


def test_a_connection_pinged_after_sitting_idle_still_takes_lazy_begin(store, monkeypatch):
    """The idle ping must not leave the connection inside a transaction nobody began (a 500 under load once)."""
    import chassis.uow

    with UnitOfWork(store) as uow:
        uow.session.add(Note(id="1", text="a"))
    monkeypatch.setattr(chassis.uow, "IDLE_PING_SECONDS", 0.0)  # every checkout now pings first
    for n in range(3):
        with UnitOfWork(store) as uow:
            uow.session.execute(select(Note)).all()
            uow.session.add(Note(id=str(n + 2), text=f"b{n}"))
    assert notes(store) == ["a", "b0", "b1", "b2"]
    with store.engine.connect() as conn:
        assert conn.connection.dbapi_connection.info.transaction_status == 0  # idle: nothing left open


def test_a_unit_of_work_takes_a_connection_only_when_it_runs_a_statement(store):
    """A use case answered from caches (an access decision from the warm org index) costs no pool checkout."""
    with UnitOfWork(store) as uow:
        assert store.engine.pool.checkedout() == 0
        uow.session.execute(select(Note)).all()
        assert store.engine.pool.checkedout() == 1
    assert store.engine.pool.checkedout() == 0
