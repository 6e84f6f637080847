"""RPC: nameko's `@rpc` entrypoint with a faster, error-mapping responder, and clients that always time out.

Wire format is nameko's (`{"args", "kwargs"}` requests, `{"result", "error"}` replies on the `nameko-rpc`
exchange), so nameko's own tools can still call our services. What differs:

- replies are transient and unconfirmed on one long-lived connection per container (the caller's timeout covers
  a lost reply; a persistent, confirmed reply costs a disk write and a round trip for nothing);
- errors travel as RFC 9457 problems: a `ServiceError` raised by the service is raised again, same class, in the
  caller; a pydantic `ValidationError` becomes `InvalidInput` naming the fields; anything else becomes an
  `InternalError` that carries the correlation id and no internals;
- every call has a timeout (per call, or the service's `rpc_timeout` setting) and raises `RpcTimeout`; the
  request message expires at the broker after the same time so a recovering service does not work through
  requests nobody waits for any more.
"""
from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.greenthread import GreenThread
from kombu import Exchange, Queue
from kombu.utils.json import dumps, loads
from nameko.exceptions import MethodNotFound
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import Rpc as NamekoRpc
from nameko.rpc import RpcConsumer

from chassis.amqp import FastPublisher, OutgoingMessage, PublishError, connect, queue_arguments
from chassis.consumer import QueueConsumer, ReplyListener
from chassis.context import bind, context_data_for
from chassis.errors import (
    Conflict,
    InternalError,
    InvalidInput,
    NotFound,
    RpcTimeout,
    ServiceError,
    ServiceUnavailable,
    register_error,
    to_service_error,
)
from chassis.logs import quiet_client_errors
from chassis.requestkeys import REQUEST_KEY, RequestAlreadyDone, call_key
from chassis.runtime import settings_of
from contracts.actor import Actor

log = logging.getLogger(__name__)
quiet_client_errors()  # every service serves RPC: its callers' 4xx are INFO, not ERROR with a traceback

RPC_EXCHANGE = "nameko-rpc"
HEADER_PREFIX = "nameko."

Observe = Callable[[str, str, float], None]  # (target, outcome, seconds): the client's latency metric


register_error(MethodNotFound, lambda exc: NotFound(f"no such RPC method: {exc}"))
ExcInfo = tuple[type[BaseException], BaseException, Any]


def rpc_exchange() -> Exchange:
    return Exchange(RPC_EXCHANGE, type="topic", durable=True)  # type: ignore[no-untyped-call]


# -- server side ---------------------------------------------------------------------------------------------

def encode_error(exc: BaseException, correlation_id: str | None) -> dict[str, Any]:
    error = to_service_error(exc)
    if error is None:
        error = InternalError("unexpected error; quote the correlation id when reporting it",
                              correlation_id=correlation_id)
    return {
        "exc_type": type(error).__name__,
        "exc_path": f"{type(error).__module__}.{type(error).__name__}",
        "exc_args": [error.detail],
        "value": error.detail,
        "problem": error.problem(),
    }


def decode_error(error: dict[str, Any]) -> ServiceError:
    problem = error.get("problem")
    if isinstance(problem, dict):
        return ServiceError.from_problem(problem)
    # a plain nameko service answered: keep its message, never its traceback
    return InternalError(f"{error.get('exc_type', 'Error')}: {error.get('value', '')}")


class RpcResponder(SharedExtension):  # type: ignore[misc]
    """One reply connection per container."""

    def setup(self) -> None:
        self.publisher = FastPublisher(settings_of(self.container).amqp_uri, declare=[rpc_exchange()])

    def stop(self) -> None:
        self.publisher.close()

    def kill(self) -> None:
        self.publisher.close()

    def reply(self, message: Any, payload: dict[str, Any]) -> None:
        reply_to = message.properties.get("reply_to")
        if not reply_to:
            return  # fire-and-forget call
        try:
            body: str = dumps(payload)  # type: ignore[no-untyped-call]
        except Exception:
            body = dumps(  # type: ignore[no-untyped-call]
                {"result": None, "error": encode_error(InternalError("result is not serialisable"), None)})
        self.publisher.publish(OutgoingMessage(
            RPC_EXCHANGE, reply_to, body,
            properties={"correlation_id": message.properties.get("correlation_id")},
        ))


