"""The service starts on the real broker and database, its migrations match its models, and it reports ready."""
import json

from chassis.testing.services import http_get
from notifications.service import NotificationsService


def test_notifications_starts_and_is_ready(run_services, pg_database):
    containers = run_services({NotificationsService: {"DATABASE_URL": pg_database("notifications")}})
    status, body = http_get(containers["notifications"], "/health/ready")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"


def test_notifications_migrations_match_models(pg_database):
    from chassis.testing.schema import schema_drift

    assert schema_drift("notifications", pg_database("notifications")) == []
