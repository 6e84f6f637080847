"""Compliance's settings: the chassis `ServiceSettings` plus compliance's own, one idiom with every service
(chassis.settings). Each is read from the nameko config key `<NAME>` (or `COMPLIANCE_<NAME>`), else the environment
variable `COMPLIANCE_<NAME>`, else the default below; lists may be given comma-separated.

Secrets (the audit key, the pseudonym key) come from the environment. Production refuses to start without them;
elsewhere a fixed development key is used. A wrong setting stops the start naming it, never echoing a key.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from nameko.extensions import DependencyProvider
from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from chassis.runtime import settings_of
from chassis.settings import ServiceSettings, load_settings

DEV_AUDIT_KEY = "development-only audit checkpoint key, never in production"
DEV_PSEUDONYM_KEY = "development-only pseudonym key, never used in production"
SECRETS = ("audit_key", "pseudonym_key")

# a comma-separated list in the environment ("goals, feedback"), not JSON
CommaList = Annotated[list[str], NoDecode]


def secret_bytes(text: str) -> bytes:
    """A key given as base64 (`base64:...`) or as plain text."""
    if text.startswith("base64:"):
        try:
            return base64.b64decode(text[7:], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
    return text.encode("utf-8")


def retired_keys(text: str | None) -> dict[str, bytes]:
    """Parse "id=key;id=key" (each key plain or `base64:...`, at least 32 bytes). Raises ValueError naming the
    pair that is wrong, never echoing a key."""
    keys: dict[str, bytes] = {}
    for n, pair in enumerate(part.strip() for part in (text or "").split(";")):
        if not pair:
            continue
        key_id, separator, key = pair.partition("=")
        key_id = key_id.strip()
        if not separator or not key_id or not key.strip():
            raise ValueError(f"pair {n + 1} is not id=key")
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} appears twice")
        value = secret_bytes(key.strip())
        if len(value) < 32:
            raise ValueError(f"the key of {key_id!r} is shorter than 32 bytes")
        keys[key_id] = value
    return keys


class ComplianceSettings(ServiceSettings):
    # a validation error must never print the key it refused
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    service_name: str = "compliance"
    audit_key: str | None = Field(None, repr=False, description="HMAC key of audit checkpoints (>= 32 bytes)")
    audit_key_id: str = Field("k1", pattern=r"^[A-Za-z0-9._-]{1,32}$")
    # rotation: new checkpoints are signed with AUDIT_KEY under AUDIT_KEY_ID; the retired keys stay here so that
    # the checkpoints they signed still verify ("k1=base64:...;k0=...", ";"-separated id=key pairs)
    audit_retired_keys: str | None = Field(None, repr=False)
    audit_sources: CommaList = Field(default_factory=lambda: ["goals", "feedback", "incentives", "compliance",
                                                              "gateway"],
                                     description="the services whose events exchanges the audit log consumes")
    audit_checkpoint_every: int = Field(1000, ge=1)
    audit_checkpoint_interval: float = Field(5.0, gt=0, description=(
        "seconds between timed checkpoints: each is written to the witness and published, so at most this long of "
        "the log's tail is unwitnessed"))
    audit_witness_path: Path | None = Field(None, description=(
        "the operator's witness: an append-only file of signed checkpoints (default <VAR_DIR>/"
        "compliance-audit-witness.jsonl); put it where the database's owner cannot rewrite it"))
    audit_witness_writer: bool = Field(True, description=(
        "whether this process writes the witness (timed checkpoints, retention anchors). One writer per "
        "deployment: with several replicas only the single-replica witness StatefulSet (deploy/k8s) sets it; the "
        "others seal the chain and leave witnessing to it"))
    audit_seal_attempts: int = Field(3, ge=1, le=100, description=(
        "attempts to seal one event before it goes to the audit dead letters (the rest flow meanwhile)"))
    audit_ready_max_lag: float = Field(300.0, gt=0, description=(
        "seconds the oldest staged event may wait before /health/ready says not ready"))
    audit_seal_batch: int = Field(2000, ge=1, le=50_000)
    audit_seal_interval: float = Field(0.2, gt=0)
    dsr_services: CommaList = Field(default_factory=lambda: ["goals", "feedback", "incentives", "notifications"],
                                    description="the services holding personal data (export and erasure parts)")
    dsr_timeout: float = Field(5.0, gt=0, le=60)
    dsr_answer_deadline: float = Field(86400.0, gt=0, description=(
        "seconds a service has to answer an erasure request before its part fails (the request: incomplete)"))
    deadline_check_interval: float = Field(300.0, gt=0, description="how often unanswered erasure parts and "
                                           "overdue appeals are looked for")
    upload_dir: Path | None = None
    bootstrap_admins: CommaList = Field(default_factory=list,
                                        description="subjects holding admin before any grant exists")
    pseudonym_key: str | None = Field(None, repr=False)
    retention_check_interval: float = Field(3600.0, gt=0, description="how often the daily sweep looks")
    api_key_cache_seconds: float = Field(60.0, ge=0)
    # the appeal target kinds checked with their owning service before an appeal is accepted (exists, and is the
    # appellant's own): goals confirms a goal result, feedback a finalized rating (`describe_appeal_target`)
    appeal_target_checks: CommaList = Field(default_factory=lambda: ["goal_result", "rating"])
    appeal_check_timeout: float = Field(1.5, gt=0, le=30, description=(
        "seconds the owning service has to confirm a target (at most half the RPC timeout: the appellant's own "
        "call must still answer in time)"))

    @field_validator("audit_sources", "dsr_services", "bootstrap_admins", "appeal_target_checks", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _keys_are_sound(self) -> ComplianceSettings:
        missing = [name for name in SECRETS if self.production and not getattr(self, name)]
        if missing:
            names = ", ".join("COMPLIANCE_" + name.upper() for name in missing)
            raise ValueError(f"compliance refuses to start in production without {names}")
        for name in SECRETS:
            value = getattr(self, name)
            if value is not None and len(secret_bytes(value)) < 32:
                raise ValueError(f"COMPLIANCE_{name.upper()} must be at least 32 bytes")
        try:
            retired = retired_keys(self.audit_retired_keys)
        except ValueError as exc:
            raise ValueError(f"COMPLIANCE_AUDIT_RETIRED_KEYS: {exc}") from None
        if self.audit_key_id in retired:
            raise ValueError(f"COMPLIANCE_AUDIT_RETIRED_KEYS: {self.audit_key_id} is the current AUDIT_KEY_ID")
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def audit_key_bytes(self) -> bytes:
        return secret_bytes(self.audit_key or DEV_AUDIT_KEY)

    def audit_verification_keys(self) -> dict[str, bytes]:
        """Every key a checkpoint may have been signed with, by key id: the retired ones and the current one."""
        keys = dict(retired_keys(self.audit_retired_keys))
        keys[self.audit_key_id] = self.audit_key_bytes()
        return keys

    def pseudonym_key_bytes(self) -> bytes:
        return secret_bytes(self.pseudonym_key or DEV_PSEUDONYM_KEY)

    def appeal_check_budget(self) -> float:
        """Seconds an appeal's target check may take: at most half the RPC timeout, so the appellant's own call
        still answers in time."""
        return min(self.appeal_check_timeout, self.rpc_timeout / 2)

    def witness_path(self) -> Path:
        return self.audit_witness_path or self.var_dir / "compliance-audit-witness.jsonl"


def load_compliance_settings(config: Mapping[str, Any] | None = None, **overrides: Any) -> ComplianceSettings:
    """Compliance's settings from a nameko config (and the environment); SystemExit naming a wrong setting."""
    return load_settings("compliance", config, base=ComplianceSettings, **overrides)


def compliance_settings(container: Any) -> ComplianceSettings:
    """The container's settings (the service class sets `settings_class = ComplianceSettings`)."""
    settings = settings_of(container)
    if not isinstance(settings, ComplianceSettings):
        raise RuntimeError(f"{type(settings).__name__} is not compliance's settings: the service class sets "
                           "settings_class = ComplianceSettings and runs in chassis.container.ServiceContainer")
    return settings


class Settings(DependencyProvider):
    """ComplianceSettings for the worker; loaded at container setup, so a wrong setting stops the start."""

    def setup(self) -> None:
        compliance_settings(self.container)

    def get_dependency(self, worker_ctx: Any) -> ComplianceSettings:
        return compliance_settings(self.container)
