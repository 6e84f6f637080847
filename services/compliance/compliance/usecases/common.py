"""What every use case shares: the unit of work, JSON columns, org events kept in step with the read model."""
from __future__ import annotations

import json
import uuid
from typing import Any

from chassis.access import AccessUnitOfWork, Resource, apply_org_event
from chassis.errors import Forbidden
from compliance.domain.canonical import canonical_json
from contracts.actor import Actor
from contracts.base import Event


class ComplianceUnitOfWork(AccessUnitOfWork):
    """Compliance's unit of work. The org read model lives in the same database, so `access` decides here
    exactly as in every other service."""


def dumps(value: Any) -> str:
    """Canonical JSON text for a JSON column."""
    return canonical_json(value).decode("utf-8")


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def new_id() -> str:
    return uuid.uuid4().hex


def publish_org(uow: ComplianceUnitOfWork, *events: Event) -> None:
    """Publish directory events and apply them to compliance's own read model in the same transaction."""
    for envelope in uow.publish(*events):
        apply_org_event(uow.session, envelope)


def person_actor(uow: ComplianceUnitOfWork, actor: Actor | None, action: str, resource: Resource) -> Actor:
    """The caller of a self-service request, who must be an authenticated person; a refusal is recorded."""
    if actor is None or actor.kind != "person":
        reason = f"{action} is made by a person for themself"
        uow.record_denial(actor, action, resource, reason)
        raise Forbidden(reason)
    return actor
