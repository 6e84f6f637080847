"""The gateway answers /api/v1 in the connection's green thread, not in a nameko worker (gateway.server
ApiEntrypoint): a container that stops must still wait for the requests in flight, as nameko waits for its workers,
so a rolling restart answers them instead of cutting their connections."""
import time

import eventlet

from chassis.testing.plugin import wait_for


def test_a_stopping_gateway_answers_the_requests_in_flight_first(gateway_config, run_services, keys, http,
                                                                 publish_org, small_org):
    from gateway.service import GatewayService

    # no goals service runs: the request waits for its RPC until the timeout, then answers 504
    gateway = run_services({GatewayService: {**gateway_config, "RPC_TIMEOUT": 2}})["gateway"]
    publish_org(*small_org)
    client = http(gateway, keys.token("E1"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the read model knows E1")

    in_flight = eventlet.spawn(lambda: (client.get("/api/v1/goals/g1"), time.monotonic()))
    eventlet.sleep(0.5)  # the request is waiting on its RPC
    gateway.stop()
    stopped = time.monotonic()

    answer, answered = in_flight.wait()
    assert answer.status_code == 504, answer.text  # an answer, not a connection cut by the stop
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answered <= stopped  # the stop returned only once the request had its answer


def test_a_dependency_that_fails_to_inject_gives_a_problem_document_and_the_gateway_goes_on(
        gateway_config, run_services, keys, http, publish_org, small_org):
    """Without a nameko worker the gateway injects the dependencies itself: one that raises there fails that request
    with the API's 500 problem document (its X-Request-Id to quote), not eventlet's bare text 500, and the next
    request is served."""
    from gateway.service import GatewayService

    gateway = run_services({GatewayService: gateway_config})["gateway"]
    publish_org(*small_org)
    client = http(gateway, keys.token("E1"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the read model knows E1")

    store = next(p for p in gateway.dependencies if p.attr_name == "store")
    inject = store.get_dependency

    def unavailable(worker_ctx):
        raise ConnectionError("the store is unavailable")

    store.get_dependency = unavailable
    try:
        failed = client.get("/api/v1/me")
    finally:
        store.get_dependency = inject
    assert failed.status_code == 500, failed.text
    assert failed.headers["Content-Type"].startswith("application/problem+json")
    assert failed.headers["X-Request-Id"] and failed.json()["status"] == 500
    assert client.get("/api/v1/me").status_code == 200
