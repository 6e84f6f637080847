"""The outbox relay on PostgreSQL: one relay leads per database (its session holds the advisory lock; reading the
pending rows on that session is what proves it still holds it), a relay whose session died gives the lead up and
another takes it, and commits that come together within the linger go out as one batch."""
from __future__ import annotations

import time
import uuid

import eventlet
import pytest
from sqlalchemy import func, select, text

from chassis.db import create_db_engine, outbox_table
from chassis.outbox import OutboxRelay, write_outbox
from chassis.testing.toy import NoteWritten
from contracts import Envelope


@pytest.fixture
def pg_url(pg_toy_url):
    return pg_toy_url


def _write(engine, count: int) -> list[str]:
    envelopes = [Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text="x")) for _ in range(count)]
    with engine.begin() as conn:
        write_outbox(conn, envelopes)
    return [e.id for e in envelopes]


def _unsent(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(outbox_table.c.sent_at.is_(None))).scalar_one()


def test_one_relay_leads_and_another_takes_over_when_its_session_dies(pg_url, amqp_uri):
    engine, other_engine = create_db_engine(pg_url), create_db_engine(pg_url)
    first = OutboxRelay(engine, "toy_writer", amqp_uri)
    second = OutboxRelay(other_engine, "toy_writer", amqp_uri)
    try:
        _write(engine, 3)
        assert first.publish_pending() == 3
        _write(engine, 2)
        assert second.publish_pending() == 0  # the first leads: the second publishes nothing
        assert _unsent(engine) == 2

        with engine.connect() as conn:  # the leader's session is killed (a failover, an idle-session timeout)
            pid = first._leader_conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            first._leader_conn.commit()
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(Exception):  # whichever error the driver gives for a dead session
            first.publish_pending()  # its read of the pending rows is the proof that it still leads
        first._release_leadership()  # as run() does after a failure, before it backs off
        assert second.publish_pending() == 2
        assert _unsent(engine) == 0
    finally:
        for relay in (first, second):
            relay._release_leadership()
            relay.publisher.close()
        engine.dispose()
        other_engine.dispose()


def test_commits_that_come_together_are_published_as_one_batch(pg_url, amqp_uri):
    engine = create_db_engine(pg_url)
    batches: list[int] = []
    relay = OutboxRelay(engine, "toy_writer", amqp_uri, poll_interval=5.0, linger=0.2, on_published=batches.append)
    runner = eventlet.spawn(relay.run)
    try:
        eventlet.sleep(0.3)  # the first (empty) look is done: the relay waits to be woken
        batches.clear()
        for _ in range(5):  # five commits a little apart, each waking the relay, as a burst of calls does
            _write(engine, 1)
            relay.wake()
            eventlet.sleep(0.01)
        deadline = eventlet.Timeout(5)
        try:
            while _unsent(engine):
                eventlet.sleep(0.02)
        finally:
            deadline.cancel()
        assert batches == [5]
    finally:
        relay.stop()
        relay.wait_stopped()
        runner.wait()
        engine.dispose()


def _publish_time(pg_url, amqp_uri, busy_for: float, linger_max: float) -> float:
    """Seconds from a commit and its wake to the event being marked sent, for a relay whose service's workers stay
    busy for `busy_for` seconds after the wake."""
    engine = create_db_engine(pg_url)
    woken = [float("inf")]
    relay = OutboxRelay(engine, "toy_writer", amqp_uri, poll_interval=5.0, linger=0.01, linger_max=linger_max,
                        busy=lambda: time.monotonic() < woken[0] + busy_for)
    runner = eventlet.spawn(relay.run)
    try:
        eventlet.sleep(0.3)  # the first (empty) look is done
        _write(engine, 1)
        woken[0] = time.monotonic()
        relay.wake()
        while _unsent(engine):
            eventlet.sleep(0.005)
            assert time.monotonic() - woken[0] < 5, "never published"
        return time.monotonic() - woken[0]
    finally:
        relay.stop()
        relay.wait_stopped()
        runner.wait()
        engine.dispose()


def test_the_calls_in_flight_go_first_and_the_events_follow_within_linger_max(pg_url, amqp_uri):
    idle = _publish_time(pg_url, amqp_uri, busy_for=0, linger_max=1.0)
    busy_for_a_while = _publish_time(pg_url, amqp_uri, busy_for=0.2, linger_max=1.0)
    busy_throughout = _publish_time(pg_url, amqp_uri, busy_for=60, linger_max=1.0)
    # (bounds wide enough for a loaded CI machine, still apart: 10 ms linger, 200 ms busy, 1 s at most)
    assert idle < 0.2  # the linger alone, then the batch
    assert 0.2 <= busy_for_a_while < 0.9  # published once the workers went idle
    assert 1.0 <= busy_throughout < 3.0  # waited for the calls, but not past linger_max
