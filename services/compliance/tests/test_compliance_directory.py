"""The org directory over RPC: CRUD, events for every service's read model, bad input, denials, `decide`."""
import pytest
from sqlalchemy import create_engine, select

from chassis.access.readmodel import people_table
from chassis.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.compliance import AuditCheckpointed


def test_directory_crud_publishes_versioned_events_and_keeps_the_read_model(org, callers, compliance_url,
                                                                             audit_log):
    root, hr, peer = callers("root").compliance, callers("H").compliance, callers("P").compliance
    card = peer.get_person({"person_id": "T"})
    assert card["name"] == "Target" and card["email"] == "t@example.com" and card["phone"] is None
    assert card["manager_id"] is None  # a colleague sees the address-book card only
    full = callers("M").compliance.get_person({"person_id": "T"})
    assert full["manager_id"] == "M" and full["email"] is None  # the manager: the record, not the contact data
    mine = callers("T").compliance.get_person({"person_id": "T"})
    assert mine["email"] == "t@example.com"

    updated = hr.upsert_person({"person_id": "T", "name": "Target Two", "org_unit_id": "rd-p", "manager_id": "M",
                                "phone": "138 0013 8000", "sequence": "technical", "grade": "P6"})
    assert updated["version"] == 2 and updated["phone"] == "+8613800138000"
    again = hr.upsert_person({"person_id": "T", "name": "Target Two", "org_unit_id": "rd-p", "manager_id": "M",
                              "phone": "138 0013 8000", "sequence": "technical", "grade": "P6"})
    assert again["version"] == 2  # nothing changed: no new version

    entries = audit_log.wait(lambda es: any(e["data"].get("name") == "Target Two" for e in es),
                           subject="T", type="jixiao.compliance.person.*")
    assert [e["data"]["version"] for e in entries] == [1, 2]
    assert entries[-1]["actor"] == "H"

    page = root.list_people({"org_unit_id": "rd", "limit": 2})
    assert [p["person_id"] for p in page["people"]] == ["G", "M"] and page["next_cursor"] == "M"
    rest = root.list_people({"org_unit_id": "rd", "after": page["next_cursor"]})
    assert [p["person_id"] for p in rest["people"]] == ["P", "T"] and rest["next_cursor"] is None

    engine = create_engine(compliance_url)
    with engine.connect() as conn:  # compliance's own read model moved in the same transaction
        assert conn.execute(select(people_table.c.version, people_table.c.name)
                            .where(people_table.c.person_id == "T")).one() == (2, "Target Two")
    engine.dispose()


def test_bad_input_names_the_field_and_writes_nothing(org, callers, count_rows):
    root = callers("root").compliance
    # the audit witness seals the seeding's entries whenever its timer fires (late on a loaded machine): its
    # checkpoint events are not writes of the refused requests
    tables = ("compliance_people", f"chassis_outbox WHERE event_type <> '{AuditCheckpointed.type}'")
    before = count_rows(*tables)
    cases = [
        ({"person_id": "X1", "name": "X", "org_unit_id": "nowhere"}, "org_unit_id"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "manager_id": "ghost"}, "manager_id"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "email": "not-an-email"}, "email"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "email": "t@example.com"}, "email"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "phone": "12"}, "phone"),
        ({"person_id": "X 1", "name": "X", "org_unit_id": "rd"}, "person_id"),
        ({"person_id": "X1", "name": "", "org_unit_id": "rd"}, "name"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "sequence": "wizard"}, "sequence"),
        ({"person_id": "X1", "name": "X", "org_unit_id": "rd", "colour": "blue"}, "colour"),
        ({"person_id": "G", "name": "G", "org_unit_id": "rd", "manager_id": "T"}, "manager_id"),  # a loop
        ({"person_id": "X1", "name": "X\x00", "org_unit_id": "rd"}, "name"),  # NUL: a 400, not a driver error
    ]
    for payload, field in cases:
        with pytest.raises(InvalidInput) as raised:
            root.upsert_person(payload)
        assert raised.value.status == 400
        assert field in [e["field"] for e in raised.value.errors], (payload, raised.value.errors)
    with pytest.raises(InvalidInput) as raised:
        root.upsert_org_unit({"org_unit_id": "rd", "name": "R&D", "parent_id": "rd-p"})
    assert raised.value.errors[0]["field"] == "parent_id"
    with pytest.raises(InvalidInput) as raised:
        root.set_grants({"subject_id": "P", "grants": [{"role": "hr"}]})
    assert raised.value.errors[0]["field"] == "grants.0.org_unit_id"
    with pytest.raises(Conflict):
        root.remove_org_unit({"org_unit_id": "rd"})
    with pytest.raises(NotFound):
        root.get_person({"person_id": "nobody"})
    assert count_rows(*tables) == before


