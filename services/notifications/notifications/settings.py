"""The notifications service's settings: the chassis `ServiceSettings` plus its own, from the nameko config key
`<NAME>` or the environment `NOTIFICATIONS_<NAME>` (config wins). Channel settings are configuration: no SMTP
host means no email, `SMS_PROVIDER=none` means no SMS (the inbox always works)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from chassis.settings import ServiceSettings

PREFIX = "NOTIFICATIONS_"


class NotificationsSettings(ServiceSettings):
    # email over SMTP
    smtp_host: str | None = Field(None, description="no host: email is off")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "Jixiao <no-reply@jixiao.local>"
    smtp_username: str | None = None
    smtp_password: str | None = Field(None, repr=False)
    smtp_starttls: bool = False
    smtp_timeout: float = Field(10.0, gt=0)
    # SMS through a provider's HTTP API (Twilio's Messages API shape)
    sms_provider: Literal["none", "twilio"] = "none"
    sms_base_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: str = Field("", repr=False)
    sms_from: str = ""
    sms_timeout: float = Field(5.0, gt=0)
    # per person and hour; beyond it email joins the digest and SMS is skipped
    email_per_hour: int = Field(20, ge=0)
    sms_per_hour: int = Field(5, ge=0)
    # the delivery loops
    dispatch_interval: float = Field(0.5, gt=0, description="seconds between queue polls when not woken")
    dispatch_batch: int = Field(200, ge=1, le=5000)
    send_concurrency: int = Field(8, ge=1, le=200, description="emails and SMS in flight at once")
    # webhooks
    webhook_timeout: float = Field(5.0, gt=0, le=60, description="connect + answer, per attempt")
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_retry_base: float = Field(2.0, gt=0)
    webhook_retry_cap: float = Field(3600.0, gt=0)
    webhook_concurrency: int = Field(200, ge=1, le=2000, description="webhook deliveries in flight in total")
    registry_timeout: float = Field(5.0, gt=0, description="seconds to wait for compliance's client registry")
    client_refresh_seconds: float = Field(600.0, gt=0, description="how often the client read model is compared "
                                                                   "with the registry (agreements renewed or lapsed)")
    # AMQP consumers of registered clients (usecases.consumers): provisioned with rabbitmqctl on the broker's node
    broker_admin: str = Field("rabbitmqctl", repr=False, pattern=r"^(rabbitmqctl|none|https?://.+)$",
                              description="how client users and permissions are set: rabbitmqctl (beside the "
                                          "broker's node), the management API's URL with an administrator's "
                                          "credentials (http://user:password@host:15672), or none (no consumers)")
    consumer_amqp_address: str = Field("", description="host:port (or amqps://host:port) clients reach the broker "
                                                       "at (default: this service's own AMQP host)")
    consumer_queue_max_length: int = Field(100_000, ge=1, description="events a client's queue holds; beyond, the "
                                           "oldest are dropped (fixed when the queue is first declared)")
    consumer_sweep_seconds: float = Field(60.0, gt=0, description="how often consumers are checked against their "
                                        "clients (lapsed agreements) and a broker left behind is caught up")
    lease_seconds: float = Field(60.0, gt=0, description="a claimed delivery is retried after this if its "
                                                          "process died")


def load(service_name: str, config: Mapping[str, Any]) -> NotificationsSettings:
    own = {name for name in NotificationsSettings.model_fields if name not in ServiceSettings.model_fields}
    values: dict[str, Any] = {}
    for name in own:
        env = os.environ.get(PREFIX + name.upper())
        if env not in (None, ""):
            values[name] = env
        value = config.get(name.upper())
        if value not in (None, ""):
            values[name] = value
    from chassis.settings import load_settings

    base = load_settings(service_name, config).model_dump()
    try:
        return NotificationsSettings(**{**base, **values})
    except ValidationError as exc:  # fail at start with the setting that is wrong
        raise SystemExit(f"invalid settings for {service_name}: {exc}") from None


def settings_of(container) -> NotificationsSettings:
    settings = getattr(container, "_notifications_settings", None)
    if settings is None:
        settings = load(container.service_name, container.config)
        container._notifications_settings = settings
    return settings
