"""A unit of work that only read on PostgreSQL with lazy BEGIN skips SQLAlchemy's commit (the server has nothing
to commit): the connection goes back to the pool clean, the unit stays usable after `commit()`, and a write of any
kind — ORM, Core, raw SQL — still commits. The classification of statements behind it is cached per text."""

import pytest
from sqlalchemy import event, insert, select, text

from chassis import lazy_begin
from chassis.db import outbox_table
from chassis.testing.toy import Note, NoteWritten
from chassis.uow import Store, UnitOfWork, service_engine

_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE


@pytest.fixture
def url(pg_toy_url):
    return pg_toy_url


@pytest.fixture
def store(url):
    store = Store(service_engine(url, pool_size=1), "toy_writer")  # one connection: each unit reuses it
    yield store
    store.engine.dispose()


def commits(store):
    seen = []
    event.listen(store.engine, "commit", lambda conn: seen.append(conn))
    return seen


def notes(store):
    with store.engine.connect() as conn:
        return [row.text for row in conn.execute(select(Note.text).order_by(Note.text))]


def outbox(store):
    with store.engine.connect() as conn:
        return len(conn.execute(select(outbox_table)).all())


def test_a_read_only_unit_skips_the_commit_and_returns_a_clean_connection(store):
    with UnitOfWork(store) as uow:
        uow.session.add(Note(id="1", text="a"))
    committed = commits(store)
    with UnitOfWork(store) as uow:
        assert uow.session.get(Note, "1").text == "a"
        uow.session.execute(text("SELECT 1")).all()
    assert committed == []
    raw = store.engine.raw_connection()  # the pool's only connection, as the next unit gets it
    try:
        assert raw.dbapi_connection.info.transaction_status == _IDLE
        assert raw.dbapi_connection.autocommit is False
    finally:
        raw.close()
    with UnitOfWork(store) as uow:  # and the next writer commits on it
        uow.session.add(Note(id="2", text="b"))
    assert notes(store) == ["a", "b"]


def test_commit_after_reads_keeps_the_unit_usable_and_a_later_write_commits(store):
    with UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()
        uow.commit()
        uow.session.add(Note(id="1", text="a"))
        uow.publish(NoteWritten(note_id="1", text="a"))
    assert notes(store) == ["a"]
    assert outbox(store) == 1


@pytest.mark.parametrize("write", ["core", "raw sql", "locking read"])
def test_reads_then_a_write_the_orm_does_not_track_still_commit(store, write):
    with UnitOfWork(store) as uow:
        uow.session.execute(select(Note)).all()
        if write == "core":
            uow.session.execute(insert(Note).values(id="1", text="a"))
        elif write == "raw sql":
            uow.session.execute(text("INSERT INTO toy_notes (id, text) VALUES ('1', 'a')"))
        else:  # a lock taken for a read-modify-write, then the write through plain SQL
            uow.session.execute(select(Note).with_for_update()).all()
            uow.session.execute(text("INSERT INTO toy_notes (id, text) VALUES ('1', 'a')"))
    assert notes(store) == ["a"]


def test_without_lazy_begin_a_read_only_unit_commits_as_before(url):
    store = Store(service_engine(url, pool_size=1), "toy_writer", lazy=False)
    try:
        committed = commits(store)
        with UnitOfWork(store) as uow:
            uow.session.execute(select(Note)).all()
        assert len(committed) == 1
    finally:
        store.engine.dispose()


@pytest.mark.parametrize(("statement", "plain"), [
    ("SELECT toy_notes.id FROM toy_notes WHERE toy_notes.id = %(id)s", True),
    ("  select 1", True),
    ("SELECT * FROM toy_notes FOR UPDATE", False),
    ("SELECT * FROM toy_notes FOR NO KEY UPDATE SKIP LOCKED", False),
    ("SELECT * FROM toy_notes for share", False),
    ("SELECT nextval('toy_seq')", False),
    ("SELECT pg_advisory_xact_lock(1)", False),
    ("SELECT * INTO copy FROM toy_notes", False),
    ("INSERT INTO toy_notes (id, text) VALUES (%(id)s, %(text)s)", False),
    ("WITH x AS (SELECT 1) SELECT * FROM x", False),
    ("UPDATE toy_notes SET text = 'x'", False),
])
def test_which_statements_may_run_before_begin(statement, plain):
    assert lazy_begin.plain_read(statement) is plain
    assert lazy_begin.plain_read(statement) is plain  # the remembered verdict is the same


def test_the_remembered_verdicts_are_bounded(monkeypatch):
    monkeypatch.setattr(lazy_begin, "_VERDICTS_MAX", 10)
    lazy_begin._VERDICTS.clear()
    for n in range(25):
        assert lazy_begin.plain_read(f"SELECT {n}")
        assert len(lazy_begin._VERDICTS) <= 10
    assert lazy_begin.plain_read("SELECT 1 FOR UPDATE") is False
