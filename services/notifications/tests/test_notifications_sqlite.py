"""The embedded default: the same flow on a migrated SQLite file (one connection under eventlet)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chassis.db import create_db_engine
from chassis.migrations import upgrade
from chassis.testing.plugin import wait_for
from contracts.compliance import AppealSubmitted, ClientRegistered
from notifications.service import NotificationsService


def test_events_reach_the_inbox_email_and_a_webhook_on_sqlite(harness, run_services, sqlite_url):
    upgrade("notifications", sqlite_url)
    harness.engine.dispose()
    harness.engine = create_db_engine(sqlite_url)
    run_services({NotificationsService: harness.config(DATABASE_URL=sqlite_url)}, AMQP_URI=harness.amqp_uri)
    harness.publish("compliance", ClientRegistered(client_id="crm-s", name="CRM", scopes=[],
                                                   event_patterns=["jixiao.compliance.appeal.#"], dpa_ref="DPA-1"))
    people = [("emp-s", "u-s", None), ("hr-s", "u-s", None), ("admin-s", "u-s", None)]
    events = []
    from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
    events.append(OrgUnitChanged(org_unit_id="u-s", version=1, name="u-s"))
    events += [PersonChanged(person_id=p, version=i + 2, name=p, org_unit_id=u) for i, (p, u, _) in enumerate(people)]
    events += [RoleGrantsChanged(subject_id="hr-s", version=10, grants=[RoleGrant(role="hr", org_unit_id="u-s")]),
               RoleGrantsChanged(subject_id="admin-s", version=11, grants=[RoleGrant(role="admin")])]
    harness.publish("compliance", *events)
    wait_for(lambda: harness.scalar("select count(*) from chassis_org_grants") == 2
             and harness.scalar("select count(*) from clients") == 1, message="read models")
    harness.as_("hr-s").set_preferences({"email": "hr-s@example.com", "channels": ["email"]})
    sub = harness.as_("admin-s").create_subscription({"client_id": "crm-s", "url": harness.receiver.url("/s"),
                                                      "event_types": ["jixiao.compliance.appeal.submitted.v1"]})
    [envelope] = harness.publish("compliance", AppealSubmitted(
        appeal_id="ap-s-1", appellant="emp-s", org_unit_id="u-s", target_kind="goal_result", target_ref="g-1",
        owning_service="goals", due_at=datetime.now(UTC) + timedelta(days=14)))
    wait_for(lambda: harness.receiver.to("/s") and harness.smtp.messages(), message="webhook and email")
    assert json.loads(harness.receiver.to("/s")[0]["body"])["id"] == envelope.id
    assert harness.smtp.messages()[0]["To"] == "hr-s@example.com"
    assert harness.scalar("select count(*) from notifications") == 2
    assert sub["state"] == "active"