class ChassisRpcConsumer(RpcConsumer):  # type: ignore[misc]
    queue_consumer = QueueConsumer()
    responder = RpcResponder()
    _by_routing_key: dict[str, Any] | None = None  # routing key -> provider, built on the first call

    def setup(self) -> None:
        super().setup()
        if self.queue is not None:  # nameko's durable rpc-<service> queue, declared when consuming starts
            self.queue.queue_arguments = queue_arguments(settings_of(self.container).amqp_queue_type)

    def get_provider_for_method(self, routing_key: str) -> Any:
        # nameko formats and compares the key of every method of the service on every call (4% of a burst's CPU)
        by_key = self._by_routing_key
        if by_key is None:
            service = self.container.service_name
            by_key = self._by_routing_key = {f"{service}.{p.method_name}": p for p in self._providers}
        provider = by_key.get(routing_key)
        if provider is None:
            raise MethodNotFound(routing_key.split(".")[-1])
        return provider

    def register_provider(self, provider: Any) -> None:
        self._by_routing_key = None
        super().register_provider(provider)

    def unregister_provider(self, provider: Any) -> None:
        try:
            super().unregister_provider(provider)  # waits while the others unregister too; then it is gone
        finally:
            self._by_routing_key = None

    def handle_result(self, message: Any, result: Any, exc_info: ExcInfo | None) -> tuple[Any, ExcInfo | None]:
        # reached directly (without a worker) for unknown methods and malformed requests
        error = None
        if exc_info is not None:
            correlation = (message.headers or {}).get(HEADER_PREFIX + "correlation_id")
            error = encode_error(exc_info[1], correlation)
        try:
            self.responder.reply(message, {"result": None if error else result, "error": error})
        except PublishError as exc:
            log.warning("could not send RPC reply: %s", exc)  # the caller times out
        self.queue_consumer.ack_message(message)
        return result, exc_info


