"""The org directory and the data-subject contract: people who move take their running goals with them;
`export_subject_data` gives a person everything goals holds about them; an erasure request pseudonymizes it
(keeping what a legal hold covers) and answers with goals' erasure.completed event, once."""
import uuid

from chassis.amqp import OutgoingMessage
from chassis.testing.plugin import wait_for
from contracts import Envelope
from contracts.compliance import ErasureRequested, HoldRef
from contracts.org import PersonChanged


def test_moves_export_and_erasure(goals_service, uid):
    s = goals_service
    emp, mgr, hr, outsider = f"{uid}-emp", f"{uid}-mgr", f"{uid}-hr", f"{uid}-outsider"
    root, old, new = f"{uid}-root", f"{uid}-old", f"{uid}-new"
    s.org(units=[(root, None, "Root"), (old, root, "Old team"), (new, root, "New team")],
          people=[(emp, old, mgr), (mgr, old, None), (hr, root, None), (outsider, root, None)],
          grants={hr: [("hr", root)]})
    admin = s.as_(hr)
    cycle = admin.create_cycle({"name": "FY", "period": "year", "year": 2027})
    cycle = admin.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    me, boss = s.as_(emp), s.as_(mgr)
    goal = me.create_goal({"cycle_id": cycle["id"], "title": "Accuracy", "kind": "kpi", "weight": "100",
                           "owner": {"kind": "person", "id": emp},
                           "kpi": {"direction": "=", "target": "100", "unit": "%", "green": "0", "yellow": "1"}})
    me.record_progress({"goal_id": goal["id"], "value": "96", "comment": "my mother was ill in March"})
    [review] = boss.list_reviews({"state": "open"})["items"]
    boss.record_commitment({"goal_id": goal["id"], "kind": "training", "description": "audit course"})
    proposal = boss.propose_change({"changes": [{"goal_id": goal["id"], "field": "target", "value": "99"}],
                                    "rationale": "realistic"})
    me.reject_proposal({"proposal_id": proposal["proposal_id"], "comment": "I can do 100 with help"})

    # a move to another unit carries the running goals along (the board groups by unit)
    s.publish(PersonChanged(person_id=emp, version=s.next_version(), name="Emp", org_unit_id=new, manager_id=mgr))
    wait_for(lambda: s.scalar("select org_unit_id from goals where id = :g", g=goal["id"]) == new,
             message="the goal followed its owner")

    # export: the person themself (or compliance, a service); nobody else
    assert s.fails(s.as_(outsider).export_subject_data, {"request_id": "r1", "subject": emp}).status == 403
    export = me.export_subject_data({"request_id": "r1", "subject": emp})
    assert export["service"] == "goals" and export["subject"] == emp
    records = export["records"]
    assert [g["id"] for g in records["goals"]] == [goal["id"]]
    assert records["progress_updates"][0]["comment"] == "my mother was ill in March"
    assert [r["id"] for r in records["reviews"]] == [review["id"]]
    assert len(records["negotiation_entries"]) == 2 and len(records["commitments"]) == 1
    assert "1 goals" in export["summary"]
    by_service = s.as_("service:compliance", kind="service").export_subject_data({"request_id": "r2",
                                                                                  "subject": emp})
    assert by_service["records"]["goals"] == records["goals"]

    # erasure: pseudonymized everywhere except what the hold covers; the answer is published once
    pseudonym = f"anon-{uuid.uuid4().hex[:8]}"
    request = ErasureRequested(request_id="dsr-1", person_id=emp, pseudonym=pseudonym, services=["goals", "feedback"],
                               holds=[HoldRef(hold_id="h1", record_type="reviews", record_ids=[review["id"]],
                                              reason="appeal pending")])
    envelope = Envelope.wrap(request)
    for _ in range(2):  # a redelivery changes nothing
        s._publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    wait_for(lambda: s.events(0, ".erasure.completed.v1"), message="erasure answered")
    [(_, answer)] = s.events(0, ".erasure.completed.v1")
    assert answer["request_id"] == "dsr-1" and answer["person_id"] == emp and answer["erased_records"] > 0
    assert answer["held_records"] == [f"reviews:{review['id']}"]
    assert s.scalar("select owner_id from goals where id = :g", g=goal["id"]) == pseudonym
    assert s.scalar("select count(*) from progress_updates where actor_id = :p", p=emp) == 0
    assert s.scalar("select comment from progress_updates where goal_id = :g", g=goal["id"]) == ""
    assert s.scalar("select owner_id from reviews where id = :r", r=review["id"]) == emp  # held
    assert s.scalar("select owner_id from negotiations where owner_id = :p", p=pseudonym) == pseudonym
    assert s.scalar("select text from negotiation_entries where actor_id = :p", p=pseudonym) == ""
    assert s.scalar("select text from negotiation_entries where actor_id = :m", m=mgr) == "realistic"
    assert s.scalar("select count(*) from goals where owner_id = :p or responsible_id = :p", p=emp) == 0

    # a request for other services only is not goals' to answer
    other = Envelope.wrap(ErasureRequested(request_id="dsr-2", person_id=mgr, pseudonym="anon-m",
                                           services=["feedback"]))
    s._publisher.publish(OutgoingMessage("compliance.events", other.type, other.model_dump_json()))
    wait_for(lambda: s.scalar("select count(*) from chassis_inbox where event_id = :e", e=other.id) == 1)
    assert len(s.events(0, ".erasure.completed.v1")) == 1
    assert s.scalar("select provider_id from commitments where goal_id = :g", g=goal["id"]) == mgr