def test_denials_are_refused_and_recorded(org, callers, audit_log):
    hr_sales, peer = callers("S").compliance, callers("P").compliance
    with pytest.raises(Forbidden):
        hr_sales.upsert_person({"person_id": "T", "name": "T", "org_unit_id": "rd-p"})  # outside S's scope
    with pytest.raises(Forbidden):
        callers("H").compliance.upsert_person({"person_id": "H", "name": "Me", "org_unit_id": "hrd"})  # self
    with pytest.raises(Forbidden):
        peer.set_grants({"subject_id": "P", "grants": [{"role": "admin"}]})
    with pytest.raises(Forbidden):
        callers(None).compliance.get_person({"person_id": "T"})
    with pytest.raises(Forbidden):
        peer.query_audit({})
    denied = audit_log.wait(lambda es: len(es) >= 5, type="jixiao.compliance.access.denied.v1")
    assert {(e["actor"], e["data"]["action"]) for e in denied} >= {
        ("S", "person.update"), ("H", "person.update"), ("P", "grants.manage"), (None, "person.lookup"),
        ("P", "audit.read")}


MATRIX = {
    # (actor, action, resource) -> allowed, decided over RPC for the actor in context
    ("T", "goal.read", ("goal", "T", None)): True,
    ("M", "goal.read", ("goal", "T", None)): True,
    ("G", "goal.read", ("goal", "T", None)): True,
    ("P", "goal.read", ("goal", "T", None)): False,
    ("H", "goal.read", ("goal", "T", None)): True,
    ("S", "goal.read", ("goal", "T", None)): False,
    ("A", "goal.read", ("goal", "T", None)): False,
    ("M", "goal.update", ("goal", "T", None)): True,
    ("G", "goal.update", ("goal", "T", None)): False,
    ("T", "goal.approve", ("goal", "T", None)): False,
    ("G", "goal.approve", ("goal", "T", None)): True,
    ("A", "audit.read", ("audit", None, None)): True,
    ("H", "audit.read", ("audit", None, None)): False,
    ("root", "audit.verify", ("audit", None, None)): True,
    ("H", "appeal.decide", ("appeal", "T", None)): True,
    ("M", "appeal.decide", ("appeal", "T", None)): False,
    ("S", "cycle.manage", ("cycle", None, "sales")): True,
    ("S", "cycle.manage", ("cycle", None, "rd")): False,
    ("T", "export.read", ("export", "T", None)): True,
    ("M", "export.read", ("export", "T", None)): False,
    ("P", "feedback.give", ("feedback", "T", None)): True,
    (None, "feedback.give", ("feedback", "T", None)): False,
}


def test_the_authorization_matrix_over_rpc(org, callers):
    for (subject, action, (kind, owner, unit)), allowed in MATRIX.items():
        decision = callers(subject).compliance.decide(
            {"action": action, "resource": {"kind": kind, "owner": owner, "org_unit": unit}})
        assert decision["allowed"] is allowed, (subject, action, decision["reason"])
    with pytest.raises(InvalidInput) as raised:
        callers("T").compliance.decide({"action": "", "resource": {"kind": "goal"}})
    assert raised.value.errors[0]["field"] == "action"


def test_grants_revoked_and_people_terminated_lose_rights_at_once(org, callers):
    root = callers("root").compliance
    decide = {"action": "goal.read", "resource": {"kind": "goal", "owner": "T"}}
    assert callers("H").compliance.decide(decide)["allowed"]
    root.set_grants({"subject_id": "H", "grants": []})
    assert not callers("H").compliance.decide(decide)["allowed"]
    root.upsert_person({"person_id": "M", "name": "Platform lead", "org_unit_id": "rd-p", "manager_id": "G",
                        "status": "terminated"})
    assert not callers("M").compliance.decide(decide)["allowed"]


def test_one_card_rule_for_the_list_and_the_single_read(org, callers):
    """issue 10 item 8: listing a unit gave any employee everyone's grade, job family and manager; now the list
    shows each person exactly as the single read does."""
    root = callers("root").compliance
    root.upsert_person({"person_id": "T", "name": "Target", "org_unit_id": "rd-p", "manager_id": "M", "grade": "P6",
                        "job_family": "engineering", "email": "t@example.com"})
    for reader in ("P", "T", "M", "G", "H", "S", "root"):
        me = callers(reader).compliance
        listed = {p["person_id"]: p for p in me.list_people({"org_unit_id": "rd-p"})["people"]}
        assert set(listed) == {"M", "P", "T"}
        for person_id, seen in listed.items():
            assert seen == me.get_person({"person_id": person_id}), (reader, person_id)
    peer_view = {p["person_id"]: p for p in callers("P").compliance.list_people({"org_unit_id": "rd-p"})["people"]}
    assert peer_view["T"]["grade"] is None and peer_view["T"]["job_family"] is None
    assert peer_view["T"]["manager_id"] is None and peer_view["T"]["email"] == "t@example.com"
    line = {p["person_id"]: p for p in callers("G").compliance.list_people({"org_unit_id": "rd-p"})["people"]}
    assert line["T"]["grade"] == "P6" and line["T"]["manager_id"] == "M"  # the indirect manager: the record
