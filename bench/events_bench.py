"""Durable events end to end on PostgreSQL: outbox -> relay (persistent, pipelined confirms) -> RabbitMQ ->
event consumer with inbox deduplication -> one row per event, each in its own transaction.

    python bench/events_bench.py [--events 20000]

The source and the sink are separate `nameko run` processes. N events are committed to the source's outbox in one
go; the figure is N divided by the time until the sink has committed the N-th effect.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import eventlet

eventlet.monkey_patch()

from common import AMQP, PG, Process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--batch", action="store_true", help="consume with the batching handler (200 per tx)")
    args = parser.parse_args()

    import bench_services
    from sqlalchemy import func, select

    from chassis.db import create_db_engine, outbox_table
    from chassis.outbox import write_outbox
    from chassis.testing.infra import PgManager, VhostManager
    from chassis.testing.toy import NoteWritten, create_schema
    from contracts import Envelope

    vhosts, pg = VhostManager(AMQP), PgManager(PG)
    uri = vhosts.create()
    names = [f"jx_bench_{uuid.uuid4().hex[:6]}_{role}" for role in ("source", "sink")]
    source_url, sink_url = (pg.create(name) for name in names)
    for url in (source_url, sink_url):
        create_schema(url)
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-"))
    common = {"AMQP_URI": uri, "max_workers": args.workers, "OUTBOX_POLL_INTERVAL": 0.05,
              "EVENT_PREFETCH": args.workers}
    sink_service = "bench_services:BenchBatchSink" if args.batch else "bench_services:BenchSink"
    sink = Process(sink_service, {**common, "DATABASE_URL": sink_url}, workdir)
    source = Process("bench_services:BenchSource", {**common, "DATABASE_URL": source_url}, workdir)
    source_engine, sink_engine = create_db_engine(source_url), create_db_engine(sink_url)
    try:
        envelopes = [Envelope.wrap(NoteWritten(note_id=str(i), text="x")) for i in range(args.events)]
        envelopes = [e.model_copy(update={"source": "/jixiao/bench_source",
                                          "type": "jixiao.bench_source.note.written.v1"}) for e in envelopes]
        with source_engine.begin() as conn:
            write_outbox(conn, envelopes)
        started = time.perf_counter()
        published_at = None
        received = 0
        while received < args.events:
            eventlet.sleep(0.1)
            with sink_engine.connect() as conn:
                received = conn.execute(select(func.count()).select_from(bench_services.Received)).scalar()
            if published_at is None:
                with source_engine.connect() as conn:
                    unsent = select(func.count()).where(outbox_table.c.sent_at.is_(None))
                    pending = conn.execute(unsent).scalar()
                if pending == 0:
                    published_at = time.perf_counter() - started
            if time.perf_counter() - started > 600:
                raise SystemExit(f"timed out with {received} of {args.events}")
        elapsed = time.perf_counter() - started
    finally:
        source.stop()
        sink.stop()
        source_engine.dispose()
        sink_engine.dispose()
        for name in names:
            pg.drop(name)
        vhosts.delete(uri, wait=True)
    print(f"events: {args.events}, consumer workers: {args.workers}, "
          f"{'batched (200 per transaction)' if args.batch else 'one transaction per event'}")
    if published_at:
        print(f"relay published all in {published_at:.2f} s  ({args.events / published_at:,.0f} events/s)")
    print(f"end to end: {elapsed:.2f} s  ->  {args.events / elapsed:,.0f} events/s  (target >= 2,000)")


if __name__ == "__main__":
    main()
