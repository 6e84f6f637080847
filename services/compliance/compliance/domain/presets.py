"""Compliance presets (PIPL + DSL + MLPS level 3, GDPR) and the compliance settings they configure.

A preset is a data file in `compliance/presets/`; applying one replaces every setting it governs in
one step and leaves the rest (appeal deadlines, checkpoint interval, extra record types) alone.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from compliance.domain.errors import FieldError, InvalidInput, NotFound
from compliance.domain.retention import AUDIT_RECORD_TYPE, RetentionPolicy

_PRESET_PACKAGE = "compliance.presets"


class Notice(BaseModel):
    """The privacy notice shown to employees, in both working languages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class CrossBorderTransfer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    conditions: tuple[str, ...] = ()  # what must be in place before any transfer abroad


def _check_retention(retention: Mapping[str, RetentionPolicy]) -> None:
    audit = retention.get(AUDIT_RECORD_TYPE)
    if audit is not None and audit.anonymize_after_years is not None:
        # Rewriting an entry would break every later hash: the audit log is only purged oldest first.
        raise ValueError("audit entries are hash-chained and cannot be anonymized, only purged")


class Preset(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    jurisdiction: str
    laws: tuple[str, ...]
    dsr_deadline_days: int = Field(ge=1, le=90)
    cross_border_transfer: CrossBorderTransfer
    data_localization: bool
    audit_min_retention_days: int = Field(ge=1)
    retention: dict[str, RetentionPolicy]
    notice: Notice

    @model_validator(mode="after")
    def _rules(self) -> Preset:
        _check_retention(self.retention)
        return self


class CompliancePolicy(BaseModel):
    """The company's compliance policy as administrators set it (stored; the `*_settings` RPCs and presets), not
    the service's runtime settings (compliance.settings.ComplianceSettings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: str | None = None  # the preset last applied, for display; settings may since differ
    dsr_deadline_days: int = Field(default=30, ge=1, le=90)
    appeal_decision_days: int = Field(default=30, ge=1, le=365)
    cross_border_transfer: CrossBorderTransfer = CrossBorderTransfer(allowed=False)
    data_localization: bool = True
    audit_min_retention_days: int = Field(default=180, ge=1)
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    retention: dict[str, RetentionPolicy] = Field(default_factory=dict)
    notice: Notice | None = None

    @model_validator(mode="after")
    def _rules(self) -> CompliancePolicy:
        _check_retention(self.retention)
        audit = self.retention.get(AUDIT_RECORD_TYPE)
        purge_years = None if audit is None else audit.purge_after_years
        if purge_years is not None and purge_years * 365 < self.audit_min_retention_days:
            raise ValueError(f"the audit log must be kept at least {self.audit_min_retention_days} days")
        return self


def _invalid(error: ValidationError, message: str) -> InvalidInput:
    return InvalidInput(message, [FieldError(tuple(item["loc"]), item["msg"]) for item in error.errors()])


def parse_settings(data: Mapping[str, Any]) -> CompliancePolicy:
    """Settings from stored or submitted JSON; InvalidInput with field paths when wrong."""
    try:
        return CompliancePolicy.model_validate(data)
    except ValidationError as error:
        raise _invalid(error, "invalid compliance settings") from None


def available_presets() -> list[str]:
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in importlib.resources.files(_PRESET_PACKAGE).iterdir()
        if entry.name.endswith(".yaml")
    )


def load_preset(preset_id: str) -> Preset:
    if preset_id not in available_presets():
        raise NotFound(f"no compliance preset {preset_id!r}; available: {', '.join(available_presets())}")
    text = importlib.resources.files(_PRESET_PACKAGE).joinpath(f"{preset_id}.yaml").read_text(encoding="utf-8")
    try:
        return Preset.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise _invalid(error, f"preset {preset_id} is invalid") from None


def apply_preset(settings: CompliancePolicy, preset: Preset) -> CompliancePolicy:
    """Settings with everything the preset governs replaced; record types it does not name are kept."""
    data = settings.model_dump()
    data.update(
        preset=preset.id,
        dsr_deadline_days=preset.dsr_deadline_days,
        cross_border_transfer=preset.cross_border_transfer.model_dump(),
        data_localization=preset.data_localization,
        audit_min_retention_days=preset.audit_min_retention_days,
        retention={**data["retention"], **{name: policy.model_dump() for name, policy in preset.retention.items()}},
        notice=preset.notice.model_dump(),
    )
    return parse_settings(data)
