"""Audit ingest on PostgreSQL: events published to several services' exchanges → compliance's batching consumer
(stages them, inbox-deduplicated) → the single writer seals them into the hash chain.

    python bench/compliance/audit_ingest.py [--events 50000]

The figure is N divided by the time from the first publish until the N-th entry is sealed (the chain's head).
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import eventlet

eventlet.monkey_patch()

from bench_support import compliance_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
    from contracts import Actor, Envelope

    sources = ("goals", "feedback", "incentives")
    with compliance_process(max_workers=16, OUTBOX_POLL_INTERVAL=0.05) as (uri, url):
        now = datetime.now(UTC)
        messages = []
        for i in range(args.events):
            service = sources[i % len(sources)]
            envelope = Envelope(id=str(uuid.uuid4()), source=f"/jixiao/{service}",
                                type=f"jixiao.{service}.thing.changed.v1",
                                time=now, subject=f"s-{i % 1000}", actor=Actor(subject=f"p-{i % 500}"),
                                data={"i": i, "before": {"v": i}, "after": {"v": i + 1}, "note": "x" * 80})
            messages.append(OutgoingMessage(f"{service}.events", envelope.type, envelope.model_dump_json()))
        publisher = ConfirmingPublisher(uri, declare=[events_exchange(s) for s in sources])
        engine = create_engine(url)
        start = time.perf_counter()
        for chunk in range(0, len(messages), 2000):
            publisher.publish_batch(messages[chunk:chunk + 2000])
        published = time.perf_counter() - start
        with engine.connect() as conn:
            while conn.execute(text("SELECT sequence FROM compliance_audit_head")).scalar() < args.events:
                time.sleep(0.05)
                conn.rollback()
        elapsed = time.perf_counter() - start
        with engine.connect() as conn:
            checkpoints = conn.execute(text("SELECT count(*) FROM compliance_audit_checkpoints")).scalar()
        publisher.close()
        engine.dispose()
    print(f"audit ingest: {args.events} events in {elapsed:.2f}s = {args.events / elapsed:,.0f} events/s sustained "
          f"(published in {published:.2f}s; {checkpoints} signed checkpoints)")


if __name__ == "__main__":
    main()
