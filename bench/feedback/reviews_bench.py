"""Review cycle benchmarks on PostgreSQL, at the use-case level (what the RPC runs after decoding its contract),
each figure printed beside the raw RPC floor measured in the same run (bench/rpc_bench.py's raw py-amqp round
trip, through run.py's helper). Leaves nothing behind (the database is dropped at the end).

    python bench/feedback/reviews_bench.py [--people 10000] [--rounds 20] [--quick]

Targets (issue 12): finalizing a cycle of 10,000 people (formula, rating, events) <= 30 s; the calibration view of
a 5,000-person unit (distribution + list page) p95 <= 150 ms.

The org: `--people` in 100 units under two divisions (d0, d1: half the people each), teams of 10. Manager reviews
are written in one statement for everyone (80% also with a self review), then the timed parts run the real use
cases: entering calibration (every rating by the pinned formula, its first version), the calibration view of d0,
and finalizing (every review calibrated -> finalized, one RatingFinalized each through the outbox).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]

_spec = importlib.util.spec_from_file_location("feedback_bench_run", HERE / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)
NOW = run.NOW

FORMULA = {"expression": "manager * 0.6 + self * 0.2 + peer * 0.2",
           "components": [{"name": "manager", "weight": "0.6", "required": True},
                          {"name": "self", "weight": "0.2"}, {"name": "peer", "weight": "0.2"}],
           "scale": {"low": 1, "high": 5, "bands": [{"label": "S", "min": "4.5"}, {"label": "A", "min": "3.75"},
                                                    {"label": "B", "min": "2.75"}, {"label": "C", "min": "2"},
                                                    {"label": "D", "min": "1"}]}}
TARGET = {"groups": {"top": ["S", "A"], "middle": ["B"], "bottom": ["C", "D"]},
          "target": {"top": "0.2", "middle": "0.7", "bottom": "0.1"}, "tolerance": "0.05", "hard": False}


def generate(url: str, people: int) -> None:
    from sqlalchemy import create_engine, text

    now = NOW.isoformat()
    ids = [f"p{i:06d}" for i in range(people)]
    managers = {}
    for i in range(0, people, 10):
        for p in ids[i + 1:i + 10]:
            managers[p] = ids[i]
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        run.copy(raw, "chassis_org_units", ["org_unit_id", "version", "name", "parent_id", "removed", "updated_at"],
                 [("co", 1, "Company", None, "f", now), ("d0", 1, "Division 0", "co", "f", now),
                  ("d1", 1, "Division 1", "co", "f", now)]
                 + [(f"u{i:03d}", 1, f"Unit {i}", f"d{i // 50}", "f", now) for i in range(100)])
        per_unit = max(1, people // 100)
        run.copy(raw, "chassis_org_people", ["person_id", "version", "name", "org_unit_id", "manager_id", "status",
                                             "erased", "updated_at"],
                 [(p, 1, p, f"u{min(99, i // per_unit):03d}", managers.get(p), "active", "f", now)
                  for i, p in enumerate(ids)])
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()


def write_reviews(url: str) -> int:
    """Every review manager-submitted (a score from 1 to 5 by a hash of the person), 80% with a self review."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        score = "((abs(hashtext(person_id)) % 401) / 100.0 + 1)::numeric(4,2)::text"
        count = conn.execute(text(
            "update reviews set state = 'manager_submitted', manager_submitted_at = now(), "
            f"manager_items = json_build_array(json_build_object('code', 'g1', 'kind', 'goal', 'score', {score}, "
            "'comment', '')), self_items = case when abs(hashtext(person_id)) % 5 = 0 then null else "
            "json_build_array(json_build_object('code', 'g1', 'kind', 'goal', 'score', '4', 'comment', '')) end, "
            "self_submitted_at = now()")).rowcount
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 people, 5 rounds")
    args = parser.parse_args()
    if args.quick:
        args.people, args.rounds = 1000, 5

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
    from feedback.usecases import reviews

    floor = run.raw_floor()
    pg = PgManager(PG)
    name = f"jxb_feedback_reviews_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    try:
        upgrade("feedback", url)
        errors.register()
        access.register()
        started = time.perf_counter()
        generate(url, args.people)
        print(f"generated {args.people:,} people in 100 units under 2 divisions in "
              f"{time.perf_counter() - started:.1f} s")
        print(f"raw RPC floor (py-amqp round trip) p50 {floor:.2f} ms\n")
        store = Store.from_url(url, "feedback", pool_size=4)

        def uow():
            unit = FeedbackUnitOfWork(store, actor=None, clock=lambda: NOW)
            unit.settings = FeedbackSettings()
            return unit

        def line(label, seconds, target):
            ms = seconds * 1000
            print(f"  {label:<62} {ms:>9.1f} ms  = {ms / floor:>8.1f} x floor  (target {target})")

        hr = Actor(subject="bench", kind="service")
        started = time.perf_counter()
        cycle = reviews.open_cycle(uow(), hr, c.OpenReviewCycle.model_validate({
            "goals_cycle_id": "FY2026", "name": "Year-end 2026", "formula": FORMULA, "distribution": TARGET}))
        line(f"open the cycle ({sum(cycle.counts.values()):,} reviews)", time.perf_counter() - started, "-")
        for stage in ("self_review", "manager_review"):
            reviews.advance(uow(), hr, c.AdvanceReviewCycle(cycle_id=cycle.id, to_stage=stage))
        written = write_reviews(url)
        print(f"  ({written:,} manager reviews written directly)")

        started = time.perf_counter()
        reviews.advance(uow(), hr, c.AdvanceReviewCycle(cycle_id=cycle.id, to_stage="calibration"))
        rating = time.perf_counter() - started
        line(f"enter calibration: {written:,} ratings by the pinned formula", rating, "-")

        samples = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            view = reviews.calibration(uow(), hr, c.GetCalibration(cycle_id=cycle.id, org_unit_id="d0", limit=50))
            samples.append(time.perf_counter() - started)
        samples.sort()
        print(f"  (d0: {view.total:,} ratings, {view.by_label}; off target: "
              f"{[x.group for x in view.distribution if x.off]})")
        line(f"calibration view of d0 ({view.total:,} people), p50 of {args.rounds}", samples[len(samples) // 2],
             "-")
        line("calibration view (p95)", samples[min(len(samples) - 1, int(len(samples) * 0.95))], "<= 150 ms")

        started = time.perf_counter()
        done = reviews.advance(uow(), hr, c.AdvanceReviewCycle(cycle_id=cycle.id, to_stage="finalized"))
        final = time.perf_counter() - started
        line(f"finalize: {done.counts.get('finalized', 0):,} reviews, RatingFinalized each", final, "-")
        line("ratings + finalize together", rating + final, "<= 30 s")
        store.engine.dispose()
    finally:
        pg.drop(name)


if __name__ == "__main__":
    main()
