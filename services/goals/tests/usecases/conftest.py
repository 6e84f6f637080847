"""The goals use-case fixture (chassis.testing.usecases: a migrated SQLite and PostgreSQL database, no broker) with
goals' errors mapped as the service maps them, a small org, and the helpers the use-case tests share. Data in
the current period: today is 2026-12-02, in the quarter Q4 2026."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from chassis.errors import ServiceError, to_service_error
from contracts import goals as c
from goals import access, errors
from goals.repositories import GoalsUnitOfWork
from goals.usecases import cycles

TODAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def service(use_cases):
    errors.register()  # the domain's errors as problem documents, as the service class registers them
    access.register()  # goals' actions in the chassis policy, as the service module registers them
    harness = use_cases(GoalsUnitOfWork, "goals")
    harness.now = TODAY
    # hq > sales; boss heads hq, mgr reports to boss and manages rep and peer (rep's colleague in sales); an
    # outsider elsewhere; HR for hq
    harness.org(units=[("hq", None, "HQ"), ("sales", "hq", "Sales"), ("other", None, "Elsewhere")],
                people=[("boss", "hq", None), ("mgr", "sales", "boss"), ("rep", "sales", "mgr"),
                        ("peer", "sales", "mgr"), ("outsider", "other", None), ("hr", "hq", None)],
                grants={"hr": [("hr", "hq")]})
    return harness


def _fails(call: Callable[..., Any], *args: Any) -> ServiceError:
    """The problem the service would answer (the domain's errors mapped as at the RPC boundary)."""
    try:
        result = call(*args)
    except Exception as error:  # mapped below, as the RPC entrypoint does
        mapped = error if isinstance(error, ServiceError) else to_service_error(error)
        assert mapped is not None, f"unmapped {type(error).__name__}: {error}"
        return mapped
    pytest.fail(f"expected an error, got {result!r}")


@pytest.fixture
def fails() -> Callable[..., ServiceError]:
    return _fails


@pytest.fixture
def open_q4(service) -> Callable[..., c.CycleView]:
    """Create and open Q4 2026 (the quarter running now) as HR, with the given visibility."""

    def open_(visibility: str = "company") -> c.CycleView:
        hr = service.actors.person("hr")
        cycle = service.run(cycles.create_cycle, hr, c.CreateCycle(name=f"Q4 2026 ({visibility})", period="quarter",
                                                                   year=2026, index=4, visibility=visibility))
        return service.run(cycles.transition_cycle, hr, c.TransitionCycle(cycle_id=cycle.id, to="open"))

    return open_


def kpi(cycle_id: str, owner: str, **extra: Any) -> c.CreateGoal:
    return c.CreateGoal.model_validate({
        "cycle_id": cycle_id, "title": "Closure rate", "kind": "kpi", "weight": "40",
        "owner": {"kind": "person", "id": owner},
        "kpi": {"direction": ">=", "target": "90", "unit": "%", "green": "90", "yellow": "80"}, **extra})


@pytest.fixture
def kpi_goal() -> Callable[..., c.CreateGoal]:
    return kpi
