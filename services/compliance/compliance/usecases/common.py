"""What every use case shares: JSON columns, and the self-service caller check."""
from __future__ import annotations

import json
from typing import Any

from chassis.access import Resource
from chassis.errors import Forbidden
from compliance.domain.canonical import canonical_json
from compliance.repositories import ComplianceUnitOfWork
from contracts.actor import Actor


def dumps(value: Any) -> str:
    """Canonical JSON text for a JSON column."""
    return canonical_json(value).decode("utf-8")


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def person_actor(uow: ComplianceUnitOfWork, actor: Actor | None, action: str, resource: Resource) -> Actor:
    """The caller of a self-service request, who must be an authenticated person; a refusal is recorded."""
    if actor is None or actor.kind != "person":
        reason = f"{action} is made by a person for themself"
        uow.record_denial(actor, action, resource, reason)
        raise Forbidden(reason)
    return actor


def require_unless_hidden(uow: ComplianceUnitOfWork, actor: Actor | None, action: str, resource: Resource, *,
                          missing: str, visible: bool) -> Actor:
    """`require`, for a record the caller may not know exists: refused and unable to see it (`visible` False),
    the caller gets `NotFound(missing)`, the very answer for a record that does not exist; one who can see it
    gets the honest 403. The denial is recorded either way. Returns the (authenticated) actor."""
    uow.access.require(actor, action, resource, missing=None if visible else missing)
    return acting(actor)


def acting(actor: Actor | None) -> Actor:
    """The actor of a use case that `require` has let through: never None past an access check."""
    if actor is None:
        raise Forbidden("no authenticated actor")
    return actor
