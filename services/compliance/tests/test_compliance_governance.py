"""Appeals, third-party clients, settings and presets, legal holds and the retention sweep, over RPC."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from chassis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, Unprocessable


def test_an_appeal_goes_to_hr_and_the_amendment_to_the_owning_service(org, callers, audit_log):
    target = callers("T").compliance
    appeal = target.submit_appeal({"target_kind": "rating", "target_ref": "rev-2026-T", "reasons": "Q3 was missed",
                                   "attachments": ["files/evidence-1.pdf"]})
    assert appeal["state"] == "submitted" and appeal["owning_service"] == "feedback" and not appeal["overdue"]
    with pytest.raises(Conflict):  # one open appeal per result
        target.submit_appeal({"target_kind": "rating", "target_ref": "rev-2026-T", "reasons": "again"})
    with pytest.raises(NotFound, match="no appeal"):  # the manager who rated may not even read it: as if missing
        callers("M").compliance.decide_appeal({"appeal_id": appeal["appeal_id"], "outcome": "upheld",
                                               "reason": "I rated it"})
    with pytest.raises(NotFound, match="no appeal"):  # HR outside scope: as if missing (issue 10 item 8)
        callers("S").compliance.get_appeal({"appeal_id": appeal["appeal_id"]})
    with pytest.raises(Forbidden):
        callers(None).compliance.submit_appeal({"target_kind": "rating", "target_ref": "x", "reasons": "r"})
    hr = callers("H").compliance
    assert [a["appeal_id"] for a in hr.list_appeals({"state": "submitted"})["appeals"]] == [appeal["appeal_id"]]
    assert callers("P").compliance.list_appeals({})["appeals"] == []
    assert hr.start_appeal_review({"appeal_id": appeal["appeal_id"]})["state"] == "under_review"
    with pytest.raises(InvalidInput) as raised:
        hr.decide_appeal({"appeal_id": appeal["appeal_id"], "outcome": "amended", "reason": "agreed"})
    assert raised.value.errors[0]["field"] == "amendment"
    with pytest.raises(InvalidInput) as raised:
        hr.decide_appeal({"appeal_id": appeal["appeal_id"], "outcome": "maybe", "reason": "x"})
    assert raised.value.errors[0]["field"] == "outcome"
    decided = hr.decide_appeal({"appeal_id": appeal["appeal_id"], "outcome": "amended", "reason": "Q3 target moved",
                                "amendment": {"rating": "meets"}})
    assert decided["state"] == "amended" and decided["decided_by"] == "H"
    assert target.get_appeal({"appeal_id": appeal["appeal_id"]})["amendment"] == {"rating": "meets"}
    with pytest.raises(Conflict):
        target.withdraw_appeal({"appeal_id": appeal["appeal_id"]})

    trail = audit_log.wait(lambda es: len(es) >= 3, subject="T", type="jixiao.compliance.appeal.*")
    assert [e["type"].split(".")[3] for e in trail] == ["submitted", "review_started", "decided"]
    assert trail[-1]["data"]["owning_service"] == "feedback" and trail[-1]["data"]["amendment"] == {"rating": "meets"}

    other = target.submit_appeal({"target_kind": "goal_result", "target_ref": "g-9", "reasons": "wrong data"})
    assert target.withdraw_appeal({"appeal_id": other["appeal_id"]})["state"] == "withdrawn"


def test_hr_hears_once_of_each_appeal_past_its_deadline(start_compliance, seed_org, callers, compliance_url,
                                                       audit_log):
    start_compliance(DEADLINE_CHECK_INTERVAL=0.1)
    seed_org()
    me, hr = callers("T").compliance, callers("H").compliance
    late = me.submit_appeal({"target_kind": "rating", "target_ref": "r-late", "reasons": "x"})["appeal_id"]
    on_time = me.submit_appeal({"target_kind": "rating", "target_ref": "r-on-time", "reasons": "x"})["appeal_id"]
    decided = me.submit_appeal({"target_kind": "goal_result", "target_ref": "g-1", "reasons": "x"})["appeal_id"]
    hr.decide_appeal({"appeal_id": decided, "outcome": "upheld", "reason": "the data is right"})
    hr.start_appeal_review({"appeal_id": late})
    past_due(compliance_url, late, decided)

    [notice] = audit_log.wait(lambda es: len(es) >= 1, type="jixiao.compliance.appeal.overdue.v1")
    assert notice["data"]["appeal_id"] == late and notice["data"]["state"] == "under_review"
    assert notice["data"]["reviewer"] == "H" and notice["data"]["owning_service"] == "feedback"
    assert hr.get_appeal({"appeal_id": late})["overdue"] and not hr.get_appeal({"appeal_id": on_time})["overdue"]

    # later sweeps tell of the next late appeal only
    other = callers("G").compliance.submit_appeal({"target_kind": "rating", "target_ref": "r-g", "reasons": "y"})
    past_due(compliance_url, other["appeal_id"])
    notices = audit_log.wait(lambda es: len(es) >= 2, type="jixiao.compliance.appeal.overdue.v1")
    assert [n["data"]["appeal_id"] for n in notices] == [late, other["appeal_id"]]


def past_due(url, *appeal_ids):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE compliance_appeals SET due_at = :t WHERE appeal_id = ANY(:ids)"),
                     {"t": datetime.now(UTC) - timedelta(hours=1), "ids": list(appeal_ids)})
    engine.dispose()


def lapse_agreement(url, client_id, on="2026-11-30"):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE compliance_clients SET dpa_expires = :d WHERE client_id = :c"),
                     {"d": on, "c": client_id})
    engine.dispose()


def test_api_clients_keys_and_the_gateway_check(org, callers, compliance_url):
    root = callers("root").compliance
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    client = root.register_client({"name": "Payroll", "scopes": ["goals:read"], "event_patterns": ["jixiao.goals.*"],
                                   "dpa_ref": "DPA-2026-07", "dpa_expires": expires})
    issued = root.issue_api_key({"client_id": client["client_id"]})
    gateway = callers(None).compliance
    identity = gateway.authenticate_api_key({"api_key": issued["api_key"]})
    assert identity == {"client_id": client["client_id"], "name": "Payroll", "scopes": ["goals:read"],
                        "event_patterns": ["jixiao.goals.*"], "key_id": issued["key_id"]}
    assert gateway.authenticate_api_key({"api_key": issued["api_key"]}) == identity  # cached verification
    with pytest.raises(Unauthenticated):
        gateway.authenticate_api_key({"api_key": issued["api_key"][:-4] + "AAAA"})
    with pytest.raises(Unauthenticated):
        gateway.authenticate_api_key({"api_key": "jx_live_nothing"})
    root.revoke_api_key({"key_id": issued["key_id"]})
    with pytest.raises(Forbidden):  # revocation wins over the cache
        gateway.authenticate_api_key({"api_key": issued["api_key"]})
    second = root.issue_api_key({"client_id": client["client_id"], "environment": "test"})
    assert gateway.authenticate_api_key({"api_key": second["api_key"]})["key_id"] == second["key_id"]
    root.revoke_client({"client_id": client["client_id"]})
    with pytest.raises(Forbidden):
        gateway.authenticate_api_key({"api_key": second["api_key"]})
    # an agreement that lapses after registration (one that has already expired is refused: see below)
    lapsed = root.register_client({"name": "Old", "scopes": [], "dpa_ref": "DPA-1", "dpa_expires": expires})
    old_key = root.issue_api_key({"client_id": lapsed["client_id"]})
    lapse_agreement(compliance_url, lapsed["client_id"])
    with pytest.raises(Forbidden, match="expired"):
        gateway.authenticate_api_key({"api_key": old_key["api_key"]})
    for bad, field in (({"name": "X", "scopes": ["bad scope"], "dpa_ref": "D", "dpa_expires": expires}, "scopes"),
                       ({"name": "X", "dpa_ref": "", "dpa_expires": expires}, "dpa_ref"),
                       ({"name": "X", "dpa_ref": "D"}, "dpa_expires")):
        with pytest.raises(InvalidInput) as raised:
            root.register_client(bad)
        assert raised.value.errors[0]["field"] == field
    with pytest.raises(Forbidden):
        callers("H").compliance.register_client({"name": "X", "dpa_ref": "D", "dpa_expires": expires})
    assert [c["name"] for c in root.list_clients()] == ["Old", "Payroll"]


def test_an_expired_agreement_is_refused_and_a_lapsed_one_named(org, callers, compliance_url, count_rows):
    """issue 8 item 10: no registration or key with an expired DPA (422 naming it); a key whose DPA lapsed later
    answers a 403 that says so (not a bare 'not valid')."""
    root = callers("root").compliance
    before = count_rows("compliance_clients")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    with pytest.raises(Unprocessable) as raised:
        root.register_client({"name": "Lapsed", "dpa": {"ref": "DPA-2025-3", "expires_on": yesterday}})
    assert raised.value.errors[0]["field"] == "dpa.expires_on" and "expired" in raised.value.detail
    with pytest.raises(Unprocessable) as raised:  # the flat form names its own field
        root.register_client({"name": "Lapsed", "dpa_ref": "D", "dpa_expires": yesterday + "T12:00:00+00:00"})
    assert raised.value.errors[0]["field"] == "dpa_expires"
    assert count_rows("compliance_clients") == before  # nothing half-written
    today = datetime.now(UTC).date().isoformat()  # the agreement's last day is still in force
    client = root.register_client({"name": "Payroll", "scopes": ["goals:read"],
                                   "dpa": {"ref": "DPA-2026-9", "expires_on": today}})
    assert client["dpa"] == {"ref": "DPA-2026-9", "expires_on": today} and not client["dpa_lapsed"]
    key = root.issue_api_key({"client_id": client["client_id"]})
    lapse_agreement(compliance_url, client["client_id"])
    with pytest.raises(Unprocessable) as raised:
        root.issue_api_key({"client_id": client["client_id"]})
    assert raised.value.errors[0]["field"] == "dpa.expires_on"
    with pytest.raises(Forbidden) as raised:
        callers(None).compliance.authenticate_api_key({"api_key": key["api_key"]})
    assert raised.value.extra["reason"] == "dpa-lapsed" and raised.value.extra["dpa_expires_on"] == "2026-11-30"
    assert raised.value.errors[0]["field"] == "dpa.expires_on"
    assert root.get_client({"client_id": client["client_id"]})["dpa_lapsed"]


def test_presets_apply_in_one_step_and_settings_validate(org, callers):
    root = callers("root").compliance
    pipl = root.apply_preset({"preset": "pipl"})["settings"]
    assert pipl["preset"] == "pipl" and pipl["dsr_deadline_days"] == 15
    assert pipl["cross_border_transfer"]["allowed"] is False
    assert pipl["retention"]["person"]["anonymize_after_years"] == 2
    assert "个人信息保护法" in callers("T").compliance.privacy_notice()["zh"]
    gdpr = root.apply_preset({"preset": "gdpr"})["settings"]
    assert gdpr["dsr_deadline_days"] == 30 and gdpr["cross_border_transfer"]["allowed"] is True
    with pytest.raises(InvalidInput) as raised:
        root.update_settings({"settings": {"dsr_deadline_days": 0}})
    assert raised.value.errors[0]["field"] == "settings.dsr_deadline_days"
    with pytest.raises(InvalidInput) as raised:
        root.update_settings({"settings": {"retention": {"audit": {"anonymize_after_years": 1}}}})
    assert raised.value.errors[0]["field"] == "settings" and "hash-chained" in raised.value.errors[0]["message"]
    with pytest.raises(NotFound):
        root.apply_preset({"preset": "ccpa"})
    with pytest.raises(Forbidden):
        callers("H").compliance.apply_preset({"preset": "pipl"})
    assert root.get_settings()["settings"]["preset"] == "gdpr"


def test_the_daily_sweep_purges_and_anonymizes_once_respecting_holds(org, callers, compliance_url, audit_log):
    root = callers("root").compliance
    root.apply_preset({"preset": "pipl"})
    for person_id in ("G", "P"):  # both left the company three years ago
        root.upsert_person({"person_id": person_id, "name": person_id, "org_unit_id": "rd", "status": "terminated"})
    appeal = callers("T").compliance.submit_appeal({"target_kind": "rating", "target_ref": "r-1", "reasons": "x"})
    callers("T").compliance.withdraw_appeal({"appeal_id": appeal["appeal_id"]})
    old = datetime.now(UTC) - timedelta(days=4 * 365)
    engine = create_engine(compliance_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE compliance_people SET ended_at = :t WHERE person_id IN ('G', 'P')"), {"t": old})
        conn.execute(text("UPDATE compliance_appeals SET closed_at = :t, submitted_at = :t"), {"t": old})
        conn.execute(text("UPDATE compliance_audit_entries SET time = :t WHERE sequence <= 3"), {"t": old})
    engine.dispose()
    root.place_hold({"reason": "labour dispute", "subject": "P"})

    swept = root.run_retention_sweep()
    assert swept["ran"] and swept["anonymized"] == {"person": 1} and swept["purged"]["appeal"] == 1
    assert swept["purged"]["audit"] == 3
    assert root.run_retention_sweep()["ran"] is False  # once a day
    assert root.get_person({"person_id": "P"})["name"] == "P"  # held
    with pytest.raises(NotFound):
        root.get_person({"person_id": "G"})
    purges = audit_log.wait(lambda es: len(es) >= 3, type="jixiao.compliance.records.purged.v1")
    assert {e["data"]["record_type"] for e in purges} == {"person", "appeal", "audit"}
    audit_log.wait(lambda es: len(es) == 1, type="jixiao.compliance.retention.sweep_requested.v1")
    report = callers("A").compliance.verify_audit({})
    assert report["ok"], report  # the log re-anchored after its purged prefix
    with pytest.raises(Forbidden):
        callers("H").compliance.run_retention_sweep()
    with pytest.raises(InvalidInput) as raised:
        root.place_hold({"reason": "no criterion"})
    assert raised.value.errors[0]["field"] == "subject"
