"""The goals service's settings: the chassis `ServiceSettings` plus goals' own, each read from the nameko config key
or the environment variable `GOALS_<NAME>` (config first), with the defaults below. The service class sets
`settings_class = GoalsSettings`; code reads them with `goals_settings(container)`, never `container.config.get`."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from chassis.runtime import settings_of
from chassis.settings import ServiceSettings


class GoalsSettings(ServiceSettings):
    service_name: str = "goals"
    sweep_check_seconds: float = Field(600.0, gt=0, le=86_400, description=(
        "how often the daily colour sweep checks whether today has been swept (it sweeps once per UTC day)"))


def goals_settings(container: Any) -> GoalsSettings:
    """The container's settings as GoalsSettings (chassis.runtime builds them from `GoalsService.settings_class`)."""
    settings = settings_of(container)
    if not isinstance(settings, GoalsSettings):  # a container of another service class: a wiring mistake
        raise TypeError(f"{container.service_name} does not run with GoalsSettings")
    return settings
