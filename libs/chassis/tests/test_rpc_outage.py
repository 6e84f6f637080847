"""issue 10 #4: with the broker away, calls took up to 16.9 s against a 5 s timeout (one lock, a reconnect per
queued request, and a request's expiry restarting when it was finally sent). Now they fail fast, as
ServiceUnavailable (the gateway's 503 with Retry-After), within their deadline."""
import time

import eventlet
import pytest

from chassis.amqp import OutgoingMessage
from chassis.errors import RpcTimeout, ServiceUnavailable
from chassis.remote import StandaloneRpc, build_request
from chassis.testing.toy import ToyWriter, create_schema


def test_calls_fail_fast_and_within_their_deadline_while_the_broker_is_away(broker_proxy, run_services, amqp_uri,
                                                                            tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    create_schema(url)
    run_services({ToyWriter: {"DATABASE_URL": url}})
    client = StandaloneRpc(broker_proxy.uri_for(amqp_uri), timeout=2.0).start()
    try:
        caller = client.caller()
        assert caller.toy_writer.write_note({"text": "before"})  # the path works
        broker_proxy.cut()
        outcomes: list[tuple[str, float]] = []

        def one():
            started = time.monotonic()
            try:
                caller.toy_writer.write_note({"text": "during"})
                outcomes.append(("ok", time.monotonic() - started))
            except (ServiceUnavailable, RpcTimeout) as exc:
                outcomes.append((type(exc).__name__, time.monotonic() - started))

        pool = eventlet.GreenPool(20)
        for _ in range(20):
            pool.spawn(one)
        pool.waitall()
        assert {kind for kind, _ in outcomes} == {"ServiceUnavailable"}, outcomes
        assert max(seconds for _, seconds in outcomes) < 2.0, outcomes  # inside the 2 s deadline, every one
    finally:
        broker_proxy.restore()
        client.stop()


def test_a_request_expires_with_what_remains_of_its_deadline():
    started = time.monotonic() - 1.5  # the caller already waited 1.5 s of its 2 s (for the connection, say)
    message = build_request("goals.create_goal", ({},), {}, {}, "reply", "c-1", 2.0, started)
    assert 0.3 < message.ttl() <= 0.5
    assert OutgoingMessage("x", "y", b"", expiration=2.0).ttl() == 2.0  # no deadline: the expiry as given
    late = build_request("goals.create_goal", ({},), {}, {}, "reply", "c-1", 1.0, time.monotonic() - 5)
    assert late.ttl() == pytest.approx(0.001)  # never 0 (no expiry at all) nor negative
