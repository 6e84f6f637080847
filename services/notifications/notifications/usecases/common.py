"""What every use case shares: ids, the org directory as recipient resolution sees it, access checks."""
from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select

from chassis.access import Resource, Role
from chassis.access.org import OrgIndex
from contracts.actor import Actor
from notifications.domain.errors import NotAllowed
from notifications.repositories import NotificationsUnitOfWork

T = TypeVar("T")
_HR_CACHE: dict[int, tuple[OrgIndex, dict[str, list[str]], list[str]]] = {}


def new_id() -> str:
    return str(uuid.uuid4())


def _grants_by_unit(index: OrgIndex) -> tuple[dict[str, list[str]], list[str]]:
    """HR/HRBP subjects per org unit of their scope, and the administrators (once per index generation)."""
    cached = _HR_CACHE.get(id(index))
    if cached is not None and cached[0] is index:
        return cached[1], cached[2]
    hr: dict[str, list[str]] = {}
    admins: list[str] = []
    for subject in index.people:
        for grant in index.grants_of(subject):
            if grant.role in (Role.HR, Role.HRBP) and grant.org_unit_id:
                hr.setdefault(grant.org_unit_id, []).append(subject)
            elif grant.role == Role.ADMIN:
                admins.append(subject)
    _HR_CACHE.clear()  # one index at a time: the read model's current one
    _HR_CACHE[id(index)] = (index, hr, admins)
    return hr, admins


class OrgDirectory:
    """`domain.routes.Directory` over the service's org read model."""

    def __init__(self, index: OrgIndex):
        self.index = index
        self.hr, self._admins = _grants_by_unit(index)

    def is_active(self, person_id: str) -> bool:
        person = self.index.person(person_id)
        return person is not None and str(getattr(person, "status", "active")) == "active"

    def manager_of(self, person_id: str) -> str | None:
        return self.index.manager_of(person_id)

    def unit_of(self, person_id: str) -> str | None:
        person = self.index.person(person_id)
        return None if person is None else person.org_unit_id

    def hr_for_unit(self, unit_id: str) -> list[str]:
        """The HR closest to the unit: those scoped to it, else to its parent, and so on up."""
        seen = set()
        current: str | None = unit_id
        while current and current not in seen:
            seen.add(current)
            if current in self.hr:
                return list(self.hr[current])
            unit = self.index.unit(current)
            current = None if unit is None else unit.parent_id
        return []

    def admins(self) -> list[str]:
        return list(self._admins)


def require(uow: NotificationsUnitOfWork, actor: Actor | None, action: str, resource: Resource) -> None:
    uow.access.require(actor, action, resource)


DELIVERIES = Resource(kind="webhook")  # a client's webhook subscriptions and AMQP consumer


def may_manage(uow: NotificationsUnitOfWork, actor: Actor | None, client_id: str) -> None:
    """An administrator, or the client itself (scope webhooks:write), manages a client's deliveries."""
    require(uow, actor, "webhook.manage", DELIVERIES)
    if actor is not None and actor.kind == "client" and actor.subject != client_id:
        raise NotAllowed("a client manages only its own deliveries", field="client_id")


def managed(uow: NotificationsUnitOfWork, actor: Actor | None, stmt: Select[T], client_column: Any,
            client_id: str | None) -> Select[T]:
    """`stmt` narrowed to what the caller may list: a client its own rows; an administrator all, or one client's."""
    if actor is not None and actor.kind == "client":
        may_manage(uow, actor, actor.subject)
        return stmt.where(client_column == actor.subject)
    require(uow, actor, "webhook.manage", DELIVERIES)
    return stmt.where(client_column == client_id) if client_id else stmt


def subject_of(actor: Actor | None) -> str:
    """Who acts, once access allowed it (nobody unauthenticated is ever allowed to write)."""
    if actor is None:
        raise NotAllowed("an authenticated caller is required", field="actor")
    return actor.subject


def person_of(actor: Actor | None) -> str:
    if actor is None or actor.kind != "person":
        raise NotAllowed("the inbox belongs to a person: call as one", field="actor")
    return actor.subject
