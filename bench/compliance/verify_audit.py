"""Verify a hash-chained audit log of 1,000,000 entries on PostgreSQL (streamed, checkpoints checked).

    python bench/compliance/verify_audit.py [--entries 1000000]

The log is sealed with the real chain code and loaded with COPY; the figure is the verify use case's time
(the same code the `verify_audit` RPC runs), after one untimed warm-up of the database cache.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_support import PG


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()

    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager
    from chassis.uow import Store
    from compliance.domain.audit_chain import GENESIS, AuditChain, AuditEvent
    from compliance.repositories import ComplianceUnitOfWork
    from compliance.usecases.audit import _checkpoint_row, _entry_row, verify
    from contracts import Actor
    from contracts.compliance import VerifyAudit

    key = b"k" * 32
    pg = PgManager(PG)
    name = f"jx_bench_verify_{uuid.uuid4().hex[:6]}"
    url = pg.create(name)
    try:
        upgrade("compliance", url)
        store = Store.from_url(url, "compliance")
        chain = AuditChain(GENESIS, key=key, key_id="k1", checkpoint_every=1000)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        started = time.perf_counter()
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            checkpoints = []
            for start in range(0, args.entries, 100_000):
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                for i in range(start, min(args.entries, start + 100_000)):
                    event = AuditEvent(event_id=f"e{i}", type="jixiao.goals.goal.progressed.v1",
                                       source="/jixiao/goals", time=t0 + timedelta(seconds=i), actor=f"p{i % 977}",
                                       subject=f"g{i % 5000}", data={"value": i, "comment": "on track"},
                                       before={"value": i - 1}, after={"value": i})
                    entry, checkpoint = chain.append(event, now=t0)
                    row = _entry_row(entry)
                    writer.writerow([row["sequence"], row["event_id"], row["type"], row["source"], row["actor"],
                                     row["subject"], row["time"].isoformat(), row["data"], row["before"],
                                     row["after"], row["prev_hash"], row["hash"]])
                    if checkpoint is not None:
                        checkpoints.append(_checkpoint_row(checkpoint))
                buffer.seek(0)
                cursor.copy_expert("COPY compliance_audit_entries (sequence, event_id, type, source, actor, subject,"
                                   " time, data, before, after, prev_hash, hash) FROM STDIN WITH CSV", buffer)
            cursor.executemany("INSERT INTO compliance_audit_checkpoints (sequence, hash, time, key_id, signature) "
                               "VALUES (%(sequence)s, %(hash)s, %(time)s, %(key_id)s, %(signature)s)", checkpoints)
            cursor.execute("UPDATE compliance_audit_head SET sequence = %s, hash = %s",
                           (chain.head.sequence, chain.head.hash))
            raw.commit()
        finally:
            raw.close()
        print(f"(built and loaded {args.entries:,} entries in {time.perf_counter() - started:.1f}s)")
        actor = Actor.system("bench")
        verify(ComplianceUnitOfWork(store, actor=actor), actor, VerifyAudit(), {"k1": key})  # warm-up
        started = time.perf_counter()
        report = verify(ComplianceUnitOfWork(store, actor=actor), actor, VerifyAudit(), {"k1": key})
        elapsed = time.perf_counter() - started
        assert report.ok and report.verified == args.entries, report
        print(f"verify audit: {args.entries:,} entries in {elapsed:.2f}s = {args.entries / elapsed:,.0f} entries/s "
              f"({report.checkpoints_matched} signed checkpoints matched)")
        store.engine.dispose()
    finally:
        pg.drop(name)


if __name__ == "__main__":
    main()
