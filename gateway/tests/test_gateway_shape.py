"""The gateway starts on the real broker and database, its migrations match its models, and it reports ready."""
import json

from chassis.testing.services import http_get
from gateway.service import GatewayService


def test_gateway_starts_and_answers(gateway_config, run_services):
    containers = run_services({GatewayService: gateway_config})
    status, body = http_get(containers["gateway"], "/api/v1")
    assert status == 200
    assert json.loads(body)["version"] == "v1"
    assert http_get(containers["gateway"], "/health/ready")[0] == 200


def test_gateway_migrations_match_models(pg_database):
    from chassis.testing.schema import schema_drift

    assert schema_drift("gateway", pg_database("gateway")) == []
