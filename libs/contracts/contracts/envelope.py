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

    subject: str = Field(min_length=1, max_length=128, description=(
        "who acted: an employee number, a registered client's id, or `service:<name>` for the suite's own work"))
    kind: ActorKind = Field(default="person", description=(
        "person (a signed-in user), client (a third party's API key), service or system (the suite itself)"))


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = Field(default="1.0", description="the CloudEvents version: always 1.0")
    id: str = Field(min_length=1, max_length=64, description=(
        "the event's unique id (a UUID); the same on every redelivery: consumers deduplicate on it"))
    source: str = Field(pattern=r"^/jixiao/[a-z][a-z0-9_-]*$", description=(
        "the service that published the event: `/jixiao/<service>`"))
    type: str = Field(description=(
        "the event type `jixiao.<service>.<entity>.<verb>.v<N>`, also its routing key; `data` follows its schema"))
    time: datetime = Field(description="when the fact happened (UTC, RFC 3339)")
    subject: str | None = Field(default=None, description=(
        "the id of the record the event is about (events of one subject are published in order); null: none"))
    datacontenttype: Literal["application/json"] = Field(default="application/json", description=(
        "the media type of `data`: always application/json"))
    dataschema: str | None = Field(default=None, description=(
        "the URL of `data`'s JSON Schema (`https://jixiao.dev/schemas/<type>.json`)"))
    data: dict[str, Any] = Field(description="the event's payload: the contract model named by `type`")
    actor: EventActor | None = Field(default=None, description=(
        "who caused the event: id and kind only (roles, scopes and org unit never travel on events)"))
    correlationid: str | None = Field(default=None, max_length=128, description=(
        "the id of the request that caused the event (the gateway's X-Correlation-ID), to trace it"))
    # `hmac-sha256=<hex>` over every other attribute (sorted-key JSON), added by the producer's outbox relay and
    # checked by every consumer against the producer's key (chassis.signing); absent until published.
    signature: str | None = Field(default=None, max_length=200, description=(
        "`hmac-sha256=<hex>` over every other attribute as sorted-key JSON, by the producer's key; checked by "
        "the suite's consumers"))

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
