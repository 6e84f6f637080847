"""Shared by the compliance benchmarks: a migrated PostgreSQL database, a vhost, the service as a process."""
from __future__ import annotations

import importlib.util
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path


def _bench_common():
    # loaded by path: putting bench/ on sys.path would make bench/compliance shadow the compliance package
    spec = importlib.util.spec_from_file_location("bench_common", Path(__file__).resolve().parents[1] / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_common = _bench_common()
AMQP, PG, Process, percentile = _common.AMQP, _common.PG, _common.Process, _common.percentile

ADMIN = "bench-admin"


@contextmanager
def compliance_process(**config):
    """(amqp uri, database url) with compliance running under `nameko run` against them."""
    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager, VhostManager

    vhosts, pg = VhostManager(AMQP), PgManager(PG)
    uri = vhosts.create()
    name = f"jx_bench_compliance_{uuid.uuid4().hex[:6]}"
    url = pg.create(name)
    upgrade("compliance", url)
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-compliance-"))
    process = Process("compliance.service:ComplianceService",
                      {"AMQP_URI": uri, "DATABASE_URL": url, "BOOTSTRAP_ADMINS": ADMIN, **config}, workdir)
    try:
        yield uri, url
    finally:
        process.stop()
        vhosts.delete(uri)
        pg.drop(name)
