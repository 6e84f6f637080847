"""Prometheus metrics, one registry per service container (several services can share a process in the
embedded mode and must not mix their figures).

Entrypoint latency and errors are recorded for every worker by the `Metrics` dependency, which the `Service`
base class declares, so no service writes its own timing code.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from chassis.framework import DependencyProvider, Entrypoint, ServiceContainer, WorkerContext

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chassis.framework import ExcInfo
    from chassis.outbox import OutboxRelay

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _CallbackCollector(Collector):
    """Gauges read when scraped (pool usage, outbox backlog), cached briefly so a scrape storm stays cheap."""

    def __init__(self, read: Callable[[], list[GaugeMetricFamily]], ttl: float = 2.0) -> None:
        self.read = read
        self.ttl = ttl
        self._cached: list[GaugeMetricFamily] = []
        self._at = 0.0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = time.monotonic()
        if now - self._at > self.ttl:
            try:
                self._cached = self.read()
            except Exception as exc:  # a scrape must never fail because one source is down
                log.debug("metrics source failed: %s", exc)
            self._at = now
        return self._cached


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.entrypoint_latency = Histogram(
            "jixiao_entrypoint_duration_seconds", "Time spent handling one call, by entrypoint",
            ["service", "kind", "entrypoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.entrypoint_errors = Counter(
            "jixiao_entrypoint_errors_total", "Calls that ended in an error, by entrypoint and error class",
            ["service", "kind", "entrypoint", "error"], registry=r)
        self.rpc_client_latency = Histogram(
            "jixiao_rpc_client_duration_seconds", "Outgoing RPC calls as the caller saw them",
            ["service", "target", "outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.outbox_published = Counter(
            "jixiao_outbox_published_total", "Events the outbox relay published with confirms", registry=r)
        self.outbox_failures = Counter(
            "jixiao_outbox_relay_failures_total", "Relay cycles that failed (broker or database down)", registry=r)
        self.events_handled = Counter(
            "jixiao_events_consumed_total", "Events consumed, by handler and outcome",
            ["service", "handler", "outcome"], registry=r)
        self.dead_lettered = Counter(
            "jixiao_events_dead_lettered_total", "Events parked in a dead-letter queue after their retries",
            ["service", "queue"], registry=r)
        self.rejected = Counter(
            "jixiao_events_rejected_total", "Messages a consumer refused without handling them (parked in its "
            "dead-letter queue), by reason: undecodable, not_an_envelope, wrong_exchange, not_authentic",
            ["service", "handler", "reason"], registry=r)
        self.retried = Counter(
            "jixiao_events_retried_total", "Event deliveries scheduled for a retry after a failure",
            ["service", "queue"], registry=r)
        self.up = Gauge("jixiao_service_info", "Service identity", ["service"], registry=r)
        self.up.labels(service).set(1)

    def add_collector(self, read: Callable[[], list[GaugeMetricFamily]]) -> None:
        self.registry.register(_CallbackCollector(read))

    def watch_pool(self, engine: Engine) -> None:
        pool = engine.pool

        def read() -> list[GaugeMetricFamily]:
            size = GaugeMetricFamily("jixiao_db_pool_size", "Configured database pool size", labels=["service"])
            out = GaugeMetricFamily("jixiao_db_pool_checked_out", "Connections in use", labels=["service"])
            size.add_metric([self.service], float(getattr(pool, "size", lambda: 1)()))
            out.add_metric([self.service], float(getattr(pool, "checkedout", lambda: 0)()))
            return [size, out]

        self.add_collector(read)

    def watch_outbox(self, relay: OutboxRelay) -> None:
        def read() -> list[GaugeMetricFamily]:
            count, age = relay.backlog()
            pending = GaugeMetricFamily("jixiao_outbox_pending", "Outbox events not yet published",
                                        labels=["service"])
            oldest = GaugeMetricFamily("jixiao_outbox_oldest_pending_seconds",
                                       "Age of the oldest unpublished event", labels=["service"])
            pending.add_metric([self.service], float(count))
            oldest.add_metric([self.service], age)
            return [pending, oldest]

        self.add_collector(read)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_of(container: ServiceContainer) -> ServiceMetrics:
    metrics: ServiceMetrics | None = getattr(container, "_jixiao_metrics", None)
    if metrics is None:
        metrics = ServiceMetrics(container.service_name)
        container._jixiao_metrics = metrics
    return metrics


def entrypoint_kind(entrypoint: Entrypoint) -> str:
    names = {cls.__name__ for cls in type(entrypoint).__mro__}
    if "Rpc" in names:
        return "rpc"
    if "EventConsumer" in names or "EventHandler" in names:
        return "event"
    if "Timer" in names:
        return "timer"
    if "HttpRequestHandler" in names:
        return "http"
    return "other"


class Metrics(DependencyProvider):
    """Times every worker of the container and counts its errors."""

    if TYPE_CHECKING:  # what a service instance sees (`self.metrics`): nameko sets the dependency over it
        def __get__(self, instance: object, owner: type | None = None) -> ServiceMetrics: ...

    def setup(self) -> None:
        self.metrics = metrics_of(self.container)
        self._started: dict[int, float] = {}
        # per entrypoint: its latency histogram's child, kind and name (None: untimed), looked up once rather than
        # through `labels()` (a lock, a tuple of strings and a dict) and the kind from the class's MRO on every call
        self._timed: dict[Entrypoint, tuple[Histogram, str, str] | None] = {}

    def get_dependency(self, worker_ctx: WorkerContext) -> ServiceMetrics:
        return self.metrics

    def worker_setup(self, worker_ctx: WorkerContext) -> None:
        self._started[id(worker_ctx)] = time.perf_counter()

    def _timing(self, entrypoint: Entrypoint) -> tuple[Histogram, str, str] | None:
        if entrypoint not in self._timed:
            if getattr(entrypoint, "untimed", False):
                self._timed[entrypoint] = None
            else:
                kind, name = entrypoint_kind(entrypoint), entrypoint.method_name
                self._timed[entrypoint] = (self.metrics.entrypoint_latency.labels(self.metrics.service, kind, name),
                                           kind, name)
        return self._timed[entrypoint]

    def worker_result(self, worker_ctx: WorkerContext, result: object = None,
                      exc_info: ExcInfo | None = None) -> None:
        started = self._started.pop(id(worker_ctx), None)
        timing = self._timing(worker_ctx.entrypoint)
        if timing is None:
            return
        latency, kind, name = timing
        if started is not None:
            latency.observe(time.perf_counter() - started)
        if exc_info is not None:
            self.metrics.entrypoint_errors.labels(self.metrics.service, kind, name, exc_info[0].__name__).inc()

    def worker_teardown(self, worker_ctx: WorkerContext) -> None:
        self._started.pop(id(worker_ctx), None)
