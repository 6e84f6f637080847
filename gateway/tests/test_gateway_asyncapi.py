"""The events' AsyncAPI document served beside OpenAPI (issue 15 #3): no authentication, YAML, the catalogue the
contracts make (the same bytes as docs/asyncapi.yaml once regenerated), valid for the reference parser, naming the
suite's one vhost."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from contracts.catalogue import VHOST, asyncapi_yaml
from gateway.service import GatewayService

ROOT = Path(__file__).resolve().parents[2]


def test_the_asyncapi_document_is_served_without_authentication(gateway_config, run_services, http, tmp_path):
    gateway = run_services({GatewayService: gateway_config})["gateway"]
    client = http(gateway)
    answer = client.get("/api/asyncapi.yaml")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/yaml")
    assert answer.text == asyncapi_yaml()
    document = yaml.safe_load(answer.text)
    assert document["asyncapi"].startswith("3.") and document["servers"]["production"]["pathname"] == f"/{VHOST}"
    assert "jixiao.goals.goal.created.v1" in {channel["address"] for channel in document["channels"].values()}
    assert client.get("/api/v1").json()["asyncapi"] == "/api/asyncapi.yaml"
    assert "/api/asyncapi.yaml" in client.get("/api/openapi.json").json()["paths"]

    served = tmp_path / "asyncapi.yaml"
    served.write_text(answer.text)
    node, parser = shutil.which("node"), ROOT / "tools" / "node_modules" / "@asyncapi" / "parser"
    assert node and parser.exists(), "`make deps` installs node and tools/node_modules"
    result = subprocess.run([node, str(ROOT / "tools" / "validate-asyncapi.mjs"), str(served)], cwd=ROOT / "tools",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "VALID" in result.stdout, result.stdout + result.stderr
