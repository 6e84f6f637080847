"""Typed settings for a service, from its nameko config, its environment and embedded defaults.

Precedence: the nameko config (config.yaml, itself env-substituted) > `<SERVICE>_<NAME>` env > shared env
`<NAME>` (for the few settings every service shares, such as AMQP_URI) > defaults. The defaults are the
embedded mode: kombu's in-memory broker and a SQLite file under ./var, so `make up` needs no setup at all.
Production (`ENVIRONMENT=production`) never falls back to them: a missing broker or database URL stops the start.

A service's own settings, one idiom everywhere (no raw `container.config.get(...)`):

    # goals/settings.py
    class GoalsSettings(ServiceSettings):
        sweep_check_seconds: float = Field(600.0, gt=0, description="how often the daily sweep checks the date")

    # goals/service.py
    class GoalsService(Service):
        name = "goals"
        settings_class = GoalsSettings        # chassis.runtime.settings_of(container) then returns a GoalsSettings

    settings = load_settings("goals", config, base=GoalsSettings)   # GOALS_SWEEP_CHECK_SECONDS, or the config key
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHARED = ("amqp_uri", "amqp_queue_type", "var_dir", "log_level", "log_format", "rpc_timeout", "heartbeat",
          "environment")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str
    environment: str = Field("development", description="development | test | production")
    amqp_uri: str = "memory://"
    # quorum: every durable queue the chassis declares is a replicated quorum queue (a RabbitMQ cluster); an
    # existing classic queue cannot change type, so switch on a fresh vhost (deploy/README.md)
    amqp_queue_type: Literal["classic", "quorum"] = "classic"
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite file in var_dir")
    var_dir: Path = Path("var")
    db_pool_size: int = Field(12, ge=1, le=200)
    db_echo: bool = False
    db_lazy_begin: bool | None = Field(None, description="PostgreSQL: start a unit of work's transaction with its "
                                       "first write (chassis.lazy_begin); unset = on for PostgreSQL, false = off")
    max_workers: int = Field(16, ge=1, le=1000)
    http_address: str = "127.0.0.1:0"
    heartbeat: int = Field(30, ge=0)
    rpc_timeout: float = Field(5.0, gt=0, description="default seconds an RPC call may take")
    outbox_batch_size: int = Field(500, ge=1, le=10_000)
    outbox_poll_interval: float = Field(1.0, gt=0, description="seconds between relay polls when not woken")
    outbox_linger: float = Field(0.01, ge=0, le=1.0, description="seconds the relay waits after being woken, so "
                                 "that events committed together are published as one batch")
    outbox_linger_max: float = Field(0.1, ge=0, le=5.0, description="seconds the relay may go on waiting while "
                                     "the service's workers are busy: the calls in flight first, events within this")
    outbox_max_backoff: float = Field(30.0, gt=0)
    outbox_retention_hours: float = Field(72.0, ge=0, description="how long sent outbox rows are kept")
    inbox_retention_days: float = Field(30.0, gt=0, description="deduplication window for consumed events")
    event_retry_delays: tuple[float, ...] = Field((1.0, 10.0, 60.0), description="seconds before each retry")
    event_prefetch: int = Field(64, ge=1)
    log_level: str = "INFO"
    log_format: str = Field("json", description="json | text")

    @model_validator(mode="after")
    def _production_names_its_infrastructure(self) -> ServiceSettings:
        # an embedded default in production would be a broker nobody else hears or a database on a pod's disk
        if self.environment == "production":
            prefix = self.service_name.upper().replace("-", "_")
            if not self.database_url:
                raise ValueError(f"production needs {prefix}_DATABASE_URL (no embedded SQLite file)")
            if self.amqp_uri.startswith("memory://"):
                raise ValueError("production needs AMQP_URI (no in-memory broker)")
        return self

    @model_validator(mode="after")
    def _production_has_its_own_broker_user(self) -> ServiceSettings:
        # guest may publish anything anywhere, a forged grants event included (chassis.brokerusers)
        if self.environment == "production":
            from urllib.parse import urlsplit

            if (urlsplit(self.amqp_uri).username or "guest") == "guest":
                raise ValueError("production refuses the broker user 'guest': give each service its own user "
                                 "(python -m chassis.brokerusers, docs/security.md)")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / f'{self.service_name}.db').as_posix()}"


S = TypeVar("S", bound=ServiceSettings)


def settings_class(service_name: str, base: type[S] = ServiceSettings) -> type[S]:  # type: ignore[assignment]
    """`base` (ServiceSettings or a service's subclass of it) reading each field from `<SERVICE>_<FIELD>` and, for
    the shared fields, plain `<FIELD>`. The fields keep their constraints (ge, le...) and descriptions."""
    prefix = service_name.upper().replace("-", "_") + "_"
    fields: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    for name, info in base.model_fields.items():
        if name == "service_name":
            continue
        choices = [prefix + name.upper()] + ([name.upper()] if name in SHARED else [])
        annotations[name] = info.annotation
        field = copy.copy(info)
        field.validation_alias = AliasChoices(*choices)
        fields[name] = field
    namespace = {"__annotations__": annotations, **fields, "__module__": base.__module__}
    name = f"{service_name.title().replace('-', '').replace('_', '')}Settings"
    return cast(type[S], type(name, (base,), namespace))


def load_settings(service_name: str, config: Mapping[str, Any] | None = None, *,
                  base: type[S] = ServiceSettings, **overrides: Any) -> S:  # type: ignore[assignment]
    """Settings for one service: `base` is ServiceSettings or the service's own subclass (goals/settings.py:
    `class GoalsSettings(ServiceSettings)` adding its fields). Config keys match field names case-insensitively,
    with or without the `<SERVICE>_` prefix (`DATABASE_URL`, `GOALS_SWEEP_CHECK_SECONDS`)."""
    cls = settings_class(service_name, base)
    prefix = service_name.upper().replace("-", "_") + "_"
    values: dict[str, Any] = {}
    for key, value in (config or {}).items():
        name = key.lower()
        if name not in cls.model_fields and key.upper().startswith(prefix):
            name = key[len(prefix):].lower()
        if name in cls.model_fields and name != "service_name" and value not in (None, ""):
            values[name] = value
    if config and config.get("AMQP_URI"):
        values["amqp_uri"] = config["AMQP_URI"]
    values.update(overrides)
    try:
        return cls(service_name=service_name, **values)
    except ValidationError as exc:  # fail at start with the setting that is wrong
        raise SystemExit(f"invalid settings for {service_name}: {exc}") from None


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
