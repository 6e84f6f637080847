"""The web app's browser test: the embedded suite in a child process (as `make up` runs it, and as
tests/e2e/test_make_up.py starts it), and the data the walk needs, made through the public API as people would
(today is in Q4 2026): HR opens the quarter; the employee (E1003) has an OKR and a KPI, the OKR went from on track
back to zero (red: a status review opens for the manager); the manager proposes a new KPI target to the employee;
a colleague (E1004) has a goal the employee must never see."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from chassis.testing.plugin import wait_for

ROOT = Path(__file__).resolve().parents[2]


def services() -> list[str]:
    """Every service `make up` starts (suite.yaml), each given its own free port."""
    import yaml

    return [entry["name"] for entry in yaml.safe_load((ROOT / "suite.yaml").read_text())["services"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Suite:
    def __init__(self, tmp_path: Path, env: dict | None = None, gateway_port: int | None = None):
        self.ports = {name: free_port() for name in services()}
        if gateway_port:
            self.ports["gateway"] = gateway_port
        self.log = tmp_path / "suite.log"
        self.env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "ENVIRONMENT": "development",
                    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::Warning:nameko.cli.commands",
                    **{f"{name.upper()}_HTTP_ADDRESS": f"127.0.0.1:{port}" for name, port in self.ports.items()},
                    **(env or {})}
        self.env.pop("AMQP_URI", None)  # embedded: one process, in-memory broker, SQLite
        self.proc = subprocess.Popen([sys.executable, "-m", "chassis.suite", "up"], cwd=ROOT, env=self.env,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def wait_ready(self) -> None:
        for name, port in self.ports.items():
            wait_for(lambda: self.proc.poll() is not None or status_of(f"http://127.0.0.1:{port}/health/ready") == 200,
                     timeout=120, interval=0.3, message=f"{name} ready")
            assert self.proc.poll() is None, self.log.read_text()[-4000:]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def call(base: str, method: str, path: str, body=None, token: str | None = None, expect: int | None = None):
    headers = {"content-type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/v1" + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, json.loads(exc.read() or b"null")
    if expect is not None:
        assert status == expect, (method, path, status, answer)
    return status, answer


def login(base: str, user: str) -> str:
    return call(base, "POST", "/dev/login", {"user": user}, expect=200)[1]["access_token"]


def until_allowed(attempt) -> tuple[int, object]:
    """The services learn the demo organisation from org events, each in batches of its own time: a role's first
    write may reach goals before that role's grant or line does. A 403 wrote nothing, so it is tried again."""
    found: dict = {}

    def tried() -> bool:
        found["answer"] = attempt()
        return found["answer"][0] != 403

    wait_for(tried, timeout=60, interval=0.2, message="goals knows the demo organisation")
    return found["answer"]


def seed(base: str) -> dict:
    hr, manager, employee = (login(base, u) for u in ("hr", "manager", "employee"))
    today = date.today()
    quarter = (today.month - 1) // 3 + 1
    status, cycle = until_allowed(lambda: call(base, "POST", "/cycles", {
        "name": f"Q{quarter} {today.year}", "period": "quarter", "year": today.year, "index": quarter}, hr))
    assert status == 201, cycle
    call(base, "POST", f"/cycles/{cycle['id']}/transitions", {"to": "open"}, hr, expect=200)
    status, okr = until_allowed(lambda: call(base, "POST", "/goals", {
        "cycle_id": cycle["id"], "title": "Ship the mobile check-in", "kind": "okr",
        "owner": {"kind": "person", "id": "E1003"}, "weight": 60,
        "key_results": [{"title": "Screens done", "target": 10, "unit": "screens"}]}, manager))
    assert status == 201, okr
    kpi = call(base, "POST", "/goals", {
        "cycle_id": cycle["id"], "title": "Cut page load", "kind": "kpi", "owner": {"kind": "person", "id": "E1003"},
        "weight": 40, "kpi": {"direction": "<=", "target": 2, "unit": "s", "green": 2.5, "yellow": 3}},
        employee, expect=201)[1]
    # on track, then back to zero: the goal turns red and a status review opens for the manager
    kr = okr["key_results"][0]["id"]
    call(base, "POST", f"/goals/{okr['id']}/progress", {"key_result_id": kr, "value": 10}, employee, expect=201)
    call(base, "POST", f"/goals/{okr['id']}/progress", {"key_result_id": kr, "value": 0,
                                                      "comment": "the pilot store closed"}, employee, expect=201)
    # a colleague's goal, which the employee must never see
    other = call(base, "POST", "/goals", {
        "cycle_id": cycle["id"], "title": "Write the runbooks", "kind": "okr",
        "owner": {"kind": "person", "id": "E1004"}, "weight": 100,
        "key_results": [{"title": "Runbooks", "target": 5}]}, manager, expect=201)[1]
    call(base, "POST", "/proposals", {"changes": [{"goal_id": kpi["id"], "field": "target", "value": "1.8"}],
                                      "rationale": "The pilot stores need a faster page"}, manager, expect=201)
    return {"cycle": cycle["id"], "okr": okr["id"], "other": other["id"]}


WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


ACCESS_TTL = 8  # seconds: the OIDC test waits this long to see a refresh
AUDIENCE = "urn:jixiao:api"
API_SCOPES = ("goals:read goals:write appeals:read appeals:write privacy:read privacy:write org:read "
              "feedback:read feedback:write incentives:read")


@dataclass
class WebStack:
    base: str  # the gateway
    issuer: str  # the OIDC provider
    access_ttl: int  # seconds an access token of the provider lives


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory):
    """A real OIDC provider (oidc_provider.mjs), then the embedded suite trusting its keys, with the development
    login too; yields once the services know the demo organisation."""
    assert (WEB / "dist" / "index.html").exists(), "the web app is not built: run `make web`"
    assert (WEB / "node_modules" / "playwright-core").exists(), "web packages missing: run `make deps`"
    assert Path(CHROMIUM).exists(), "chromium missing: run `make deps`"
    folder = tmp_path_factory.mktemp("web")
    idp_port, gateway_port = free_port(), free_port()
    issuer, base = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{gateway_port}"
    jwks = folder / "idp-jwks.json"
    idp = subprocess.Popen(
        ["node", str(Path(__file__).with_name("oidc_provider.mjs"))], cwd=WEB, stdout=open(folder / "idp.log", "wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PORT": str(idp_port), "REDIRECT_URI": base + "/auth/callback",
             "POST_LOGOUT_URI": base + "/login", "AUDIENCE": AUDIENCE, "API_SCOPES": API_SCOPES,
             "JWKS_OUT": str(jwks), "ACCESS_TTL": str(ACCESS_TTL)})
    suite = None
    try:
        wait_for(lambda: idp.poll() is not None or status_of(issuer + "/.well-known/openid-configuration") == 200,
                 timeout=60, interval=0.2, message="the OIDC provider")
        assert idp.poll() is None, (folder / "idp.log").read_text()
        suite = Suite(folder, gateway_port=gateway_port, env={
            "GATEWAY_JWKS_FILE": str(jwks), "GATEWAY_JWT_ISSUER": issuer, "GATEWAY_JWT_AUDIENCE": AUDIENCE,
            "GATEWAY_JWT_LEEWAY": "0", "WEB_OIDC_ISSUER": issuer, "WEB_OIDC_CLIENT_ID": "jixiao-web",
            "WEB_OIDC_SCOPE": "openid offline_access " + API_SCOPES})
        suite.wait_ready()
        wait_for(lambda: call(base, "POST", "/dev/login", {"user": "hr"})[0] == 200, timeout=60,
                 message="the seeded demo organisation")
        wait_for(lambda: _known(base), timeout=60, message="the services know the demo people")
        yield WebStack(base, issuer, ACCESS_TTL)
    finally:
        if suite is not None:
            suite.stop()
        idp.terminate()
        idp.wait(timeout=10)


def _known(base: str) -> bool:
    token = login(base, "hr")
    return call(base, "GET", "/cycles", None, token)[0] == 200 and call(
        base, "GET", "/people/E1003", None, token)[0] == 200


@pytest.fixture(scope="session")
def seeded_gateway(web_stack):
    """The gateway with the walk's data in place."""
    seed(web_stack.base)
    return web_stack.base
