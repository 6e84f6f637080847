"""The service starts on the real broker and database, its migrations match its models, and it reports ready."""
import json

from chassis.testing.services import http_get
from feedback.service import FeedbackService


def test_feedback_starts_and_is_ready(run_services, pg_database):
    containers = run_services({FeedbackService: {"DATABASE_URL": pg_database("feedback")}})
    status, body = http_get(containers["feedback"], "/health/ready")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"


def test_feedback_migrations_match_models(pg_database):
    from chassis.testing.schema import schema_drift

    assert schema_drift("feedback", pg_database("feedback")) == []
