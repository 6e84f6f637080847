"""Feedback benchmarks on PostgreSQL, at the use-case level (what the RPC runs after decoding its contract),
each figure printed beside the raw RPC floor measured in the same run (bench/rpc_bench.py's raw py-amqp round
trip). Leaves nothing behind (the database is dropped at the end).

    python bench/feedback/run.py [--people 100000] [--weeks 8] [--team 1000] [--rounds 20]

Targets (issue 11): team summary of a manager with 1,000 reports over a week <= 200 ms; participation rates of
100,000 people for a month <= 10 s; zero-activity detection over 100,000 people x 8 weeks <= 10 s; objection
tagging >= 500 notes/s on one core (bench/feedback/objections_eval.py).
"""
from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this folder is called feedback too: keep it off the path so that `feedback` is the service package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


def copy(raw, table: str, columns: list[str], rows) -> int:
    buffer, count = io.StringIO(), 0

    def flush():
        buffer.seek(0)
        with raw.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        count += 1
        if count % 50_000 == 0:
            flush()
    flush()
    return count


def generate(url: str, people: int, weeks: int, team: int) -> dict:
    """An org of `people` in 100 units: one manager with `team` direct reports, the rest in teams of 10; weekly
    reports for the last 9 weeks (~70% filled); for everyone, one visit per week over `weeks` weeks, valid for
    ~95% of people (the rest silent: zero activity)."""
    from sqlalchemy import create_engine, text

    rng = random.Random(7)
    now = NOW.isoformat()
    big = "mgr-big"
    ids = [f"p{i:06d}" for i in range(people)]
    members = ids[:team]
    rest = ids[team:]
    managers = dict.fromkeys(members, big)
    for i in range(0, len(rest), 10):
        lead = rest[i]
        for p in rest[i + 1:i + 10]:
            managers[p] = lead
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        copy(raw, "chassis_org_units", ["org_unit_id", "version", "name", "parent_id", "removed", "updated_at"],
             [("co", 1, "Company", None, "f", now)] + [(f"u{i:03d}", 1, f"Unit {i}", "co", "f", now)
                                                       for i in range(100)])
        copy(raw, "chassis_org_people", ["person_id", "version", "name", "org_unit_id", "manager_id", "status",
                                         "erased", "updated_at"],
             [(big, 1, big, "u000", None, "active", "f", now)]
             + [(p, 1, p, f"u{i % 100:03d}", managers.get(p), "active", "f", now) for i, p in enumerate(ids)])
        this_week = NOW.date() - timedelta(days=NOW.weekday())
        week_list = [this_week - timedelta(days=7 * k) for k in range(9)]

        def reports():
            for p in ids:
                for start in week_list:
                    if rng.random() < 0.7:
                        year, week, _ = start.isocalendar()
                        blockers = '["CRM is slow"]' if rng.random() < 0.2 else "[]"
                        yield (str(uuid.uuid4()), p, managers.get(p), managers.get(p), "weekly",
                               f"{year}-W{week:02d}", start.isoformat(), "done things", blockers, "next", "[]", "{}",
                               now, now, 1)
        n_reports = copy(raw, "reports", ["id", "person_id", "manager_id", "team_id", "kind", "period", "period_start",
                                          "done", "blockers", "next_plan", "goal_ids", "extra", "submitted_at",
                                          "updated_at", "version"], reports())
        copy(raw, "customers", ["id", "name", "latitude", "longitude", "registered_by", "registered_at"],
             [("c1", "ACME", "31.2304", "121.4737", "bench", now)])

        def visits():
            for p in ids:
                silent = rng.random() < 0.05
                for k in range(weeks):
                    at = datetime.combine(this_week - timedelta(days=7 * k + 2), datetime.min.time(), tzinfo=UTC)
                    year, week, _ = at.isocalendar()
                    yield (str(uuid.uuid4()), p, "c1", at.isoformat(), f"{year}-W{week:02d}", None, None, None, None,
                           None, "f" if silent else "t", "[]", "", "[]", now)
        n_visits = copy(raw, "visits", ["id", "person_id", "customer_id", "visited_at", "week", "latitude",
                                        "longitude", "accuracy_m", "distance_m", "opportunity_id", "valid",
                                        "invalid_reasons", "notes", "objections", "created_at"], visits())
        with raw.cursor() as cursor:
            cursor.execute("UPDATE chassis_org_meta SET generation = generation + 1")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    return {"manager": big, "reports": n_reports, "visits": n_visits}


