"""The incentives service's settings: the chassis `ServiceSettings` plus incentives' own, each read from the nameko
config key or the environment variable `INCENTIVES_<NAME>` (config first; dicts and lists as JSON), with the
defaults below. Loaded once per container by the `Settings` dependency (no raw config lookups elsewhere)."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from nameko.extensions import DependencyProvider
from pydantic import Field, ValidationError, field_validator

from chassis.settings import ServiceSettings
from incentives.domain.ninebox import DEFAULT_PERFORMANCE

PREFIX = "INCENTIVES_"


class IncentivesSettings(ServiceSettings):
    service_name: str = "incentives"
    budget_overrun: Literal["refuse", "warn"] = Field("refuse", description=(
        "a pool overrun is always warned on the proposal; at the final approval it is refused, or only warned"))
    approval_table: dict[str, list[str]] = Field(
        default_factory=lambda: {"M>=3": ["direct_manager", "skip_level", "hrbp"],
                                 "*": ["direct_manager", "hrbp"]},
        description="grade -> approval steps of a bonus proposal (chassis.access.approvals)")
    redemption_approval_table: dict[str, list[str]] = Field(
        default_factory=lambda: {"*": ["direct_manager"]}, description="grade -> approval steps of a redemption")
    performance_levels: dict[str, Literal["low", "medium", "high"]] = Field(
        default_factory=lambda: dict(DEFAULT_PERFORMANCE),
        description="rating label -> the 9-box performance level")
    target_distribution: dict[str, Decimal] = Field(
        default_factory=lambda: {"S": Decimal("0.1"), "A": Decimal("0.2"), "B": Decimal("0.5"),
                                 "C": Decimal("0.15"), "D": Decimal("0.05")},
        description="rating label -> target share, for the distribution analytics")
    rotation_threshold: Decimal = Field(Decimal("0.3"), gt=0, le=1, description="rotation score flagged to HR")
    rotation_top_labels: list[str] = Field(default_factory=lambda: ["S", "A"], description="the top ratings")
    promotion_panels: dict[Literal["technical", "management"], list[str]] = Field(
        default_factory=dict, description="sequence -> the people on its review panel (separate panels)")
    praise_points: int = Field(0, ge=0, le=100_000, description=(
        "points a person earns for each recognition (feedback's praise) received; 0: none"))
    rating_points: dict[str, int] = Field(default_factory=dict, description=(
        "finalized rating label -> points earned once per rating (e.g. {\"S\": 300, \"A\": 100}); empty: none"))
    star_points: int = Field(200, ge=0, le=100_000, description="points a published performance star earns")
    settle_check_seconds: float = Field(3600.0, gt=0, description=(
        "how often the timer settles the process rewards of the last complete week and month"))
    retention_days: int = Field(7 * 365, ge=365, description=(
        "pay and ledger records are kept this long (accounting); observations and analytics inputs 2 years"))

    @field_validator("approval_table", "redemption_approval_table")
    @classmethod
    def _table_parses(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from chassis.access.approvals import ApprovalTable

        ApprovalTable.parse(value)
        return value


def _own_fields() -> set[str]:
    return set(IncentivesSettings.model_fields) - set(ServiceSettings.model_fields)


def load_incentives_settings(config: Mapping[str, Any] | None = None, base: ServiceSettings | None = None,
                             environ: Mapping[str, str] | None = None) -> IncentivesSettings:
    """The chassis settings (`base`, already loaded) extended with incentives' own from config, then env."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {} if base is None else base.model_dump()
    values["service_name"] = "incentives"
    for name in _own_fields():
        key = PREFIX + name.upper()
        found = (config or {}).get(key)
        if found in (None, ""):
            found = env.get(key)
        if isinstance(found, str) and found[:1] in "{[":
            found = json.loads(found)
        if found not in (None, ""):
            values[name] = found
    try:
        return IncentivesSettings.model_validate(values)
    except ValidationError as exc:  # fail at start naming the setting
        raise SystemExit(f"invalid settings for incentives: {exc}") from None


class Settings(DependencyProvider):
    """Injects the service's IncentivesSettings (loaded once per container)."""

    def setup(self):
        from chassis.runtime import settings_of

        self.settings = load_incentives_settings(self.container.config, settings_of(self.container))

    def get_dependency(self, worker_ctx):
        return self.settings
