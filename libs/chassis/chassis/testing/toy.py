"""Two toy services that exercise the chassis and nothing else: `toy_writer` writes notes and publishes
`jixiao.toy.note.written.v1` through the outbox; `toy_reader` consumes them into its own database through the
inbox. Used by the chassis tests, the cross-process reliability tests and the benchmarks.

Knobs (config keys, so they work under `nameko run` too): TOY_HANDLER_DELAY (seconds a handler sleeps, to be
killed mid-way), notes whose text starts with "poison" always fail in the reader.

    python -m chassis.testing.toy init-db <url>      # create both toy schemas (tests only: no migrations)
"""
from __future__ import annotations

import sys
import uuid
from typing import Any

import eventlet
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis import Database, RpcClient, Service, UnitOfWork, event_handler, rpc
from chassis.db import chassis_metadata, create_db_engine
from chassis.errors import InvalidInput, NotFound
from contracts.base import Contract, Event
from contracts.envelope import Envelope


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "toy_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


class Seen(Base):
    """The reader's effect: one row per note it has handled, and a counter that double handling would inflate."""

    __tablename__ = "toy_seen"
    note_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    times: Mapped[int] = mapped_column(Integer, default=0)


class Tally(Base):
    __tablename__ = "toy_tally"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class NoteWritten(Event):
    type = "jixiao.toy.note.written.v1"
    subject_field = "note_id"
    note_id: str
    text: str


class WriteNote(Contract):
    text: str
    count: int = 1


def create_schema(url: str) -> None:
    engine = create_db_engine(url)
    Base.metadata.create_all(engine)
    chassis_metadata.create_all(engine)
    engine.dispose()


class ToyWriter(Service):
    name = "toy_writer"
    uow = Database()
    rpc_out = RpcClient(timeout=2)

    @rpc
    def write_note(self, payload: dict[str, Any]) -> dict[str, list[str]]:
        command = WriteNote.model_validate(payload)
        if not command.text:
            raise InvalidInput.field("text", "must not be empty")
        ids: list[str] = []
        for _ in range(command.count):  # one transaction per note, as separate user actions would be
            with self.uow as uow:
                note = Note(id=str(uuid.uuid4()), text=command.text)
                uow.session.add(note)
                uow.publish(NoteWritten(note_id=note.id, text=note.text))
                ids.append(note.id)
        return {"ids": ids}

    @rpc
    def write_in_background(self, count: int, interval: float) -> dict[str, int]:
        """Keep committing notes (one transaction each) after the call returns, e.g. through a broker outage."""
        store = self.uow.store

        def write_all() -> None:
            for i in range(count):
                with UnitOfWork(store) as uow:
                    note = Note(id=str(uuid.uuid4()), text=f"background {i}")
                    uow.session.add(note)
                    uow.publish(NoteWritten(note_id=note.id, text=note.text))
                eventlet.sleep(interval)

        eventlet.spawn(write_all)
        return {"scheduled": count}

    @rpc
    def whoami(self) -> dict[str, Any]:
        actor = self.call.actor
        return {"actor": actor.model_dump(mode="json") if actor else None,
                "correlation_id": self.call.correlation_id}

    @rpc
    def get_note(self, note_id: str) -> dict[str, str]:
        with self.uow as uow:
            note = uow.session.get(Note, note_id)
            if note is None:
                raise NotFound(f"note {note_id} does not exist")
            return {"id": note.id, "text": note.text}

    @rpc
    def broken(self) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @rpc
    def slow(self, seconds: float) -> str:
        eventlet.sleep(seconds)
        return "done"

    @rpc
    def ask_reader(self, timeout: float) -> Any:
        """Service-to-service call with a timeout."""
        return self.rpc_out.call("toy_reader.seen_count", timeout=timeout)


class ToyReader(Service):
    name = "toy_reader"
    uow = Database()

    @event_handler("toy_writer", "jixiao.toy.note.*.v1")
    def on_note_written(self, event: Envelope) -> None:
        delay = float(self.call_config.get("TOY_HANDLER_DELAY", 0) or 0)
        with self.uow as uow:
            note_id = event.data["note_id"]
            if event.data["text"].startswith("poison"):
                raise ValueError(f"cannot digest note {note_id}")
            seen = uow.session.get(Seen, note_id)
            if seen is None:
                seen = Seen(note_id=note_id, times=0)
                uow.session.add(seen)
            seen.times += 1
            tally = uow.session.get(Tally, "handled")
            if tally is None:
                tally = Tally(name="handled", count=0)
                uow.session.add(tally)
            tally.count += 1
            if delay:
                eventlet.sleep(delay)  # inside the transaction: a kill here must roll back

    @rpc
    def seen_count(self) -> dict[str, int]:
        with self.uow as uow:
            distinct = uow.session.scalar(select(func.count()).select_from(Seen))
            total = uow.session.scalar(select(func.coalesce(func.sum(Seen.times), 0)))
            return {"distinct": int(distinct or 0), "total": int(total or 0)}

    @property
    def call_config(self) -> dict[str, Any]:
        return self._container.config


class ToyBatchReader(Service):
    """The reader's effects, handled in batches (one transaction per batch)."""

    name = "toy_batch_reader"
    uow = Database()

    @event_handler("toy_writer", "jixiao.toy.note.*.v1", batch_size=50, batch_wait=0.05)
    def on_notes(self, events: list[Envelope]) -> None:
        with self.uow as uow:
            for event in uow.fresh(events):
                if event.data["text"].startswith("poison"):
                    raise ValueError(f"cannot digest note {event.data['note_id']}")
                seen = uow.session.get(Seen, event.data["note_id"]) or Seen(note_id=event.data["note_id"], times=0)
                seen.times += 1
                uow.session.add(seen)

    @rpc
    def seen_count(self) -> dict[str, int]:
        with self.uow as uow:
            distinct = uow.session.scalar(select(func.count()).select_from(Seen))
            total = uow.session.scalar(select(func.coalesce(func.sum(Seen.times), 0)))
            return {"distinct": int(distinct or 0), "total": int(total or 0)}


if __name__ == "__main__":  # pragma: no cover - a CLI for the reliability tests
    if len(sys.argv) == 3 and sys.argv[1] == "init-db":
        create_schema(sys.argv[2])
    else:
        raise SystemExit(__doc__)
