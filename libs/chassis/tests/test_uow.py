import uuid

import eventlet
import pytest
from sqlalchemy import select

from chassis.db import create_db_engine, inbox_table, outbox_table
from chassis.testing.toy import Note, NoteWritten
from chassis.uow import AlreadyProcessed, Store, UnitOfWork
from contracts import Actor, Envelope


@pytest.fixture
def store(db_url):
    store = Store.from_url(db_url, "toy_writer")
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


def test_commit_writes_state_and_outbox_together(store):
    actor = Actor(subject="p-1", roles=("employee",))
    uow = UnitOfWork(store, actor=actor, correlation_id="corr-1")
    with uow:
        note = write(uow)
    assert [r.id for r in rows(store, Note.__table__)] == [note.id]
    [row] = rows(store, outbox_table)
    envelope = Envelope.model_validate_json(row.body)
    assert envelope.type == "jixiao.toy.note.written.v1"
    assert envelope.subject == note.id
    assert envelope.actor.model_dump() == {"subject": actor.subject, "kind": actor.kind}  # id and kind, no roles
    assert envelope.correlationid == "corr-1"
    assert envelope.source == "/jixiao/toy"
    assert row.sent_at is None


def test_error_rolls_back_state_and_events(store):
    uow = UnitOfWork(store)
    with pytest.raises(RuntimeError), uow:
        write(uow)
        raise RuntimeError("boom")
    assert rows(store, Note.__table__) == []
    assert rows(store, outbox_table) == []
    assert not uow.is_open  # always closed
    with pytest.raises(RuntimeError, match="not open"):
        uow.session  # the closed session is refused, not handed out


def test_publish_outside_a_unit_of_work_is_refused(store):
    with pytest.raises(RuntimeError):
        UnitOfWork(store).publish(NoteWritten(note_id="x", text="y"))


def test_nesting_is_refused(store):
    uow = UnitOfWork(store)
    with uow, pytest.raises(RuntimeError), uow:
        pass


def test_outbox_keeps_commit_order(store):
    for i in range(5):
        with UnitOfWork(store) as uow:
            write(uow, text=f"n{i}")
    texts = [Envelope.model_validate_json(r.body).data["text"] for r in sorted(rows(store, outbox_table),
                                                                                key=lambda r: r.seq)]
    assert texts == [f"n{i}" for i in range(5)]


def test_inbox_makes_a_redelivered_event_a_no_op(store):
    key = ("toy_reader.on_note", ["event-1"], False)
    with UnitOfWork(store, inbox=key) as uow:
        write(uow)
    with pytest.raises(AlreadyProcessed), UnitOfWork(store, inbox=key) as uow:
        write(uow)  # never reached: the claim is checked on entry
    assert len(rows(store, Note.__table__)) == 1
    assert len(rows(store, inbox_table)) == 1


def test_inbox_claim_is_per_handler(store):
    with UnitOfWork(store, inbox=("a", ["event-1"], False)) as uow:
        write(uow)
    with UnitOfWork(store, inbox=("b", ["event-1"], False)) as uow:
        write(uow)
    assert len(rows(store, Note.__table__)) == 2


def test_failed_handler_leaves_no_inbox_row(store):
    key = ("h", ["event-2"], False)
    with pytest.raises(ValueError), UnitOfWork(store, inbox=key) as uow:
        write(uow)
        raise ValueError("handler failed")
    assert rows(store, inbox_table) == []
    with UnitOfWork(store, inbox=key) as uow:  # the retry is applied
        write(uow)
    assert len(rows(store, Note.__table__)) == 1


def test_concurrent_duplicates_apply_once(store):
    """Two deliveries of one event racing: exactly one commits its effects."""
    key = ("h", ["event-3"], False)
    outcomes = []

    def handle():
        try:
            with UnitOfWork(store, inbox=key) as uow:
                write(uow)
                eventlet.sleep(0.05)  # both are inside their transaction now
            outcomes.append("applied")
        except AlreadyProcessed:
            outcomes.append("duplicate")
        except Exception as exc:  # SQLite serialises writers; the loser may also just see the claim
            outcomes.append(type(exc).__name__)

    threads = [eventlet.spawn(handle) for _ in range(2)]
    for t in threads:
        t.wait()
    assert sorted(outcomes) == ["applied", "duplicate"]
    assert len(rows(store, Note.__table__)) == 1


def test_sqlite_memory_engine_is_shared_across_greenthreads():
    engine = create_db_engine("sqlite://")
    from chassis.testing.toy import Base
    Base.metadata.create_all(engine)
    store = Store(engine, "toy_writer")

    def add(i):
        with UnitOfWork(store) as uow:
            uow.session.add(Note(id=str(i), text="x"))

    pool = [eventlet.spawn(add, i) for i in range(20)]
    for t in pool:
        t.wait()
    with engine.connect() as conn:
        assert len(conn.execute(select(Note.id)).all()) == 20


def test_a_batch_claims_each_event_once(store):
    with UnitOfWork(store, inbox=("h", ["e1", "e2"], True)) as uow:
        assert uow._fresh == {"e1", "e2"}
    with UnitOfWork(store, inbox=("h", ["e2", "e3"], True)) as uow:
        envelopes = [Envelope.wrap(NoteWritten(note_id=i, text="x"), event_id=i) for i in ("e2", "e3")]
        assert [e.id for e in uow.fresh(envelopes)] == ["e3"]
    with pytest.raises(AlreadyProcessed), UnitOfWork(store, inbox=("h", ["e1", "e3"], True)):
        pass


def test_many_events_keep_their_order_and_content(store):
    """A use case publishing thousands of events at once (the bulk path on PostgreSQL)."""
    with UnitOfWork(store, actor=Actor(subject="hr-1"), correlation_id="bulk") as uow:
        uow.publish(*[NoteWritten(note_id=str(i), text=f"n{i}") for i in range(2500)])
    stored = sorted(rows(store, outbox_table), key=lambda r: r.seq)
    assert [Envelope.model_validate_json(r.body).data["note_id"] for r in stored] == [str(i) for i in range(2500)]
    assert all(r.created_at.tzinfo is not None and r.sent_at is None for r in stored)
    assert Envelope.model_validate_json(stored[-1].body).actor.subject == "hr-1"
