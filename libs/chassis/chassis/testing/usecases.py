"""Fast use-case tests: a service's unit of work on a freshly migrated database, no broker, no nameko, no eventlet.

One suite runs on both supported databases (as the eventsourcing library runs its persistence tests): the fixture
`use_cases` is parametrised over SQLite (the embedded default; migrated once per session into a template file that
each test copies) and PostgreSQL (a copy of a migrated template database per test). These tests run under plain
`pytest` as well as `python -m chassis.testing`.

    # services/goals/tests/usecases/conftest.py (or at the top of the test module)
    import pytest
    from goals.repositories import GoalsUnitOfWork

    @pytest.fixture
    def goals(use_cases):
        return use_cases(GoalsUnitOfWork, "goals")

    def test_hr_creates_a_cycle(goals):
        hr = goals.actors.person("hr")
        goals.org(units=[("co", None, "Company")], grants={"hr": [("hr", "co")]})
        view = goals.run(cycles.create_cycle, hr, c.CreateCycle(name="FY", period="year", year=2026))
        assert goals.events(type_suffix="cycle.created.v1")

`run(use_case, actor, command)` calls `use_case(uow, actor, command)` with a fresh unit of work acting as `actor`,
exactly as the service's thin RPC method does; errors (`chassis.errors`) propagate to the test. `org(...)` feeds the
service's org read model the way compliance's events do (`chassis.access.apply_org_event`). `events()` reads what
the use cases published (the outbox rows, in commit order). `now` is the clock every unit of work gets.
"""
from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chassis.db import create_db_engine
from chassis.uow import Store, UnitOfWork
from contracts.actor import Actor

U = TypeVar("U", bound=UnitOfWork)
R = TypeVar("R")

BACKENDS = ("sqlite", "postgresql")


class Actors:
    """Who acts in a test: people (roles and units come from the org read model, as in production), API
    clients with scopes, the service itself."""

    def person(self, subject: str) -> Actor:
        return Actor(subject=subject, kind="person")

    def client(self, subject: str, *scopes: str) -> Actor:
        return Actor(subject=subject, kind="client", scopes=tuple(scopes))

    def service(self, name: str) -> Actor:
        return Actor.system(name)

    def anonymous(self) -> None:
        return None


class UseCases:
    """A service's use cases over one migrated database (see the module docstring)."""

    def __init__(self, unit_of_work: type[UnitOfWork], service_name: str, url: str, backend: str):
        self.unit_of_work = unit_of_work
        self.service_name = service_name
        self.url = url
        self.backend = backend
        self.engine: Engine = create_db_engine(url, pool_size=4)
        self.store = Store(self.engine, service_name)
        self.actors = Actors()
        self.now: datetime | None = None  # None: the real clock; set it to freeze `uow.now()`
        self._versions = itertools.count(1)

    # -- acting ----------------------------------------------------------------------------------------------
    def uow(self, actor: Actor | None = None, correlation_id: str | None = None) -> UnitOfWork:
        """A fresh unit of work acting as `actor`, as the service's Database provider gives one per call."""
        return self.unit_of_work(self.store, actor=actor, correlation_id=correlation_id or uuid.uuid4().hex,
                                 clock=self._clock)

    def run(self, use_case: Callable[..., R], actor: Actor | None, *args: Any, **kwargs: Any) -> R:
        """`use_case(uow, actor, *args)`: what the service's RPC method does after validating its contract."""
        return use_case(self.uow(actor), actor, *args, **kwargs)

    def _clock(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)

    # -- the org read model ------------------------------------------------------------------------------------
    def org(self, units: Iterable[tuple[str, str | None, str]] = (),
            people: Iterable[tuple[str, str, str | None]] = (),
            grants: Mapping[str, Iterable[tuple[str, str]]] | None = None) -> None:
        """units: (id, parent, name); people: (id, unit, manager); grants: {subject: [(role, unit)]} — applied to
        the read model as compliance's directory events would be (each with a newer version)."""
        from chassis.access import apply_org_event
        from contracts.envelope import Envelope
        from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

        events: list[Any] = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=name, parent_id=parent)
                             for u, parent, name in units]
        events += [PersonChanged(person_id=p, version=next(self._versions), name=f"name of {p}", org_unit_id=unit,
                                 manager_id=manager) for p, unit, manager in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant.model_validate({"role": role, "org_unit_id": unit})
                                             for role, unit in found])
                   for s, found in (grants or {}).items()]
        with UnitOfWork(self.store, actor=Actor.system("compliance")) as uow:
            for event in events:
                apply_org_event(uow.session, Envelope.wrap(event))

    # -- what happened -----------------------------------------------------------------------------------------
    def mark(self) -> int:
        """The newest outbox row now: `events(since=mark)` shows what later calls published."""
        return int(self.scalar("select coalesce(max(seq), 0) from chassis_outbox"))

    def events(self, since: int = 0, type_suffix: str = "") -> list[tuple[str, dict[str, Any]]]:
        """(type, data) of every event published (committed) since `since`, in commit order."""
        rows = self.rows("select event_type, body from chassis_outbox where seq > :s and event_type like :t "
                         "order by seq", s=since, t=f"%{type_suffix}")
        return [(row.event_type, json.loads(row.body)["data"]) for row in rows]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`template(package)`: a SQLite file migrated to head once per session; tests copy it."""
    made: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("sqlite-templates")

    def template(package: str) -> Path:
        if package not in made:
            from chassis.migrations import upgrade

            path = folder / f"{package}.db"
            upgrade(package, f"sqlite:///{path}")
            connection = sqlite3.connect(path, isolation_level=None)
            try:  # fold the WAL into the file, so that a copy of the file alone is complete
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            made[package] = path
        return made[package]

    return template


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """"sqlite" or "postgresql": a test using it runs once on each."""
    return str(request.param)


@pytest.fixture
def migrated_database(database_backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                      _sqlite_templates: Callable[[str], Path]) -> Callable[[str], str]:
    """`migrated_database(package)` -> the URL of a fresh database migrated to the package's head, on this test's
    backend."""

    def make(package: str) -> str:
        if database_backend == "sqlite":
            path = tmp_path / f"{package}-{uuid.uuid4().hex[:6]}.db"
            shutil.copyfile(_sqlite_templates(package), path)
            return f"sqlite:///{path}"
        return str(request.getfixturevalue("pg_database")(package))

    return make


@pytest.fixture
def use_cases(database_backend: str, migrated_database: Callable[[str], str]) -> Iterator[Callable[..., UseCases]]:
    """`use_cases(UnitOfWorkClass, package, service_name=package)` -> a `UseCases` on a fresh migrated database,
    once on SQLite and once on PostgreSQL."""
    made: list[UseCases] = []

    def make(unit_of_work: type[UnitOfWork], package: str, service_name: str | None = None) -> UseCases:
        harness = UseCases(unit_of_work, service_name or package, migrated_database(package), database_backend)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


__all__ = ["BACKENDS", "Actors", "UseCases", "database_backend", "migrated_database", "use_cases"]
