"""The typed boundary to nameko and kombu.

nameko ships no type information and most of kombu's methods are unannotated, so under a strict type checker the
chassis would either subclass and call `Any` everywhere or silence each use. Instead it sees them through the
declarations below: only the part of their API the chassis uses, with the types it relies on. At run time these
names are the real nameko and kombu classes (the `else` branch); the declarations are never executed.

Chassis modules import nameko's and kombu's classes from here. The attributes named `_jixiao_*` are the ones the
chassis itself keeps on nameko's containers and worker contexts (settings, metrics, store, the call).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from types import TracebackType
    from typing import Protocol, TypeVar

    from eventlet.event import Event as GreenEvent
    from eventlet.greenthread import GreenThread

    from chassis.context import Call
    from chassis.metrics import ServiceMetrics
    from chassis.settings import ServiceSettings
    from chassis.uow import Store

    _F = TypeVar("_F", bound=Callable[..., Any])

    ExcInfo = tuple[type[BaseException], BaseException, TracebackType]

    # -- kombu and py-amqp -----------------------------------------------------------------------------------
    class Message(Protocol):
        """A received message (kombu.Message)."""

        body: Any
        headers: dict[str, Any]
        properties: dict[str, Any]
        delivery_info: dict[str, Any]
        content_type: str | None
        content_encoding: str | None

        def ack(self) -> None: ...

    class Channel(Protocol):
        """An open channel (amqp.Channel, or a virtual transport's)."""

        events: dict[str, set[Callable[..., None]]]

        def queue_declare(self, queue: str = ..., passive: bool = ...) -> tuple[str, int, int]: ...
        def basic_publish(self, msg: Any, exchange: str = ..., routing_key: str = ...) -> None: ...
        def confirm_select(self) -> None: ...
        def close(self) -> None: ...

    class Transport(Protocol):
        driver_type: str

    class Connection:
        transport: Transport

        def __init__(self, hostname: str = ..., *, transport_options: Mapping[str, Any] | None = ...,
                     heartbeat: float | None = ..., connect_timeout: float = ...) -> None: ...
        def ensure_connection(self, *, max_retries: int | None = ..., timeout: float | None = ...) -> Connection: ...
        def channel(self) -> Channel: ...
        def drain_events(self, *, timeout: float | None = ...) -> None: ...
        def release(self) -> None: ...
        def close(self) -> None: ...
        def __enter__(self) -> Connection: ...
        def __exit__(self, *exc_info: object) -> None: ...

    class Declarable(Protocol):
        """An exchange or a queue that can be declared on a channel. kombu's own Exchange and Queue match it too;
        the channel is whichever transport's (py-amqp's, or kombu's virtual one), hence not narrowed here."""

        def bind(self, channel: Any) -> Declarable: ...
        def declare(self) -> object: ...

    class Exchange:
        name: str

        def bind(self, channel: Channel) -> Exchange: ...
        def declare(self) -> object: ...
        def __init__(self, name: str = ..., type: str = ..., *, durable: bool = ..., auto_delete: bool = ...,
                     internal: bool = ...) -> None: ...

    class binding:  # kombu's name
        def __init__(self, exchange: Exchange | None = ..., routing_key: str = ...) -> None: ...

    class Queue:
        name: str

        def bind(self, channel: Channel) -> Queue: ...
        def declare(self) -> object: ...
        def __init__(self, name: str = ..., exchange: Exchange | None = ..., routing_key: str = ..., *,
                     bindings: Iterable[binding] | None = ..., durable: bool = ..., exclusive: bool = ...,
                     auto_delete: bool = ..., queue_arguments: Mapping[str, Any] | None = ...) -> None: ...

    class Producer:
        def __init__(self, channel: Channel) -> None: ...
        def publish(self, body: bytes, *, exchange: str = ..., routing_key: str = ..., **properties: Any) -> None: ...

    class Consumer(Protocol):
        """A kombu consumer as nameko's QueueConsumer holds it."""

        no_ack: bool
        on_decode_error: Callable[[Message, Exception], None] | None

        def qos(self, *, prefetch_count: int) -> None: ...

    # -- nameko ----------------------------------------------------------------------------------------------
    class WorkerPool(Protocol):
        def free(self) -> int: ...

        def running(self) -> int: ...

    class ServiceContainer:
        service_name: str
        service_cls: type
        config: dict[str, Any]
        extensions: set[Extension]
        dependencies: set[DependencyProvider]
        _worker_pool: WorkerPool
        _jixiao_settings: ServiceSettings  # chassis.runtime.settings_of
        _jixiao_metrics: ServiceMetrics  # chassis.metrics.metrics_of
        _jixiao_store: Store  # chassis.uow.Database

        def __init__(self, service_cls: type, config: dict[str, Any]) -> None: ...
        def start(self) -> None: ...
        def stop(self) -> None: ...
        def kill(self, exc_info: ExcInfo | None = ...) -> None: ...
        def wait(self) -> Any: ...
        def spawn_worker(self, entrypoint: Entrypoint, args: Iterable[Any], kwargs: Mapping[str, Any],
                         context_data: Mapping[str, Any] | None = ...,
                         handle_result: Callable[..., tuple[Any, ExcInfo | None]] | None = ...) -> WorkerContext: ...
        def spawn_managed_thread(self, fn: Callable[[], Any], identifier: str | None = ...) -> GreenThread: ...
        def _run_worker(self, worker_ctx: WorkerContext,
                        handle_result: Callable[..., tuple[Any, ExcInfo | None]] | None) -> None: ...

    def get_service_name(service_cls: type) -> str: ...

    class WorkerContext:
        container: ServiceContainer
        entrypoint: Entrypoint
        service: Any
        args: tuple[Any, ...]
        kwargs: dict[str, Any]
        data: dict[str, Any]
        context_data: dict[str, Any]
        _jixiao_call: Call  # chassis.context.bind
        _jixiao_tokens: tuple[Any, ...]  # the context variables' reset tokens (chassis.context.CallContext)
        _jixiao_request_claim: Any  # chassis.requestkeys' claim (its owner's type)

    class Extension:
        container: ServiceContainer

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...
        def setup(self) -> None: ...
        def start(self) -> None: ...
        def stop(self) -> None: ...
        def kill(self) -> None: ...

    class SharedExtension(Extension): ...

    class DependencyProvider(Extension):
        attr_name: str

        def get_dependency(self, worker_ctx: WorkerContext) -> Any: ...
        def worker_setup(self, worker_ctx: WorkerContext) -> None: ...
        def worker_result(self, worker_ctx: WorkerContext, result: Any = ...,
                          exc_info: ExcInfo | None = ...) -> None: ...
        def worker_teardown(self, worker_ctx: WorkerContext) -> None: ...

    class Entrypoint(Extension):
        method_name: str
        expected_exceptions: type[BaseException] | tuple[type[BaseException], ...]

        @classmethod
        def decorator(cls, *args: Any, **kwargs: Any) -> Callable[[_F], _F]: ...

    class QueueConsumer(SharedExtension):
        _consumers: dict[Any, Consumer]
        _providers: set[Any]
        _pending_remove_providers: dict[Any, Any]
        _gt: GreenThread | None
        should_stop: bool

        def handle_message(self, provider: Any, body: Any, message: Message) -> None: ...
        def get_consumers(self, consumer_cls: type, channel: Channel) -> list[Consumer]: ...
        def run(self, _tokens: int = ..., **kwargs: Any) -> Any: ...
        def register_provider(self, provider: Any) -> None: ...
        def ack_message(self, message: Message) -> None: ...
        def requeue_message(self, message: Message) -> None: ...

    class MessagingConsumer(Entrypoint):
        queue: Queue | None
        queue_consumer: QueueConsumer

        def __init__(self, queue: Queue | None, requeue_on_error: bool = ..., **kwargs: Any) -> None: ...
        def unpack_message_headers(self, message: Message) -> dict[str, Any]: ...

    class ReplyListener(SharedExtension):
        routing_key: str
        _reply_events: dict[str, GreenEvent]

        def get_reply_event(self, correlation_id: str) -> GreenEvent: ...

    class HttpRequestHandler(Entrypoint): ...

    class ContainerBeingKilled(Exception): ...

else:
    from kombu import Connection, Exchange, Producer, Queue, binding
    from nameko.containers import ServiceContainer, WorkerContext, get_service_name
    from nameko.exceptions import ContainerBeingKilled
    from nameko.extensions import DependencyProvider, Entrypoint, Extension, SharedExtension
    from nameko.messaging import Consumer as MessagingConsumer
    from nameko.messaging import QueueConsumer
    from nameko.rpc import ReplyListener
    from nameko.web.handlers import HttpRequestHandler

__all__ = [
    "Connection", "ContainerBeingKilled", "DependencyProvider", "Entrypoint", "Exchange", "Extension",
    "HttpRequestHandler", "MessagingConsumer", "Producer", "Queue", "QueueConsumer", "ReplyListener",
    "ServiceContainer", "SharedExtension", "WorkerContext", "binding", "get_service_name",
]
