"""pytest fixtures for chassis services (registered as the `jixiao` pytest plugin).

Two kinds of tests: *fast* ones (domain rules, use cases on a migrated SQLite or PostgreSQL database through
`chassis.testing.usecases`) run under plain `pytest` as well, with no broker, no nameko and no eventlet; *broker*
ones (RPC over RabbitMQ, running services) need eventlet's patching first, which `python -m chassis.testing` does.
Under plain `pytest` the broker tests are skipped with that command as the reason (see `needs_green`).

Fixtures: `amqp_uri` (a fresh vhost per test), `pg` (database manager), `pg_template(package)` and
`pg_database(package)` (a migrated database per test), `sqlite_url`, `run_services` (start service
containers and stop them after the test), `rpc_client(amqp_uri)` (a standalone caller).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from chassis.testing import infra

if TYPE_CHECKING:
    from chassis.container import ServiceContainer
    from chassis.remote import RpcCaller
    from chassis.testing.proxy import CuttableProxy
    from contracts.actor import Actor

T = TypeVar("T")

# Fixtures that start nameko or talk to the broker: a test using any of them (directly or through another fixture)
# needs eventlet's patching, which only `python -m chassis.testing` can do early enough.
BROKER_FIXTURES = frozenset({"vhosts", "amqp_uri", "run_services", "rpc_client", "broker_proxy"})
GREEN_REASON = "needs RabbitMQ and nameko under eventlet: run it with `python -m chassis.testing` (or `make test`)"


def green() -> bool:
    """Whether eventlet patched the standard library before the tests were imported."""
    import sys

    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return bool(patcher.is_monkey_patched("socket") and patcher.is_monkey_patched("thread"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "broker: needs RabbitMQ and nameko under eventlet (python -m chassis.testing); "
                                       "set automatically on tests that use the broker fixtures")
    config.addinivalue_line("markers", "fast: no broker, no nameko, no eventlet: runs under plain `pytest` too")


def needs_green(item: pytest.Item) -> bool:
    """A test needs the green runner when it is marked `broker`, uses a broker fixture, or its module imports
    eventlet (greenthreads without patching block each other on real sockets: a deadlock, not a failure)."""
    if item.get_closest_marker("broker") is not None:
        return True
    if BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is not None and "eventlet" in vars(module)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need the broker are marked `broker`, the others `fast` (`-m fast` / `-m "not broker"` select
    them under either runner). Under plain `pytest` (no eventlet), broker tests are skipped with the command that
    runs them; `python -m chassis.testing` runs everything, as before."""
    patched = green()
    skip = pytest.mark.skip(reason=GREEN_REASON)
    for item in items:
        if needs_green(item):
            item.add_marker(pytest.mark.broker)
            if not patched:
                item.add_marker(skip)
        else:
            item.add_marker(pytest.mark.fast)


def pytest_report_header(config: pytest.Config) -> str | None:
    if not green():
        return ("jixiao: plain pytest (no eventlet): fast tests run, broker tests are skipped; "
                "`python -m chassis.testing` runs them all")
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jixiao")
    group.addoption("--keep-test-databases", action="store_true", default=False,
                    help="do not drop per-test PostgreSQL databases (to inspect them)")


def _compose_file(config: pytest.Config) -> Path | None:
    root = Path(str(config.rootpath))
    compose = root / "deploy" / "compose.yaml"
    return compose if compose.exists() else None


@pytest.fixture(scope="session")
def _infra_endpoints(request: pytest.FixtureRequest) -> tuple[str, str]:
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
    from chassis.framework import Connection

    try:
        with Connection(uri) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def vhosts(_infra_endpoints: tuple[str, str]) -> Iterator[infra.VhostManager]:
    manager = infra.VhostManager(_infra_endpoints[0])
    manager.sweep_stale()  # what killed runs left behind
    yield manager
    manager.close()


@pytest.fixture
def amqp_uri(vhosts: infra.VhostManager) -> Iterator[str]:
    uri = vhosts.create()
    yield uri
    vhosts.delete(uri)


