"""What the shared rate limit costs per request, beside its same-run references (issue 15 #6).

    python bench/gateway/ratelimit_bench.py [--requests 20000] [--clients 200] [--json out.json]

On a fresh, migrated gateway database on this machine's PostgreSQL (and on SQLite, the embedded suite's store):

- in-process: `RateLimiter.take` (the old per-replica bucket), the floor of any limiter;
- raw round trip: `SELECT 1` on the limiter's own autocommit connections, the floor of any shared store;
- shared, allowed: `SharedRateLimiter.take` for requests within the limit (leased: one upsert per lease of up
  to 64 tokens, a client's leases doubling from 1 as it keeps spending them);
- shared, one per call: the same with leases of one (`max_lease=1`: an upsert per request, as before leases);
- shared, denied: requests past the limit (answered in-process until their Retry-After: no round trip).

Each figure is the median (and the mean) per call over `--requests` calls spread over `--clients` keys, the
variants interleaved in 20 rounds, printed with its ratio to the raw round trip (and to the in-process bucket).
The gateway spends ~2.6 ms of CPU per one-RPC request (bench/gateway/README.md): the scale to read the shared
limiter's cost against.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "gateway"), str(ROOT / "libs" / "chassis"), str(ROOT / "libs" / "contracts")]

PG = os.environ.get("JIXIAO_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn, keys: list[str], n: int, offset: int) -> list[float]:
    """Seconds of each of `n` calls (keys taken in turn from `offset`)."""
    took = []
    for i in range(n):
        key = keys[(offset + i) % len(keys)]
        started = time.perf_counter()
        fn(key)
        took.append(time.perf_counter() - started)
    return took


def measure(url: str, n: int, clients: int) -> dict[str, float]:
    from chassis.db import create_db_engine
    from gateway.ratelimit import RateLimiter, SharedRateLimiter
    from gateway.ratelimit import _autocommit_engine as autocommit

    engine = create_db_engine(url)
    keys = [f"client:bench-{i}" for i in range(clients)]
    local = RateLimiter(rate=1e9, burst=10**9)
    shared = SharedRateLimiter(rate=1e9, burst=10**9)  # never denies: leases, one upsert per lease
    per_call = SharedRateLimiter(rate=1e9, burst=10**9, max_lease=1, namespace="per-call:")  # one upsert each
    tight = SharedRateLimiter(rate=0.001, burst=1)  # denies everything after the first call per key

    def raw(_: str) -> None:
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
        else:
            with autocommit(engine).connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()

    for key in keys:  # warm the pool and create the rows, as a running gateway has them
        shared.take(key, engine)
        per_call.take(key, engine)
        tight.take("denied:" + key, engine)
    # the two shared limiters keep their buckets in one table: their clients must not share keys
    variants = {"in_process": local.take, "raw_round_trip": raw,
                "shared_allowed": lambda k: shared.take(k, engine),
                "shared_per_call": lambda k: per_call.take(k, engine),
                "shared_denied": lambda k: tight.take("denied:" + k, engine)}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    rounds = 20  # interleaved, so a burst of load on this shared machine hits every variant alike
    for r in range(rounds):
        for name, fn in variants.items():
            samples[name] += timed(fn, keys, n // rounds, r * (n // rounds))
    engine.dispose()
    figures = {}
    for name, took in samples.items():
        figures[f"{name}_p50_us"] = percentile(took, 50) * 1e6
        figures[f"{name}_mean_us"] = sum(took) / len(took) * 1e6
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager

    pg = PgManager(PG)
    name = f"jxbench_ratelimit_{int(time.time())}"
    results: dict[str, dict[str, float]] = {}
    try:
        url = pg.create(name)
        upgrade("gateway", url)
        results["postgresql"] = measure(url, args.requests, args.clients)
    finally:
        pg.drop(name)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gateway.db"
        upgrade("gateway", url)
        results["sqlite"] = measure(url, args.requests, args.clients)

    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} calls over {args.clients} clients")
    for store, f in results.items():
        for stat in ("p50", "mean"):
            raw, local = f[f"raw_round_trip_{stat}_us"], f[f"in_process_{stat}_us"]
            print(f"{store} {stat}: raw round trip {raw:.0f} µs, in-process bucket {local:.1f} µs")
            for label, name in (("shared, allowed", "shared_allowed"), ("shared, one per call", "shared_per_call"),
                                ("shared, denied", "shared_denied")):
                value = f[f"{name}_{stat}_us"]
                print(f"  {label:20} {value:8.1f} µs = {value / raw:5.2f}x the raw round trip, "
                      f"{value / local:7.1f}x the in-process bucket")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
