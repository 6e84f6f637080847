"""pytest fixtures for chassis services (registered as the `jixiao` pytest plugin).

Fixtures: `amqp_uri` (a fresh vhost per test), `pg` (database manager), `pg_template(package)` and
`pg_database(package)` (a migrated database per test), `sqlite_url`, `run_services` (start service
containers and stop them after the test), `rpc_client(amqp_uri)` (a standalone caller).
"""
from __future__ import annotations

import os
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

from chassis.testing import infra


def pytest_configure(config):
    from eventlet import patcher

    if not patcher.is_monkey_patched("socket") or not patcher.is_monkey_patched("thread"):
        # Patching this late leaves libraries holding unpatched locks (SQLAlchemy's pool): the suite would hang.
        raise pytest.UsageError("run the tests under eventlet: `make test` or `python -m chassis.testing [args]`")


def pytest_addoption(parser):
    group = parser.getgroup("jixiao")
    group.addoption("--keep-test-databases", action="store_true", default=False,
                    help="do not drop per-test PostgreSQL databases (to inspect them)")


def _compose_file(config) -> Path | None:
    root = Path(str(config.rootpath))
    compose = root / "deploy" / "compose.yaml"
    return compose if compose.exists() else None


@pytest.fixture(scope="session")
def _infra_endpoints(request):
    """(amqp base uri, postgres admin url) — from the environment, Docker, or the local services."""
    configured = "JIXIAO_TEST_AMQP_URI" in os.environ or "JIXIAO_TEST_PG_URL" in os.environ
    if not configured and infra.docker_engine_available() and _compose_file(request.config):
        docker_services = request.getfixturevalue("docker_services")  # pytest-docker
        docker_ip = request.getfixturevalue("docker_ip")
        amqp_port = docker_services.port_for("rabbitmq", 5672)
        pg_port = docker_services.port_for("postgres", 5432)
        amqp = f"amqp://guest:guest@{docker_ip}:{amqp_port}/"
        pg = f"postgresql+psycopg2://postgres@{docker_ip}:{pg_port}/postgres"
        docker_services.wait_until_responsive(timeout=90, pause=1,
                                              check=lambda: _pg_up(pg) and _amqp_up(amqp))
        return amqp, pg
    return infra.test_amqp_uri(), infra.test_pg_url()


def _pg_up(url: str) -> bool:
    try:
        infra.PgManager(url).leftovers("x")
        return True
    except Exception:
        return False


def _amqp_up(uri: str) -> bool:
    from kombu import Connection
    try:
        with Connection(uri) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def vhosts(_infra_endpoints):
    return infra.VhostManager(_infra_endpoints[0])


@pytest.fixture
def amqp_uri(vhosts):
    uri = vhosts.create()
    yield uri
    vhosts.delete(uri)


@pytest.fixture(scope="session")
def pg(_infra_endpoints):
    return infra.PgManager(_infra_endpoints[1])


@pytest.fixture(scope="session")
def _run_id():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pg_template(pg, _run_id, request):
    """`pg_template(package)`: the name of a database migrated to head, made once per session."""
    made: dict[str, str] = {}

    def template(package: str) -> str:
        if package not in made:
            from chassis.migrations import upgrade

            name = f"jxt_{_run_id}_{package}_tmpl"
            url = pg.create(name)
            upgrade(package, url)
            made[package] = name
        return made[package]

    yield template
    for name in made.values():
        pg.drop(name)


@pytest.fixture
def pg_database(pg, pg_template, _run_id, request):
    """`pg_database(package)` -> URL of a fresh, migrated PostgreSQL database for this test."""
    created: list[str] = []

    def database(package: str) -> str:
        name = f"jxt_{_run_id}_{package}_{uuid.uuid4().hex[:8]}"
        url = pg.create(name, template=pg_template(package))
        created.append(name)
        return url

    yield database
    if not request.config.getoption("--keep-test-databases"):
        for name in created:
            pg.drop(name)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def run_services(amqp_uri):
    """`run_services({ServiceClass: config, ...}, **common_config)` starts chassis containers on this test's
    vhost (unless AMQP_URI is given) and stops them before the vhost goes; returns {name: container}."""
    from chassis.testing.services import ServicesUnderTest

    with ExitStack() as stack:
        def start(services: dict, **common):
            common.setdefault("AMQP_URI", amqp_uri)
            return stack.enter_context(ServicesUnderTest(services, **common))
        yield start


@pytest.fixture
def rpc_client():
    """`rpc_client(amqp_uri, actor=None, timeout=5)` -> a caller (`caller.goals.method(payload)`)."""
    from chassis.remote import StandaloneRpc

    clients: list[StandaloneRpc] = []

    def make(uri: str, actor=None, timeout: float = 10.0, correlation_id: str | None = None):
        client = StandaloneRpc(uri, timeout=timeout, actor=actor, correlation_id=correlation_id).start()
        clients.append(client)
        return client.caller()

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def broker_proxy(_infra_endpoints):
    """A cuttable TCP proxy in front of the test broker: `proxy.uri_for(amqp_uri)`, `proxy.cut()`,
    `proxy.restore()`."""
    from urllib.parse import urlsplit

    from chassis.testing.proxy import CuttableProxy

    parts = urlsplit(_infra_endpoints[0])
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    proxy.close()


def wait_for(condition, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    """Poll `condition()` until it is truthy; returns its value or fails the test."""
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)
