"""Services that never saw the directory's events catch up with it (chassis.access.OrgSync over
`compliance.org_snapshot`): goals and the gateway started after the organisation was built, while compliance was
down, decide correctly once compliance is back; later changes still arrive as events; a resync request repairs a
read model restored from an old backup."""
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, delete, text, update

from chassis.access import OrgSync
from chassis.access.readmodel import META_KEY, meta_table, people_table
from chassis.errors import Forbidden, InvalidInput
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_port

SYNC = {"ORG_SYNC_RPC_TIMEOUT": 0.5, "ORG_SYNC_FIRST_RETRY": 0.1, "ORG_SYNC_MAX_BACKOFF": 0.5,
        "EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.1}


def sync_of(container) -> OrgSync:
    return next(d for d in container.dependencies if isinstance(d, OrgSync))


def unsent(url) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM chassis_outbox WHERE sent_at IS NULL")).scalar()
    finally:
        engine.dispose()


class Tokens:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def __call__(self, subject):
        now = int(time.time())
        return jwt.encode({"iss": "sync-test", "aud": "jixiao", "sub": subject, "iat": now, "exp": now + 600},
                          self.key, algorithm="ES256")


def test_goals_and_the_gateway_started_after_the_directory_catch_up_with_it(
        start_compliance, seed_org, callers, run_services, pg_database, compliance_url):
    from gateway.service import GatewayService
    from goals.service import GoalsService

    # the organisation is built, and someone erased, before goals and the gateway exist
    compliance = start_compliance()["compliance"]
    seed_org()
    root = callers("root").compliance
    root.set_grants({"subject_id": "root", "grants": [{"role": "admin"}]})
    callers("H").compliance.request_erasure({"person_id": "P"})
    wait_for(lambda: unsent(compliance_url) == 0, message="every directory event published")
    compliance.stop()

    tokens, goals_url = Tokens(), pg_database("goals")
    started = run_services({
        GoalsService: {"DATABASE_URL": goals_url},
        GatewayService: {"DATABASE_URL": pg_database("gateway"), "JWT_PUBLIC_KEYS": tokens.pem,
                         "JWT_ISSUER": "sync-test", "JWT_AUDIENCE": "jixiao", "ENVIRONMENT": "test",
                         "ACTOR_CACHE_SECONDS": 0.1, "AUTH_FAILURES_PER_MINUTE": 6000},
    }, **SYNC)
    goals_sync, gateway_sync = sync_of(started["goals"]), sync_of(started["gateway"])
    base = f"http://127.0.0.1:{http_port(started['gateway'])}/api/v1"

    def me(subject):
        return requests.get(f"{base}/me", headers={"Authorization": f"Bearer {tokens(subject)}"}, timeout=10)

    # compliance is down: both keep trying; meanwhile nobody is known
    wait_for(lambda: goals_sync.failures >= 1 and gateway_sync.failures >= 1, message="retries")
    assert me("M").status_code == 401
    with pytest.raises(Forbidden):
        callers("root").goals.create_cycle({"name": "FY", "period": "year", "year": 2027})

    start_compliance()
    wait_for(lambda: goals_sync.state.startswith("synced") and gateway_sync.state.startswith("synced"),
             message="both caught up once compliance is back")
    assert "16 entities in 3 pages" in goals_sync.state  # 5 units, 7 people (P a tombstone), 4 grants

    # goals decides from the snapshot: the admin manages cycles, the line and HR read, others do not
    goals = callers("root").goals
    # a private cycle: only the line and HR read (a company-visible one opens goals to every colleague, issue 8)
    cycle = goals.create_cycle({"name": "FY", "period": "year", "year": 2027, "visibility": "private"})
    goals.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    callers("T").goals.create_goal({
        "cycle_id": cycle["id"], "title": "Uptime", "kind": "kpi", "weight": "100",
        "owner": {"kind": "person", "id": "T"},
        "kpi": {"direction": ">=", "target": "99.9", "unit": "%", "green": "99.9", "yellow": "99"}})
    listing = {"cycle_id": cycle["id"], "owner_id": "T"}
    for reader in ("T", "M", "G", "H"):
        assert [g["title"] for g in callers(reader).goals.list_goals(listing)["items"]] == ["Uptime"], reader
    for stranger in ("S", "A", "P"):  # HR elsewhere, the auditor, the erased colleague
        with pytest.raises(Forbidden):
            callers(stranger).goals.list_goals(listing)

    # the gateway knows people's roles from the snapshot; the erased person is nobody
    assert "manager" in me("M").json()["roles"] and "hr" in me("H").json()["roles"]
    assert me("P").status_code == 401

    # what changes after the snapshot arrives as events, as always
    root.set_grants({"subject_id": "H", "grants": []})
    wait_for(lambda: "hr" not in me("H").json()["roles"], message="the revoked grant reaches the gateway")

    # goals' read model restored from an old backup (T missing): a resync request repairs it
    engine = create_engine(goals_url)
    with engine.begin() as conn:
        conn.execute(delete(people_table).where(people_table.c.person_id == "T"))
        conn.execute(update(meta_table).where(meta_table.c.name == META_KEY)
                     .values(generation=meta_table.c.generation + 1))
    engine.dispose()
    wait_for(lambda: _denied(callers("M").goals, listing), message="T unknown to goals: M manages nobody")
    with pytest.raises(Forbidden):
        callers("M").compliance.request_org_resync({"reason": "goals restored"})  # administrators only
    with pytest.raises(InvalidInput):
        root.request_org_resync({"reason": ""})
    assert root.request_org_resync({"reason": "goals restored from a backup"})["request_id"]
    wait_for(lambda: not _denied(callers("M").goals, listing), message="T known again after the resync")


def _denied(goals, listing) -> bool:
    try:
        goals.list_goals(listing)
    except Forbidden:
        return True
    return False


def test_the_snapshot_is_for_services_and_administrators_with_bad_queries_refused(org, callers, amqp_uri,
                                                                                    rpc_client):
    from contracts import Actor

    service = rpc_client(amqp_uri, actor=Actor.system("goals"))
    first = service.compliance.org_snapshot({"kind": "people", "limit": 3})
    assert [p["person_id"] for p in first["people"]] == ["A", "G", "H"] and first["next_cursor"] == "H"
    rest = callers("root").compliance.org_snapshot({"kind": "people", "after": "H"})
    assert [p["person_id"] for p in rest["people"]] == ["M", "P", "S", "T"] and rest["next_cursor"] is None
    assert rest["people"][-1] == {"person_id": "T", "version": 1, "name": "Target", "org_unit_id": "rd-p",
                                  "manager_id": "M", "job_family": None, "grade": None, "sequence": None,
                                  "location": None, "status": "active", "hired_on": None}
    units = service.compliance.org_snapshot({"kind": "units"})["units"]
    assert [(u["org_unit_id"], u["parent_id"]) for u in units][:2] == [("hq", None), ("hrd", "hq")]
    grants = service.compliance.org_snapshot({"kind": "grants"})["grants"]
    assert {g["subject_id"]: g["grants"] for g in grants}["H"] == [{"role": "hr", "org_unit_id": "rd"}]
    for subject in ("H", "T", None):  # HR, an employee, nobody: the whole directory is not theirs to read
        with pytest.raises(Forbidden):
            callers(subject).compliance.org_snapshot({"kind": "people"})
    for bad, field in (({"kind": "all"}, "kind"), ({"kind": "people", "limit": 0}, "limit"),
                       ({"kind": "people", "after": "x" * 200}, "after"), ({"kind": "units", "x": 1}, "x")):
        with pytest.raises(InvalidInput) as raised:
            service.compliance.org_snapshot(bad)
        assert field in [e["field"] for e in raised.value.errors], bad