@pytest.fixture(scope="session")
def pg(_infra_endpoints: tuple[str, str]) -> infra.PgManager:
    return infra.PgManager(_infra_endpoints[1])


@pytest.fixture(scope="session")
def _run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pg_template(pg: infra.PgManager, _run_id: str,
                request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
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
def pg_database(pg: infra.PgManager, pg_template: Callable[[str], str], _run_id: str,
                request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
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
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def run_services(amqp_uri: str, tmp_path: Path) -> Iterator[Callable[..., dict[str, ServiceContainer]]]:
    """`run_services({ServiceClass: config, ...}, **common_config)` starts chassis containers on this test's
    vhost (unless AMQP_URI is given) and stops them before the vhost goes; returns {name: container}.
    Their VAR_DIR is the test's own (unless given): files a service keeps there, such as compliance's audit
    witness, would otherwise be shared by every run on the machine and mix other tests' chains into this one."""
    from chassis.testing.services import ServicesUnderTest

    with ExitStack() as stack:
        def start(services: dict[type, dict[str, Any] | None], **common: Any) -> dict[str, ServiceContainer]:
            common.setdefault("AMQP_URI", amqp_uri)
            (tmp_path / "var").mkdir(exist_ok=True)
            common.setdefault("VAR_DIR", str(tmp_path / "var"))
            return stack.enter_context(ServicesUnderTest(services, **common))
        yield start


@pytest.fixture
def rpc_client() -> Iterator[Callable[..., RpcCaller]]:
    """`rpc_client(amqp_uri, actor=None, timeout=5)` -> a caller (`caller.goals.method(payload)`)."""
    from chassis.remote import StandaloneRpc

    clients: list[StandaloneRpc] = []

    def make(uri: str, actor: Actor | None = None, timeout: float = 10.0,
             correlation_id: str | None = None) -> RpcCaller:
        client = StandaloneRpc(uri, timeout=timeout, actor=actor, correlation_id=correlation_id).start()
        clients.append(client)
        return client.caller()

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def broker_proxy(_infra_endpoints: tuple[str, str]) -> Iterator[CuttableProxy]:
    """A cuttable TCP proxy in front of the test broker: `proxy.uri_for(amqp_uri)`, `proxy.cut()`,
    `proxy.restore()`."""
    from urllib.parse import urlsplit

    from chassis.testing.proxy import CuttableProxy

    parts = urlsplit(_infra_endpoints[0])
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    proxy.close()


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
             message: str = "condition") -> T:
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



def wait_for_directory(containers: dict[str, ServiceContainer], people: Iterable[str] = (),
                       grant_subjects: Iterable[str] = (), timeout: float = 60.0) -> None:
    """Wait until every running service that keeps the org read model has applied these people and these subjects'
    grants. Org events reach each service in batches and in its own time, so the gateway knowing a person says
    nothing of whether goals knows that person's grant; a privileged call made before would be refused (403).
    A service sees its own applied changes at once (the index cache is marked dirty), so the rows are enough."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from chassis.access.readmodel import grants_table, people_table

    people, grant_subjects = set(people), set(grant_subjects)
    engines = [sa.create_engine(container.config["DATABASE_URL"], poolclass=NullPool)
               for container in containers.values() if container.config.get("DATABASE_URL")]

    def applied(engine: sa.Engine) -> bool:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(grants_table.name):
                return True  # compliance: the source of the events, not a reader of them
            known = set(connection.scalars(sa.select(people_table.c.person_id)
                                           .where(people_table.c.person_id.in_(people))))
            granted = set(connection.scalars(sa.select(grants_table.c.subject_id)
                                             .where(grants_table.c.subject_id.in_(grant_subjects))))
            return known == people and granted == grant_subjects

    try:
        for engine in engines:
            wait_for(partial(applied, engine), timeout=timeout, message=f"the org directory in {engine.url.database}")
    finally:
        for engine in engines:
            engine.dispose()


# fast use-case tests (no broker): `use_cases`, `migrated_database`, `database_backend` (chassis.testing.usecases)
from chassis.testing.usecases import (  # noqa: E402, F401
    _sqlite_templates,
    database_backend,
    migrated_database,
    use_cases,
)