def nul_character_path(value: Any, path: str) -> str | None:
    """The path (`0.items.2.name`) of the first string holding U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return key_path
            found = nul_character_path(item, key_path)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = nul_character_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class RequestAlreadyDoneError(Conflict):
    code = "request-already-done"


register_error(RequestAlreadyDone, lambda exc: RequestAlreadyDoneError(str(exc)))


def positional_range(signature: inspect.Signature) -> tuple[int, int] | None:
    """(fewest, most) positional arguments a method (self aside) accepts, when its parameters are all plain
    positional ones; None for anything else (*args, **kwargs, keyword-only), left to Signature.bind."""
    parameters = list(signature.parameters.values())[1:]
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(parameter.kind not in plain for parameter in parameters):
        return None
    required = sum(1 for parameter in parameters if parameter.default is inspect.Parameter.empty)
    return required, len(parameters)


class Rpc(NamekoRpc):  # type: ignore[misc]
    """`@rpc` for chassis services (import it from `chassis`)."""

    rpc_consumer = ChassisRpcConsumer()
    deduplicates_requests = True  # a call carrying a request key writes at most once (chassis.requestkeys)

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        # nameko re-inspects the method on every call; the signature does not change
        signature = getattr(self, "_signature", None)
        if signature is None:
            signature = self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name))
            self._positional = positional_range(signature)
        accepts = self._positional
        # the usual call (a payload, positionally) against plain parameters needs no Signature.bind (~25 us)
        if kwargs or accepts is None or not accepts[0] <= len(args) <= accepts[1]:
            try:
                signature.bind(None, *args, **kwargs)
            except TypeError as exc:
                raise InvalidInput(f"{self.method_name}: {exc}") from None
        payload = args[0] if len(args) == 1 and not kwargs else [*args, kwargs]  # one payload: paths as its fields
        where = nul_character_path(payload, "")
        if where is not None:  # no database stores U+0000 in text; refuse it here, naming the field, for every RPC
            raise InvalidInput.field(where or "body", "must not contain NUL (U+0000) characters")

    def handle_result(self, message: Any, worker_ctx: Any, result: Any,
                      exc_info: ExcInfo | None) -> tuple[Any, ExcInfo | None]:
        if exc_info is not None:
            error = encode_error(exc_info[1], bind(worker_ctx).correlation_id)
            try:
                self.rpc_consumer.responder.reply(message, {"result": None, "error": error})
            except PublishError as exc:
                log.warning("could not send RPC error reply: %s", exc)
            self.rpc_consumer.queue_consumer.ack_message(message)
            return None, exc_info
        answered: tuple[Any, ExcInfo | None] = self.rpc_consumer.handle_result(message, result, None)
        return answered


rpc: Callable[..., Any] = Rpc.decorator


# -- client side ---------------------------------------------------------------------------------------------

class FirstOutcomes(Protocol):
    """Where the replies of calls carrying a request key are kept, so that a retry whose first attempt went through
    (the service answers `request-already-done`) gets the first attempt's answer instead of a second write. The
    gateway keeps them in its database, shared by its replicas (gateway.idempotency)."""

    def answered(self, call_key: str, reply: dict[str, Any]) -> None:
        """A reply that came in time (kept only if the request as a whole ends without a known outcome)."""

    def arrived_late(self, call_key: str, reply: dict[str, Any]) -> None:
        """A reply that came after its caller gave up (a 504): the first outcome, kept at once."""

    def recall(self, call_key: str, wait: float) -> dict[str, Any] | None:
        """The kept reply of an earlier attempt, waiting up to `wait` seconds for one still on its way."""


@dataclass(frozen=True)
class Keyed:
    """A call carrying a request key, and where its outcome is kept."""

    call_key: str
    outcomes: FirstOutcomes
    late_for: float  # how long after its timeout a late reply is still waited for and kept


class PendingCall:
    def __init__(self, waiter: GreenEvent, forget: Callable[[], object], target: str, timeout: float,
                 started: float, observe: Observe | None = None, keyed: Keyed | None = None):
        self._waiter = waiter
        self._forget = forget
        self.target = target
        self.timeout = timeout
        self._started = started
        self._observe = observe
        self._keyed = keyed
        self._body: dict[str, Any] | None = None

    def keep_outcome(self, keyed: Keyed) -> None:
        """Keep what this call answers (chassis.remote.FirstOutcomes), a late reply included."""
        self._keyed = keyed

    def result(self) -> Any:
        if self._body is None:
            body: dict[str, Any] | None = None
            with eventlet.Timeout(self._remaining(), False):
                body = self._waiter.wait()
            if body is None:
                self._gave_up()
                self._record("timeout")
                raise RpcTimeout(f"{self.target} did not answer within {self.timeout:g}s", target=self.target)
            self._body = self._first_outcome(body)
            self._record("error" if self._body.get("error") else "ok")
        if self._body.get("error"):
            raise decode_error(self._body["error"])
        return self._body.get("result")

    def _remaining(self) -> float:
        return max(0.0, self.timeout - (time.monotonic() - self._started))

    def _gave_up(self) -> None:
        keyed = self._keyed
        if keyed is None:
            self._forget()
            return

        def keep_a_late_reply() -> None:  # the call may still be carried out: its answer is the first outcome
            late: dict[str, Any] | None = None
            try:
                with eventlet.Timeout(keyed.late_for, False):
                    late = self._waiter.wait()
            finally:
                self._forget()
            if late is not None and not late.get("error"):
                try:
                    keyed.outcomes.arrived_late(keyed.call_key, late)
                except Exception:  # a retry then learns the first attempt was done, without its answer
                    log.exception("could not keep the late reply of %s", self.target)

        eventlet.spawn_n(keep_a_late_reply)

    def _first_outcome(self, body: dict[str, Any]) -> dict[str, Any]:
        keyed = self._keyed
        if keyed is None:
            return body
        error = body.get("error")
        if not error:
            keyed.outcomes.answered(keyed.call_key, body)
            return body
        if decode_error(error).code != RequestAlreadyDoneError.code:
            return body
        # an earlier attempt of this request was carried out: answer what it answered, once its reply is here
        first = keyed.outcomes.recall(keyed.call_key, self._remaining())
        return body if first is None else first

    def _record(self, outcome: str) -> None:
        if self._observe is not None:
            self._observe(self.target, outcome, time.monotonic() - self._started)


Send = Callable[[str, tuple[Any, ...], dict[str, Any], dict[str, Any], float, "Observe | None"], PendingCall]


def build_request(target: str, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any], context: dict[str, Any],
                  reply_to: str, correlation_id: str, timeout: float,
                  started: float | None = None) -> OutgoingMessage:
    service, _, method = target.partition(".")
    if not service or not method:
        raise ValueError(f"RPC target must be 'service.method', got {target!r}")
    headers = {HEADER_PREFIX + key: value for key, value in context.items() if value is not None}
    return OutgoingMessage(
        RPC_EXCHANGE, target, dumps({"args": list(args), "kwargs": kwargs}), headers,  # type: ignore[no-untyped-call]
        expiration=timeout,
        properties={"reply_to": reply_to, "correlation_id": correlation_id},
        deadline=None if started is None else started + timeout,  # expires with what remains when it is sent
    )


class _MethodProxy:
    def __init__(self, client: RpcCaller, target: str):
        self._client = client
        self._target = target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.call(self._target, *args, **kwargs)

    def call_async(self, *args: Any, **kwargs: Any) -> PendingCall:
        return self._client.call_async(self._target, *args, **kwargs)


class _ServiceProxy:
    def __init__(self, client: RpcCaller, service: str):
        self._client = client
        self._service = service

    def __getattr__(self, method: str) -> _MethodProxy:
        if method.startswith("_"):
            raise AttributeError(method)
        return _MethodProxy(self._client, f"{self._service}.{method}")


class RpcCaller:
    """What callers use: `caller.goals.get_goal(payload)`, `caller.call("goals.get_goal", payload, timeout=2)`,
    `caller.call_async(...)` for fan-out. Keyword `timeout` is taken by the client, never sent."""

    def __init__(self, send: Send, timeout: float, context: dict[str, Any], observe: Observe | None = None):
        self._send = send
        self._timeout = timeout
        self._context = context
        self._observe = observe

    def __getattr__(self, service: str) -> _ServiceProxy:
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceProxy(self, service)

    def with_context(self, actor: Actor | None = None, correlation_id: str | None = None) -> RpcCaller:
        """The same client acting for another actor (the gateway, on behalf of the authenticated user)."""
        context = dict(self._context)
        context.update(context_data_for(actor, correlation_id or context.get("correlation_id")))
        return RpcCaller(self._send, self._timeout, context, self._observe)

    def with_request_key(self, request_key: str, outcomes: FirstOutcomes | None = None,
                         late_for: float = 60.0) -> RpcCaller:
        """The same client, each call carrying a request key derived from `request_key` (the n-th call to a target
        gets the same key on every attempt), so that a service writes at most once per call however often the
        request is retried (chassis.requestkeys).

        With `outcomes`, what each call answered is kept there, including a reply that arrives after its timeout
        (waited for up to `late_for` seconds more), and a retry that the service finds already carried out gets
        that first answer instead of `request-already-done`."""
        counts: dict[str, int] = {}
        send = self._send

        def keyed(target: str, args: tuple[Any, ...], kwargs: dict[str, Any], context: dict[str, Any],
                  timeout: float, observe: Observe | None) -> PendingCall:
            counts[target] = counts.get(target, 0) + 1
            key = call_key(request_key, target, counts[target])
            pending = send(target, args, kwargs, {**context, REQUEST_KEY: key}, timeout, observe)
            if outcomes is not None:
                pending.keep_outcome(Keyed(key, outcomes, late_for))
            return pending

        return RpcCaller(keyed, self._timeout, dict(self._context), self._observe)

    def call(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return self.call_async(target, *args, timeout=timeout, **kwargs).result()

    def call_async(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> PendingCall:
        timeout = self._timeout if timeout is None else timeout
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        return self._send(target, args, kwargs, self._context, timeout, self._observe)


class RpcClient(DependencyProvider):  # type: ignore[misc]
    """Calls other services from inside a service, always with a timeout."""

    reply_listener = ReplyListener()

    def __init__(self, timeout: float | None = None, **kwargs: Any):
        self.timeout = timeout
        super().__init__(**kwargs)

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.default_timeout: float = self.timeout or settings.rpc_timeout
        self.publisher = FastPublisher(settings.amqp_uri, declare=[rpc_exchange()])
        from chassis.metrics import metrics_of

        metrics = metrics_of(self.container)
        service = self.container.service_name

        def observe(target: str, outcome: str, seconds: float) -> None:
            metrics.rpc_client_latency.labels(service, target, outcome).observe(seconds)

        self.observe = observe

    def stop(self) -> None:
        self.publisher.close()

    def kill(self) -> None:
        self.publisher.close()

    def _send(self, target: str, args: tuple[Any, ...], kwargs: dict[str, Any], context: dict[str, Any],
              timeout: float, observe: Observe | None) -> PendingCall:
        correlation_id = uuid.uuid4().hex
        listener = self.reply_listener
        waiter: GreenEvent = listener.get_reply_event(correlation_id)
        started = time.monotonic()
        message = build_request(target, args, kwargs, context, listener.routing_key, correlation_id, timeout,
                                started)
        try:
            self.publisher.publish(message)
        except PublishError as exc:
            listener._reply_events.pop(correlation_id, None)
            raise ServiceUnavailable(f"broker unreachable calling {target}: {exc}") from exc
        return PendingCall(waiter, lambda: listener._reply_events.pop(correlation_id, None), target, timeout,
                           started, observe)

    def get_dependency(self, worker_ctx: Any) -> RpcCaller:
        call = bind(worker_ctx)
        # a request key belongs to the call that received it, never to the calls it makes
        context = {key: value for key, value in worker_ctx.context_data.items()
                   if value is not None and key != REQUEST_KEY}
        context.update(context_data_for(call.actor, call.correlation_id))
        return RpcCaller(self._send, self.default_timeout, context, self.observe)


class StandaloneRpc:
    """An RPC client outside any service (tests, benchmarks, scripts). Needs eventlet monkey-patching.

        with StandaloneRpc(amqp_uri, timeout=5) as rpc:
            rpc.goals.get_goal({"goal_id": ...})
    """

    def __init__(self, amqp_uri: str, timeout: float = 5.0, actor: Actor | None = None,
                 correlation_id: str | None = None):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.context = context_data_for(actor, correlation_id)
        self.reply_queue_name = f"rpc.reply-standalone-{uuid.uuid4().hex}"
        self.routing_key = uuid.uuid4().hex
        self._waiters: dict[str, GreenEvent] = {}
        self._publisher = FastPublisher(amqp_uri, declare=[rpc_exchange()])
        self._conn: Any = None  # a kombu Connection (untyped)
        self._consumer_gt: GreenThread | None = None
        self._running = False

    def start(self) -> StandaloneRpc:
        conn: Any = connect(self.amqp_uri)
        self._conn = conn
        conn.ensure_connection(max_retries=3)
        channel = conn.channel()
        queue = Queue(self.reply_queue_name, exchange=rpc_exchange(),  # type: ignore[no-untyped-call]
                      routing_key=self.routing_key, exclusive=True, auto_delete=True,
                      queue_arguments={"x-expires": 300000})
        self._consumer = conn.Consumer([queue], callbacks=[self._on_reply], accept=["json"], no_ack=True,
                                       channel=channel)
        self._consumer.consume()
        self._running = True
        self._consumer_gt = eventlet.spawn(self._drain, conn)
        return self

    def _drain(self, conn: Any) -> None:
        while self._running:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                continue
            except OSError as exc:
                if "timed out" in str(exc):
                    continue
                if self._running:
                    log.warning("standalone RPC client lost its broker connection: %s", exc)
                return

    def _on_reply(self, body: Any, message: Any) -> None:
        if isinstance(body, (bytes, str)):
            body = loads(body)  # type: ignore[no-untyped-call]
        waiter = self._waiters.pop(message.properties.get("correlation_id"), None)
        if waiter is not None:
            waiter.send(body)

    def _send(self, target: str, args: tuple[Any, ...], kwargs: dict[str, Any], context: dict[str, Any],
              timeout: float, observe: Observe | None) -> PendingCall:
        correlation_id = uuid.uuid4().hex
        waiter = GreenEvent()
        self._waiters[correlation_id] = waiter
        started = time.monotonic()
        try:
            self._publisher.publish(build_request(target, args, kwargs, context, self.routing_key,
                                                  correlation_id, timeout, started))
        except PublishError as exc:
            self._waiters.pop(correlation_id, None)
            raise ServiceUnavailable(f"broker unreachable calling {target}: {exc}") from exc
        return PendingCall(waiter, lambda: self._waiters.pop(correlation_id, None), target, timeout, started,
                           observe)

    def caller(self) -> RpcCaller:
        return RpcCaller(self._send, self.timeout, self.context)

    def stop(self) -> None:
        self._running = False
        if self._consumer_gt is not None:
            # no reply is awaited any more: end the reply loop now rather than at its next wake-up (up to 0.5 s)
            self._consumer_gt.kill()
        if self._conn is not None:
            self._conn.release()
        self._publisher.close()

    def __enter__(self) -> RpcCaller:
        self.start()
        return self.caller()

    def __exit__(self, *exc: object) -> None:
        self.stop()
