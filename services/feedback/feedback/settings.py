"""The feedback service's settings: the chassis `ServiceSettings` plus feedback's own, each read from the nameko
config key or the environment variable `FEEDBACK_<NAME>` (config first), with the defaults below."""
from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field, ValidationError

from chassis.settings import ServiceSettings

PREFIX = "FEEDBACK_"


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    # check-ins
    checkin_window_days: int = Field(5, ge=1, le=15, description="the last N working days of the month")
    # reports
    report_grace_days: int = Field(1, ge=0, le=14, description="days after a period ends that it stays editable")
    # sales activity
    visit_radius_m: Decimal = Field(Decimal(500), gt=0, le=100_000,
                                    description="a check-in counts when this near the customer's location")
    visit_max_accuracy_m: Decimal = Field(Decimal(200), gt=0, le=100_000,
                                          description="a check-in less precise than this does not count")
    opportunity_window_hours: int = Field(72, ge=1, le=24 * 30,
                                          description="an opportunity entry this close to the visit validates it")
    zero_activity_weeks: int = Field(2, ge=1, le=26)
    # coaching
    coaching_standard: Decimal = Field(Decimal(3), gt=0, le=100, description="touches per month expected")
    coaching_window_months: int = Field(3, ge=1, le=12, description="months the cadence averages over")
    # 360
    survey_threshold: int = Field(3, ge=3, le=200, description="answers before anything is shown; never below 3")
    pseudonym_key: str = Field("development-only-pseudonym-key", min_length=16,
                               description="HMAC key of the reviewers' pseudonyms in audit entries")
    # review cycles
    review_reminder_days: int = Field(3, ge=0, le=30, description="days before a stage's deadline that reminders go")
    goals_evidence_timeout: float = Field(2.0, gt=0, le=10, description=(
        "seconds the review form waits, in all, for the goals service's part of the evidence"))
    # retention
    retention_days: int = Field(3 * 365, ge=30, description="feedback records older than this are deleted")
    # timers
    sweep_seconds: float = Field(3600.0, gt=0, description="how often overdue/zero-activity/cadence sweeps run")


def _own_fields() -> set[str]:
    return set(FeedbackSettings.model_fields) - set(ServiceSettings.model_fields) | {"service_name"}


def load_feedback_settings(config: Mapping[str, Any] | None = None, base: ServiceSettings | None = None,
                           environ: Mapping[str, str] | None = None) -> FeedbackSettings:
    """The chassis settings (`base`, already loaded) extended with feedback's own from config, then env."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {} if base is None else base.model_dump()
    values["service_name"] = "feedback"
    for name in _own_fields() - {"service_name"}:
        key = PREFIX + name.upper()
        found = (config or {}).get(key)
        if found in (None, ""):
            found = env.get(key)
        if found not in (None, ""):
            values[name] = found
    try:
        return FeedbackSettings.model_validate(values)
    except ValidationError as exc:  # fail at start naming the setting
        raise SystemExit(f"invalid settings for feedback: {exc}") from None
