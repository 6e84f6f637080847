"""`OrgAccess`: access decisions inside a use case, from the service's own org read model, denials recorded.

A denial is recorded as `jixiao.<service>.access.denied.v1` through the outbox even though the use case then
fails: `AccessUnitOfWork` writes the pending denials with the commit when the use case goes on, and in a
transaction of their own after the rollback when it fails (on SQLite, once the one connection is free again).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType

from sqlalchemy.orm import Session

from chassis.access.org import OrgIndex, Role
from chassis.access.policy import Actor as PolicyActor
from chassis.access.policy import Decision, Resource, can, client_can, scopes_of
from chassis.access.readmodel import DEFAULT_MAX_AGE, load_index
from chassis.errors import Forbidden, NotFound
from chassis.outbox import write_outbox
from chassis.uow import UnitOfWork
from contracts.actor import Actor
from contracts.compliance import ResourceRef, access_denied_event
from contracts.envelope import Envelope

log = logging.getLogger(__name__)


class OrgAccess:
    """Decisions for one unit of work. Get it as `uow.access` from an `AccessUnitOfWork`."""

    def __init__(self, uow: AccessUnitOfWork, *, bootstrap_admins: Iterable[str] = (),
                 max_age: float = DEFAULT_MAX_AGE) -> None:
        self.uow = uow
        self.bootstrap_admins = frozenset(bootstrap_admins)
        self.max_age = max_age

    @property
    def index(self) -> OrgIndex:
        return load_index(self.uow.session, self.max_age)  # RuntimeError outside `with uow:`

    def policy_actor(self, actor: Actor) -> PolicyActor:
        """A person's roles and scopes come from the directory's grants, never from the caller's claims."""
        index = self.index
        person = index.person(actor.subject)
        grants = index.grants_of(actor.subject)
        roles = {grant.role for grant in grants}
        if actor.subject in self.bootstrap_admins:
            roles.add(Role.ADMIN)
        return PolicyActor(actor.subject, frozenset(roles), scopes_of(grants),
                           None if person is None else person.org_unit_id)

    def decide(self, actor: Actor | None, action: str, resource: Resource) -> Decision:
        """The decision, recording nothing (use it to filter lists; `require` for a request's own action)."""
        if actor is None:
            return Decision(False, "no authenticated actor")
        if actor.kind in ("service", "system"):
            return Decision(True, f"{action} allowed: {actor.subject} acts on its own behalf")
        if actor.kind == "client":
            return client_can(actor.scopes, action, resource)
        return can(self.policy_actor(actor), action, resource, self.index)

    def can(self, actor: Actor | None, action: str, resource: Resource) -> bool:
        return self.decide(actor, action, resource).allowed

    def require(self, actor: Actor | None, action: str, resource: Resource, *, missing: str | None = None,
                visible_with: str | None = None) -> Decision:
        """Allow, or record the denial and raise Forbidden with the reason.

        `missing`: the exact message the use case gives for a record that does not exist (`"no goal g-1"`). A
        caller who may not know the record exists then gets that NotFound instead of 403: a 403 for an existing
        record beside a 404 for a missing one confirms existence. With `visible_with` (a read action such as
        `goal.read`), a caller allowed to see the record still gets the honest 403 for what it may not do."""
        decision = self.decide(actor, action, resource)
        if not decision.allowed:
            self.uow.record_denial(actor, action, resource, decision.reason)
            if missing is not None and (visible_with is None or not self.can(actor, visible_with, resource)):
                raise NotFound(missing)
            raise Forbidden(decision.reason)
        return decision


class AccessUnitOfWork(UnitOfWork):
    """A unit of work with `self.access` (an `OrgAccess`) that records denials even when the use case fails.

    Subclass it instead of `UnitOfWork`, and call `super().open(session)` from your `open`.
    Set `bootstrap_admins` (subjects holding the admin role before any grant exists) on the subclass or instance.
    """

    bootstrap_admins: frozenset[str] = frozenset()
    access_max_age: float = DEFAULT_MAX_AGE

    def open(self, session: Session) -> None:
        self._denials: list[Envelope] = []
        self.access = OrgAccess(self, bootstrap_admins=self.bootstrap_admins, max_age=self.access_max_age)

    def record_denial(self, actor: Actor | None, action: str, resource: Resource, reason: str) -> None:
        """Queue the denial; the envelope's actor is the one denied (None when nobody was authenticated)."""
        # the class is made per service (its event type), so its fields are given as AccessDenied's, validated
        event = access_denied_event(self.store.service_name).model_validate({
            "actor_subject": None if actor is None else actor.subject,
            "actor_kind": None if actor is None else actor.kind,
            "action": action[:100],
            "resource": ResourceRef(kind=resource.kind[:64] or "unknown", owner=resource.owner,
                                    org_unit=resource.org_unit, unit_owned=resource.unit_owned),
            "reason": reason[:500],
        })
        self._denials.append(Envelope.wrap(event, actor=actor, correlation_id=self.correlation_id, at=self.now()))

    def commit(self) -> None:
        denials: list[Envelope] = getattr(self, "_denials", [])
        self._denials = []
        self._events.extend(denials)  # the use case went on: the denials commit with its effects
        super().commit()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        denials: list[Envelope] = [] if exc_type is None else getattr(self, "_denials", [])
        self._denials = []
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if denials:
                self._write_after_rollback(denials)

    def _write_after_rollback(self, envelopes: list[Envelope]) -> None:
        try:
            with self.store.engine.begin() as connection:
                write_outbox(connection, envelopes)
        except Exception:  # the request's own error is what the caller must see; this one is logged
            log.exception("could not record %d access denials", len(envelopes))
            return
        self.store.events_committed()
