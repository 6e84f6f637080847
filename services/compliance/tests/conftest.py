"""Shared fixtures of the compliance RPC tests: the service on RabbitMQ + PostgreSQL, callers per role, a small
organisation created through the RPCs."""
import pytest

from chassis.testing.plugin import wait_for
from compliance.service import ComplianceService
from contracts import Actor

FAST = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.1}

# hq ─┬─ rd ── rd-p     T works in rd-p for M; M reports to G; H is HR for rd; S is HR for sales;
#     ├─ sales         A is the auditor; root is the bootstrap administrator.
#     └─ hrd
UNITS = [("hq", "总部", None), ("rd", "研发中心", "hq"), ("rd-p", "平台部", "rd"), ("sales", "销售部", "hq"),
         ("hrd", "人力资源部", "hq")]
PEOPLE = [("G", "VP R&D", "rd", None), ("M", "Platform lead", "rd-p", "G"), ("T", "Target", "rd-p", "M"),
          ("P", "Peer", "rd-p", "M"), ("H", "HR R&D", "hrd", None), ("S", "HR Sales", "hrd", None),
          ("A", "Auditor", "hq", None)]


def person(subject: str) -> Actor:
    return Actor(subject=subject, kind="person")


@pytest.fixture
def compliance_url(pg_database):
    return pg_database("compliance")


@pytest.fixture
def witness_path(tmp_path):
    """The operator's witness of this test's audit log (never the shared var/ of a developer's machine)."""
    return tmp_path / "audit-witness.jsonl"


@pytest.fixture
def start_compliance(run_services, compliance_url, witness_path):
    def start(extra=None, **config):
        # appeal targets are checked with goals/feedback only where a test runs them (test_compliance_appeals)
        settings = {"DATABASE_URL": compliance_url, "BOOTSTRAP_ADMINS": "root", "DSR_SERVICES": "goals",
                    "DSR_TIMEOUT": 1.0, "AUDIT_SEAL_INTERVAL": 0.05, "APPEAL_TARGET_CHECKS": [],
                    "AUDIT_WITNESS_PATH": str(witness_path), **config}
        return run_services({ComplianceService: settings, **(extra or {})}, **FAST)
    return start


@pytest.fixture
def callers(amqp_uri, rpc_client):
    made = {}

    def caller(subject: str | None):
        if subject not in made:
            made[subject] = rpc_client(amqp_uri, actor=None if subject is None else person(subject), timeout=15)
        return made[subject]
    return caller


def _seed_org(callers):
    root = callers("root").compliance
    for unit_id, name, parent in UNITS:
        root.upsert_org_unit({"org_unit_id": unit_id, "name": name, "parent_id": parent})
    for person_id, name, unit, manager in PEOPLE:
        root.upsert_person({"person_id": person_id, "name": name, "org_unit_id": unit, "manager_id": manager,
                            "email": f"{person_id.lower()}@example.com"})
    root.set_grants({"subject_id": "H", "grants": [{"role": "hr", "org_unit_id": "rd"}]})
    root.set_grants({"subject_id": "S", "grants": [{"role": "hr", "org_unit_id": "sales"}]})
    root.set_grants({"subject_id": "A", "grants": [{"role": "auditor"}]})


@pytest.fixture
def seed_org(callers):
    return lambda: _seed_org(callers)


@pytest.fixture
def org(start_compliance, callers):
    containers = start_compliance()
    _seed_org(callers)
    return containers


class AuditLog:
    """The audit log as the auditor sees it over RPC."""

    def __init__(self, callers):
        self.callers = callers

    def entries(self, **query):
        return self.callers("A").compliance.query_audit({"limit": 1000, **query})["entries"]

    def wait(self, predicate, message="audit entries", **query):
        return wait_for(lambda: (lambda found: found if predicate(found) else None)(self.entries(**query)),
                        message=message)


@pytest.fixture
def audit_log(callers):
    return AuditLog(callers)


@pytest.fixture
def count_rows(compliance_url):
    """`count_rows(*tables)` -> row counts, to show that a refused request wrote nothing."""
    from sqlalchemy import create_engine, text

    def count(*tables):
        engine = create_engine(compliance_url)
        try:
            with engine.connect() as conn:
                return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
        finally:
            engine.dispose()
    return count
