"""The CloudEvents 1.0 envelope every Jixiao event travels in (structured JSON mode).

Extension attributes: `actor` (who caused it: id and kind only), `correlationid` (the request that caused it;
CloudEvents extension names are lowercase alphanumerics, hence no underscore) and `signature` (the producer's
authenticity tag). Consumers deduplicate on `id`.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.actor import Actor, ActorKind
from contracts.base import Event, validate_event_type

SOURCE_PREFIX = "/jixiao/"


class EventActor(BaseModel):
    """Who caused an event, as every consumer (third parties included) sees it: an id and a kind. Roles, scopes and
    the org unit are the suite's business and never travel on events."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: str = Field(min_length=1, max_length=128)
    kind: ActorKind = "person"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(pattern=r"^/jixiao/[a-z][a-z0-9_-]*$")
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]
    actor: EventActor | None = None
    correlationid: str | None = Field(default=None, max_length=128)
    # `hmac-sha256=<hex>` over every other attribute (sorted-key JSON), added by the producer's outbox relay and
    # checked by every consumer against the producer's key (chassis.signing); absent until published.
    signature: str | None = Field(default=None, max_length=200)

    @field_validator("type")
    @classmethod
    def _type_shape(cls, value: str) -> str:
        validate_event_type(value)
        return value

    @field_validator("actor", mode="before")
    @classmethod
    def _id_and_kind_only(cls, value: Any) -> Any:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        if isinstance(value, dict):
            return {k: value[k] for k in ("subject", "kind") if k in value}
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value

    @property
    def service(self) -> str:
        return self.source.removeprefix(SOURCE_PREFIX)

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=SOURCE_PREFIX + event.service(),
            type=event.type,
            time=at or datetime.now(UTC),
            subject=event.subject(),
            dataschema=f"https://jixiao.dev/schemas/{event.type}.json",
            data=event.model_dump(mode="json"),
            actor=actor,
            correlationid=correlation_id,
        )

    def payload(self) -> Event:
        """Decode `data` into its registered contract model (raises if the type is unknown or data invalid)."""
        model = Event.registry.get(self.type)
        if model is None:
            raise LookupError(f"unknown event type {self.type}")
        return model.model_validate(self.data)