def raw_floor() -> float:
    sys.path.insert(0, str(HERE.parent))
    import rpc_bench
    from common import AMQP

    from chassis.testing.infra import VhostManager

    vhosts = VhostManager(AMQP)
    uri = vhosts.create()
    try:
        server = subprocess.Popen([sys.executable, rpc_bench.__file__, "raw-server", uri], stdout=subprocess.PIPE,
                                  text=True)
        server.stdout.readline()
        result = rpc_bench.run_json(["raw-client", uri, "1000", "1"])
        server.kill()
    finally:
        vhosts.delete(uri, wait=True)
    return result["p50_ms"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--team", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5,000 people, 5 rounds")
    args = parser.parse_args()
    if args.quick:
        args.people, args.rounds = 5000, 5

    sys.path.insert(0, str(HERE.parent))
    from common import PG

    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager
    from chassis.uow import Store
    from contracts import Actor
    from contracts import feedback as c
    from feedback import access, errors
    from feedback.repositories import FeedbackUnitOfWork
    from feedback.settings import FeedbackSettings
    from feedback.usecases import activity, reports

    floor = raw_floor()
    pg = PgManager(PG)
    name = f"jxb_feedback_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    try:
        upgrade("feedback", url)
        errors.register()
        access.register()
        started = time.perf_counter()
        made = generate(url, args.people, args.weeks, args.team)
        print(f"generated {args.people:,} people, {made['reports']:,} weekly reports, {made['visits']:,} visits "
              f"({args.weeks} weeks) in {time.perf_counter() - started:.1f} s")
        print(f"raw RPC floor (py-amqp round trip) p50 {floor:.2f} ms\n")
        store = Store.from_url(url, "feedback", pool_size=4)

        def uow():
            unit = FeedbackUnitOfWork(store, actor=None, clock=lambda: NOW)
            unit.settings = FeedbackSettings()
            return unit

        def line(label, seconds, target):
            ms = seconds * 1000
            print(f"  {label:<62} {ms:>9.1f} ms  = {ms / floor:>8.1f} x floor  (target {target})")

        manager = Actor(subject=made["manager"])
        week = "2026-W49"
        started = time.perf_counter()
        reports.team_summary(uow(), manager, c.GetTeamSummary(period=week))
        line("first call: loads the org read model's index (cached after)", time.perf_counter() - started, "-")
        samples = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            summary = reports.team_summary(uow(), manager, c.GetTeamSummary(period=week))
            samples.append(time.perf_counter() - started)
        samples.sort()
        print(f"team summary: {summary.team_size} reports, {summary.reported} reported, "
              f"{len(summary.blockers)} blockers")
        line(f"team summary, {args.team} reports, one week (p50 of {args.rounds})", samples[len(samples) // 2],
             "<= 200 ms")
        line("team summary (p95)", samples[min(len(samples) - 1, int(len(samples) * 0.95))], "<= 200 ms")

        admin = Actor(subject="bench", kind="service")
        for months in (1, 6):
            started = time.perf_counter()
            view = reports.participation(uow(), admin, c.GetParticipation(scope="unit", scope_id="co",
                                                                          month="2026-11", trend_months=months))
            line(f"participation of {args.people:,} people, 2026-11, trend of {months} month(s)",
                 time.perf_counter() - started, "<= 10 s")
        print(f"  (rate {view.rate}, {view.submitted:,} of {view.expected:,})")
        started = time.perf_counter()
        events = reports.publish_participation(uow(), "2026-11")
        line(f"monthly participation events (every team and unit: {events:,})", time.perf_counter() - started,
             "-")
        started = time.perf_counter()
        flagged = activity.detect_zero_activity(uow())
        line(f"zero-activity detection, {args.people:,} people x {args.weeks} weeks ({flagged:,} flagged)",
             time.perf_counter() - started, "<= 10 s")
        started = time.perf_counter()
        again = activity.detect_zero_activity(uow())
        line(f"zero-activity detection again (nothing new: {again})", time.perf_counter() - started, "<= 10 s")
        store.engine.dispose()
    finally:
        pg.drop(name)


if __name__ == "__main__":
    main()
