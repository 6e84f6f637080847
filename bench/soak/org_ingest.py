"""How fast a service's org read model takes in a directory import: N PersonChanged events published to
compliance's exchange, consumed (inbox + versioned upsert) one event per transaction, then batched, in the same
run on the same broker and PostgreSQL, each on a fresh vhost and database. Prints events/s of both and the ratio.

    python bench/soak/org_ingest.py [--events 3000]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_common", HERE.parent / "common.py")
common = importlib.util.module_from_spec(spec)
sys.modules["bench_common"] = common
spec.loader.exec_module(common)


def run(service: str, events: int, workdir: Path) -> float:
    from sqlalchemy import func, select

    from chassis.access import create_org_read_model
    from chassis.access.readmodel import people_table
    from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
    from chassis.db import create_db_engine
    from chassis.testing.infra import PgManager, VhostManager
    from chassis.testing.toy import create_schema
    from contracts import Envelope
    from contracts.org import PersonChanged

    vhosts, pg = VhostManager(common.AMQP), PgManager(common.PG)
    uri = vhosts.create()
    name = f"jx_orgingest_{uuid.uuid4().hex[:6]}"
    url = pg.create(name)
    create_schema(url)
    engine = create_db_engine(url)
    create_org_read_model(engine)
    process = common.Process(f"org_services:{service}", {"AMQP_URI": uri, "DATABASE_URL": url}, workdir)
    try:
        envelopes = [Envelope.wrap(PersonChanged(person_id=f"P{i}", version=1, name=f"Person {i}", org_unit_id="U1",
                                                 manager_id=None if i == 0 else "P0")) for i in range(events)]
        publisher = ConfirmingPublisher(uri, declare=[events_exchange("compliance")])
        started = time.perf_counter()
        publisher.publish_batch([OutgoingMessage("compliance.events", e.type, e.model_dump_json())
                                 for e in envelopes])
        publisher.close()
        count = 0
        while count < events:
            time.sleep(0.2)
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(people_table)).scalar()
            if time.perf_counter() - started > 900:
                raise SystemExit(f"{service}: {count} of {events} after 900 s")
        return events / (time.perf_counter() - started)
    finally:
        process.stop()
        engine.dispose()
        pg.drop(name)
        vhosts.delete(uri, wait=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = f"{HERE}:{os.environ.get('PYTHONPATH', '')}"  # org_services for `nameko run`
    workdir = Path(tempfile.mkdtemp(prefix="jx-orgingest-"))
    one = run("OrgOneByOne", args.events, workdir)
    batched = run("OrgBatched", args.events, workdir)
    print(f"org events into one service's read model, {args.events:,} PersonChanged (same run, same machine):")
    print(f"  one transaction per event (reference)  {one:8,.0f} events/s")
    print(f"  batched, 200 per transaction           {batched:8,.0f} events/s  ({batched / one:.1f}x)")
    print(f"  a 10,000-person import: {10_000 / one:,.0f} s one by one, {10_000 / batched:,.0f} s batched")


if __name__ == "__main__":
    import eventlet

    eventlet.monkey_patch()
    main()
