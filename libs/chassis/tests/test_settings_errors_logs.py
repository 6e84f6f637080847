import json
import logging

import pytest
from pydantic import BaseModel, ValidationError

from chassis.context import _correlation, _service
from chassis.errors import (
    Conflict,
    InternalError,
    InvalidInput,
    NotFound,
    ServiceError,
    Unprocessable,
    register_error,
    to_service_error,
)
from chassis.logs import JsonFormatter, redact
from chassis.settings import load_settings


def test_settings_precedence(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://shared/")
    monkeypatch.setenv("RPC_TIMEOUT", "7")
    monkeypatch.setenv("GOALS_RPC_TIMEOUT", "3")
    monkeypatch.setenv("GOALS_DB_POOL_SIZE", "4")
    goals = load_settings("goals")
    assert goals.amqp_uri == "amqp://shared/"   # shared env
    assert goals.rpc_timeout == 3               # the service's own env wins over the shared one
    assert goals.db_pool_size == 4
    assert load_settings("feedback").rpc_timeout == 7
    assert load_settings("goals", {"RPC_TIMEOUT": 1.5}).rpc_timeout == 1.5  # nameko config wins over env
    assert load_settings("feedback").db_pool_size == 12                     # default


def test_settings_default_to_the_embedded_mode(monkeypatch):
    monkeypatch.delenv("AMQP_URI", raising=False)
    settings = load_settings("goals")
    assert settings.amqp_uri == "memory://"
    assert settings.effective_database_url == "sqlite:///var/goals.db"


def test_production_never_falls_back_to_the_embedded_defaults(monkeypatch):
    for name in ("AMQP_URI", "GOALS_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(SystemExit, match="GOALS_DATABASE_URL"):
        load_settings("goals")
    monkeypatch.setenv("GOALS_DATABASE_URL", "postgresql://db/goals")
    with pytest.raises(SystemExit, match="AMQP_URI"):
        load_settings("goals")
    monkeypatch.setenv("AMQP_URI", "amqp://goals:s3cret@broker:5672/")  # its own user: guest is refused
    assert load_settings("goals").effective_database_url == "postgresql://db/goals"


def test_an_invalid_setting_stops_the_service_naming_it(monkeypatch):
    monkeypatch.setenv("GOALS_MAX_WORKERS", "lots")
    with pytest.raises(SystemExit) as exc:
        load_settings("goals")
    assert "GOALS_MAX_WORKERS" in str(exc.value)  # the variable to fix, by name


def test_problem_round_trip_keeps_class_and_fields():
    error = InvalidInput("weights must total 100", errors=[{"field": "weights", "message": "total is 90"}])
    again = ServiceError.from_problem(error.problem())
    assert type(again) is InvalidInput
    assert again.status == 400 and again.errors == error.errors and again.detail == error.detail
    for cls in (NotFound, Conflict, Unprocessable):
        assert type(ServiceError.from_problem(cls("x").problem())) is cls


def test_unknown_problem_types_keep_their_status():
    again = ServiceError.from_problem({"type": "https://example.com/teapot", "status": 418, "title": "Teapot"})
    assert again.status == 418 and again.title == "Teapot"


def test_pydantic_errors_name_the_fields():
    class Command(BaseModel):
        name: str
        weight: int

    with pytest.raises(ValidationError) as exc:
        Command.model_validate({"weight": "x"})
    error = to_service_error(exc.value)
    assert isinstance(error, InvalidInput)
    assert sorted(e["field"] for e in error.errors) == ["name", "weight"]


def test_registered_domain_errors_are_translated_and_bugs_are_not():
    class WeightsOff(Exception):
        pass

    register_error(WeightsOff, lambda exc: Unprocessable(str(exc)))
    assert isinstance(to_service_error(WeightsOff("90 != 100")), Unprocessable)
    assert to_service_error(KeyError("bug")) is None
    assert InternalError().status == 500


def test_json_logs_carry_service_and_correlation_id_and_hide_secrets():
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "connecting to amqp://jixiao:s3cret@rabbit:5672/", None, None)
    t1, t2 = _correlation.set("corr-9"), _service.set("goals")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        _correlation.reset(t1)
        _service.reset(t2)
    assert line["correlation_id"] == "corr-9" and line["service"] == "goals" and line["level"] == "INFO"
    assert "s3cret" not in line["msg"]
    assert redact("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
