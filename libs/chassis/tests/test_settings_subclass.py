"""One settings idiom for every service: a ServiceSettings subclass, read from the config or `<SERVICE>_<NAME>`."""
import pytest
from pydantic import Field

from chassis.settings import ServiceSettings, load_settings


class ToySettings(ServiceSettings):
    sweep_check_seconds: float = Field(600.0, gt=0, description="how often the sweep checks the date")


def test_a_service_adds_its_own_settings_with_the_chassis_ones(monkeypatch):
    settings = load_settings("toy", base=ToySettings)
    assert isinstance(settings, ToySettings) and settings.sweep_check_seconds == 600.0
    monkeypatch.setenv("TOY_SWEEP_CHECK_SECONDS", "30")
    monkeypatch.setenv("TOY_DB_POOL_SIZE", "7")
    settings = load_settings("toy", base=ToySettings)
    assert (settings.sweep_check_seconds, settings.db_pool_size) == (30.0, 7)
    # the config file wins over the environment, with or without the service prefix
    assert load_settings("toy", {"TOY_SWEEP_CHECK_SECONDS": 5}, base=ToySettings).sweep_check_seconds == 5.0
    assert load_settings("toy", {"sweep_check_seconds": 6}, base=ToySettings).sweep_check_seconds == 6.0


def test_constraints_hold_when_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOY_SWEEP_CHECK_SECONDS", "0")
    with pytest.raises(SystemExit, match="TOY_SWEEP_CHECK_SECONDS"):
        load_settings("toy", base=ToySettings)
    monkeypatch.delenv("TOY_SWEEP_CHECK_SECONDS")
    monkeypatch.setenv("TOY_DB_POOL_SIZE", "0")  # ge=1 on the chassis field
    with pytest.raises(SystemExit, match="TOY_DB_POOL_SIZE"):
        load_settings("toy")
