"""chassis.uow.retrying: a unit of work the database picked as a deadlock or serialization victim runs again (its
first attempt left nothing behind); any other error, and the last conflict, propagate. On the real PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from chassis.testing.toy import Note, NoteWritten, create_schema
from chassis.uow import Store, UnitOfWork, lost_a_race, retrying


@pytest.fixture
def store(pg):
    name = f"jxt_chassis_{uuid.uuid4().hex[:10]}"
    url = pg.create(name)
    create_schema(url)
    store = Store.from_url(url, "toy_writer")
    yield store
    store.engine.dispose()
    pg.drop(name)


def _notes(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Note.__table__)).scalar_one()


def _fail_with(uow: UnitOfWork, sqlstate: str) -> None:
    uow.session.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '{sqlstate}'; END $$"))


def test_a_deadlock_victim_runs_again_and_its_first_attempt_left_nothing(store):
    uow, calls, pauses = UnitOfWork(store), [], []

    def work() -> str:
        calls.append(1)
        with uow:
            note = Note(id=str(uuid.uuid4()), text="once")
            uow.session.add(note)
            uow.publish(NoteWritten(note_id=note.id, text=note.text))
            uow.session.flush()
            if len(calls) < 3:
                _fail_with(uow, "40P01" if len(calls) == 1 else "40001")  # deadlock, then serialization
            return note.id

    assert retrying(work, sleep=pauses.append)
    assert len(calls) == 3 and len(pauses) == 2
    assert _notes(store) == 1  # the two failed attempts rolled back
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chassis_outbox")).scalar_one() == 1


def test_other_errors_and_the_last_conflict_propagate(store):
    uow, calls = UnitOfWork(store), []

    def broken() -> None:
        calls.append(1)
        with uow:
            uow.session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError):
        retrying(broken, sleep=lambda _: None)
    assert len(calls) == 1  # a bug is not retried

    def always_a_victim() -> None:
        calls.append(1)
        with uow:
            _fail_with(uow, "40P01")

    with pytest.raises(DBAPIError) as caught:
        retrying(always_a_victim, attempts=2, sleep=lambda _: None)
    assert len(calls) == 3 and lost_a_race(caught.value)
