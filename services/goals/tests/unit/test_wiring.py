"""goals' wiring in the one service shape (issue 9): its settings are a chassis ServiceSettings subclass read from
the config key or GOALS_<NAME>, with bounds that stop a bad start naming the setting; its error mappings are
registered by one explicit call, never by importing the module."""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from chassis.errors import to_service_error
from chassis.settings import load_settings
from goals import errors
from goals.domain import errors as domain
from goals.settings import GoalsSettings


def test_the_sweep_check_interval_comes_from_the_config_or_the_environment(monkeypatch):
    assert load_settings("goals", {}, base=GoalsSettings).sweep_check_seconds == 600.0
    assert load_settings("goals", {"GOALS_SWEEP_CHECK_SECONDS": "0.2"}, base=GoalsSettings).sweep_check_seconds == 0.2
    monkeypatch.setenv("GOALS_SWEEP_CHECK_SECONDS", "30")
    assert load_settings("goals", {}, base=GoalsSettings).sweep_check_seconds == 30.0
    # the config (config.yaml, itself env-substituted) comes first
    assert load_settings("goals", {"GOALS_SWEEP_CHECK_SECONDS": "45"}, base=GoalsSettings).sweep_check_seconds == 45


@pytest.mark.parametrize("bad", ["0", "-1", "86401", "often"])
def test_a_bad_interval_stops_the_start_naming_it(bad):
    with pytest.raises(SystemExit, match="sweep_check_seconds"):
        load_settings("goals", {"GOALS_SWEEP_CHECK_SECONDS": bad}, base=GoalsSettings)


def test_importing_the_mappings_registers_nothing():
    """A fresh interpreter: `import goals.errors` alone leaves a domain error unmapped; `register()` maps it."""
    probe = ("import goals.errors as e; from chassis.errors import to_service_error as m; "
             "from goals.domain.errors import NotFound as N; assert m(N('x')) is None, 'mapped on import'; "
             "e.register(); assert m(N('x')).status == 404")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("error", "status", "field"), [
    (domain.InvalidInput("weight", "must be positive"), 400, "weight"),
    (domain.FormulaError("unexpected ')'", 4), 400, "formula"),
    (domain.WeightTotalError(Decimal("90"), ["g1", "g2"]), 422, "weights"),
    (domain.InfeasibleAllocation("children", "minimums exceed the total"), 422, "children"),
    (domain.NotFound("no goal g1", field="goal_id"), 404, "goal_id"),
    (domain.NotAllowed("only the owner proposes now", field="actor_id"), 403, "actor_id"),
    (domain.NotAllowed("the cycle is locked", field="cycle_id"), 422, "cycle_id"),
    (domain.Conflict("the tree would loop", field="parent_id"), 409, "parent_id"),
])
def test_each_domain_error_has_the_status_its_docstring_states(error, status, field):
    errors.register()
    errors.register()  # idempotent: the service class body and the tests may both call it
    mapped = to_service_error(error)
    assert mapped is not None and (mapped.status, mapped.errors[0]["field"]) == (status, field)
