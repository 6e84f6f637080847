"""The chassis worker (chassis.container.ServiceContainer._run_worker), its signature check and its metrics do
per call only what a call needs, and still what nameko's did: every dependency injected (None from a provider
that injects nothing), the hooks in nameko's order, the call-id stack passed on to the calls a worker makes,
latency and errors counted per entrypoint, wrong arguments refused."""
import inspect
import logging

import pytest

from chassis import RpcClient, Service, rpc
from chassis.errors import InvalidInput, NotFound
from chassis.framework import DependencyProvider
from chassis.metrics import metrics_of
from chassis.remote import positional_range

EVENTS: list[tuple] = []


class Hooks(DependencyProvider):
    """Records each hook nameko calls on it."""

    def __init__(self, label):
        self.label = label

    def get_dependency(self, worker_ctx):
        EVENTS.append((self.label, "inject", worker_ctx.entrypoint.method_name))
        return self.label

    def worker_setup(self, worker_ctx):
        EVENTS.append((self.label, "setup", worker_ctx.entrypoint.method_name, worker_ctx.call_id_stack))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        EVENTS.append((self.label, "result", worker_ctx.entrypoint.method_name, result,
                       None if exc_info is None else exc_info[0].__name__))

    def worker_teardown(self, worker_ctx):
        EVENTS.append((self.label, "teardown", worker_ctx.entrypoint.method_name))


class Silent(DependencyProvider):
    """Implements no hook: nameko injects None for it."""


class Hooked(Service):
    name = "hooked"
    first = Hooks("first")
    silent = Silent()
    peer = RpcClient(timeout=5)

    @rpc
    def double(self, value, extra=0):
        EVENTS.append(("method", "double", self.first, self.silent))
        return value * 2 + extra

    @rpc
    def missing(self, payload):
        raise NotFound("no such thing")

    @rpc
    def through_peer(self, value):
        return self.peer.hooked.double(value)

    @rpc
    def flexible(self, *values, **options):
        return [list(values), options]


@pytest.fixture
def hooked(run_services, rpc_client, amqp_uri):
    EVENTS.clear()
    containers = run_services({Hooked: {}})
    return containers["hooked"], rpc_client(amqp_uri)


def of(method):
    return [event for event in EVENTS if event[0] in ("first", "method") and method in event]


def test_every_dependency_is_injected_and_the_hooks_run_in_nameko_order(hooked):
    _, caller = hooked
    assert caller.hooked.double(4) == 8
    events = of("double")
    assert [event[1] for event in events] == ["inject", "setup", "double", "result", "teardown"]
    assert events[2] == ("method", "double", "first", None)  # the provider's value; None where nothing is injected
    assert events[3][3:] == (8, None)


def test_a_failed_call_reaches_worker_result_with_its_error(hooked):
    _, caller = hooked
    with pytest.raises(NotFound):
        caller.hooked.missing({})
    result = [event for event in of("missing") if event[1] == "result"]
    assert result == [("first", "result", "missing", None, "NotFound")]
    assert [event[1] for event in of("missing")][-1] == "teardown"


def test_the_call_id_stack_goes_on_to_the_calls_a_worker_makes(hooked):
    _, caller = hooked
    assert caller.hooked.through_peer(5) == 10
    outer = next(event[3] for event in of("through_peer") if event[1] == "setup")
    inner = next(event[3] for event in of("double") if event[1] == "setup")
    assert len(outer) == 1 and outer[0].startswith("hooked.through_peer.")
    assert inner[:-1] == outer and inner[-1].startswith("hooked.double.")


def test_latency_and_errors_are_counted_per_entrypoint(hooked):
    container, caller = hooked
    for value in range(3):
        caller.hooked.double(value)
    with pytest.raises(NotFound):
        caller.hooked.missing({})
    registry = metrics_of(container).registry

    def sample(name, **labels):
        return registry.get_sample_value(name, {"service": "hooked", "kind": "rpc", **labels})

    assert sample("jixiao_entrypoint_duration_seconds_count", entrypoint="double") == 3
    assert sample("jixiao_entrypoint_duration_seconds_count", entrypoint="missing") == 1
    assert sample("jixiao_entrypoint_errors_total", entrypoint="missing", error="NotFound") == 1
    assert sample("jixiao_entrypoint_errors_total", entrypoint="double", error="NotFound") is None


def test_arguments_are_checked_against_the_signature(hooked):
    _, caller = hooked
    assert caller.hooked.double(1, 2) == 4
    assert caller.hooked.double(value=1) == 2  # keywords: the full check
    for wrong in ((), (1, 2, 3)):
        with pytest.raises(InvalidInput) as refused:
            caller.hooked.double(*wrong)
        assert "double" in refused.value.detail
    with pytest.raises(InvalidInput):
        caller.hooked.double(1, colour="red")
    assert caller.hooked.flexible(1, 2, 3) == [[1, 2, 3], {}]
    with pytest.raises(InvalidInput) as refused:
        caller.hooked.double({"text": "a\x00b"})  # the NUL check still runs on the fast path
    assert refused.value.errors[0]["field"] == "text"


def test_with_debug_logging_nameko_own_worker_runs_and_logs(hooked, caplog):
    _, caller = hooked
    caplog.set_level(logging.DEBUG, logger="nameko.containers")
    assert caller.hooked.double(3) == 6
    assert any(record.getMessage().startswith("ran handler for") for record in caplog.records)
    assert [event[1] for event in of("double")] == ["inject", "setup", "double", "result", "teardown"]


@pytest.mark.parametrize(("method", "expected"), [
    (lambda self, payload: None, (1, 1)),
    (lambda self, payload=None: None, (0, 1)),
    (lambda self, a, b, c=1, d=2: None, (2, 4)),
    (lambda self: None, (0, 0)),
    (lambda self, *values: None, None),
    (lambda self, payload, **options: None, None),
    (lambda self, *, payload: None, None),
])
def test_positional_range(method, expected):
    assert positional_range(inspect.signature(method)) == expected
