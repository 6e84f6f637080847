"""The embedded mode (`make up` without a PostgreSQL URL): the migrations and the main flow work on SQLite too,
the set-based sweep and the board included."""
from datetime import date, timedelta

from chassis.migrations import upgrade
from chassis.testing.plugin import wait_for
from contracts import Actor, Envelope
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
from goals.service import GoalsService


def test_the_main_flow_on_sqlite(run_services, sqlite_url, amqp_uri, rpc_client):
    from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange

    upgrade("goals", sqlite_url)
    run_services({GoalsService: {"DATABASE_URL": sqlite_url}}, OUTBOX_POLL_INTERVAL=0.2,
                 EVENT_RETRY_DELAYS=[0.05, 0.1])
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])
    for event in (OrgUnitChanged(org_unit_id="co", version=1, name="Co"),
                  PersonChanged(person_id="m", version=1, name="M", org_unit_id="co"),
                  PersonChanged(person_id="e", version=1, name="E", org_unit_id="co", manager_id="m"),
                  RoleGrantsChanged(subject_id="hr", version=1, grants=[RoleGrant(role="hr", org_unit_id="co")])):
        envelope = Envelope.wrap(event)
        publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    publisher.close()
    hr = rpc_client(amqp_uri, actor=Actor(subject="hr")).goals
    employee = rpc_client(amqp_uri, actor=Actor(subject="e")).goals
    today = date.today()
    # the org events are applied in batches (gathered for up to 50 ms): HR's grant may land after the first call
    cycle = wait_for(lambda: _created_cycle(hr, today.year), message="HR's grant applied")
    wait_for(lambda: _can_create(employee, cycle["id"]), message="org events applied")
    # created while the cycle is a draft (not coloured yet); started two months ago, due in a month
    okr = employee.create_goal({"cycle_id": cycle["id"], "title": "Docs", "kind": "okr", "weight": "50",
                                "owner": {"kind": "person", "id": "e"},
                                "start_on": (today - timedelta(days=60)).isoformat(),
                                "due_on": (today + timedelta(days=30)).isoformat(),
                                "milestones": [{"on": (today - timedelta(days=30)).isoformat(), "fraction": "0.5"}],
                                "key_results": [{"title": "pages", "target": "40"}]})
    hr.transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    swept = hr.run_status_sweep({"on": today.isoformat()})
    assert swept["turned_red"] == 2 and swept["reviews_opened"] == 2  # both goals are far behind by now
    board = hr.get_board({"cycle_id": cycle["id"], "org_unit_id": "co"})
    assert board["total"]["count"] == 2 and board["total"]["red"] == 2
    assert hr.run_status_sweep({"on": today.isoformat()})["changed"] == 0
    employee.record_progress({"goal_id": okr["id"], "key_result_id": okr["key_results"][0]["id"], "value": "4"})

def _can_create(caller, cycle_id) -> bool:
    from chassis.errors import ServiceError

    try:
        caller.create_goal({"cycle_id": cycle_id, "title": "First", "kind": "kpi", "weight": "50",
                            "owner": {"kind": "person", "id": "e"},
                            "kpi": {"direction": ">=", "target": "1", "green": "1", "yellow": "0"}})
        return True
    except ServiceError as error:
        if error.status in (400, 403):
            return False
        raise


def _created_cycle(hr, year: int) -> dict | None:
    from chassis.errors import Forbidden

    try:
        return hr.create_cycle({"name": "FY", "period": "year", "year": year})
    except Forbidden:
        return None
