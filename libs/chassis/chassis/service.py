"""The base class of every chassis service: call context, metrics, `/metrics`, `/health/live`, `/health/ready`.

    class GoalsService(Service):
        name = "goals"
        uow = Database(GoalsUnitOfWork)
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from chassis.amqp import connect, is_memory
from chassis.context import CallContext
from chassis.framework import DependencyProvider, HttpRequestHandler, ServiceContainer, WorkerContext
from chassis.metrics import CONTENT_TYPE, Metrics, metrics_of
from chassis.runtime import settings_of


class ProbeHandler(HttpRequestHandler):
    """Operational endpoints: not timed as business entrypoints."""

    untimed = True


probe = ProbeHandler.decorator


def broker_ready(amqp_uri: str) -> tuple[bool, str]:
    if is_memory(amqp_uri):
        return True, "ok"
    conn = connect(amqp_uri)
    try:
        conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, f"broker: {type(exc).__name__}"
    finally:
        conn.release()


def consumers_ready(container: ServiceContainer) -> tuple[bool, str]:
    """Every queue consumer of the container is consuming: the HTTP server starts beside them, and a request
    published before its queue exists is dropped (RabbitMQ routes it nowhere), so "ready" must wait for them."""
    pending = failed = 0
    for extension in container.extensions:
        started = getattr(extension, "_consumers_ready", None)  # nameko's QueueConsumer and its subclasses
        if started is None or not hasattr(started, "has_exception"):
            continue
        if not started.ready():
            pending += 1
        elif started.has_exception():
            failed += 1
    if failed:
        return False, f"{failed} queue consumer(s) failed to start"
    if pending:
        return False, f"{pending} queue consumer(s) starting"
    return True, "ok"


def readiness(container: ServiceContainer) -> dict[str, dict[str, Any]]:
    checks = {"broker": broker_ready(settings_of(container).amqp_uri), "consumers": consumers_ready(container)}
    for provider in container.dependencies:
        ready = getattr(provider, "ready", None)
        if callable(ready):
            checks[provider.attr_name] = ready()
    return {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}


class ContainerRef(DependencyProvider):
    """Injects the container itself, for the operational endpoints."""

    if TYPE_CHECKING:  # what a service instance sees: nameko sets the dependency over the class attribute
        def __get__(self, instance: object, owner: type | None = None) -> ServiceContainer: ...

    def get_dependency(self, worker_ctx: WorkerContext) -> ServiceContainer:
        return worker_ctx.container


class Service:
    name: str

    call = CallContext()
    metrics = Metrics()
    _container = ContainerRef()

    @probe("GET", "/metrics")
    def prometheus_metrics(self, request: Request) -> Response:
        return Response(metrics_of(self._container).render(), mimetype=CONTENT_TYPE.split(";")[0],
                        content_type=CONTENT_TYPE)

    @probe("GET", "/health/live")
    def health_live(self, request: Request) -> Response:
        return Response(json.dumps({"status": "live", "service": self.name}), mimetype="application/json")

    @probe("GET", "/health/ready")
    def health_ready(self, request: Request) -> Response:
        checks = readiness(self._container)
        ok = all(check["ok"] for check in checks.values())
        body = {"status": "ready" if ok else "not-ready", "service": self.name, "checks": checks}
        return Response(json.dumps(body), status=200 if ok else 503, mimetype="application/json")
