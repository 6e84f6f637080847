"""The actor and correlation id of the current call.

They travel in nameko context data (`actor`, `correlation_id`), which nameko forwards on every RPC and event it
sends from a worker. `CallContext` validates them when a worker starts and exposes them to service code, to the
unit of work (which stamps them on events) and to logs (through context variables, one per greenthread).
"""
from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chassis.framework import DependencyProvider, WorkerContext
from contracts.actor import Actor

ACTOR_KEY = "actor"
CORRELATION_KEY = "correlation_id"

_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("jixiao_actor", default=None)
_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("jixiao_correlation", default=None)
_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("jixiao_service", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_actor() -> Actor | None:
    return _actor.get()


def current_correlation_id() -> str | None:
    return _correlation.get()


def current_service() -> str | None:
    return _service.get()


def actor_from_context(data: dict[str, Any]) -> Actor | None:
    raw = data.get(ACTOR_KEY)
    if not raw:
        return None
    try:
        return Actor.model_validate(raw)
    except ValidationError:
        return None  # a malformed actor is no actor: access checks then deny


def context_data_for(actor: Actor | None, correlation_id: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if actor is not None:
        data[ACTOR_KEY] = actor.model_dump(mode="json")
    if correlation_id:
        data[CORRELATION_KEY] = correlation_id
    return data


@dataclass(frozen=True)
class Call:
    """What service code sees: `self.call.actor`, `self.call.correlation_id`."""

    service: str
    actor: Actor | None
    correlation_id: str

    @property
    def acting(self) -> Actor:
        """The actor, or the service itself when nobody is (timers, event reactions)."""
        return self.actor or Actor.system(self.service)


def bind(worker_ctx: WorkerContext) -> Call:
    """Validate the worker's context data once, and make sure a correlation id exists for what it sends on."""
    cached: Call | None = getattr(worker_ctx, "_jixiao_call", None)
    if cached is not None:
        return cached
    data = worker_ctx.data
    correlation_id = data.get(CORRELATION_KEY)
    if not isinstance(correlation_id, str) or not correlation_id or len(correlation_id) > 128:
        correlation_id = new_correlation_id()
        data[CORRELATION_KEY] = correlation_id
    call = Call(worker_ctx.container.service_name, actor_from_context(data), correlation_id)
    worker_ctx._jixiao_call = call
    return call


class CallContext(DependencyProvider):
    """Injects the current `Call` and sets the context variables logs and `current_actor()` read."""

    if TYPE_CHECKING:  # what a service instance sees (`self.call`): nameko sets the dependency over the attribute
        def __get__(self, instance: object, owner: type | None = None) -> Call: ...

    def worker_setup(self, worker_ctx: WorkerContext) -> None:
        from chassis import requestkeys

        call = bind(worker_ctx)
        worker_ctx._jixiao_tokens = (
            _actor.set(call.actor),
            _correlation.set(call.correlation_id),
            _service.set(call.service),
        )
        worker_ctx._jixiao_request_claim = requestkeys.begin(worker_ctx)  # a retried write is done once

    def get_dependency(self, worker_ctx: WorkerContext) -> Call:
        return bind(worker_ctx)

    def worker_teardown(self, worker_ctx: WorkerContext) -> None:
        claim = getattr(worker_ctx, "_jixiao_request_claim", None)
        if claim is not None:
            from chassis import requestkeys

            requestkeys.end(claim)
        tokens = getattr(worker_ctx, "_jixiao_tokens", None)
        if tokens:
            variables: tuple[contextvars.ContextVar[Any], ...] = (_actor, _correlation, _service)
            for var, token in zip(variables, tokens):
                try:
                    var.reset(token)
                except ValueError:  # set in another context; nothing to undo there
                    pass
