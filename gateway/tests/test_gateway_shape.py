import json

from chassis.testing.services import http_get
from gateway.service import GatewayService


def test_gateway_starts_and_answers(run_services):
    containers = run_services({GatewayService: {}})
    status, body = http_get(containers["gateway"], "/api/v1")
    assert status == 200
    assert json.loads(body)["version"] == "v1"
    assert http_get(containers["gateway"], "/health/ready")[0] == 200
