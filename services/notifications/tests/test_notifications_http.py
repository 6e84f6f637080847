"""The webhook HTTP client (channels.HttpPool) against a real HTTP/1.1 server on localhost written here by hand, so
each test chooses exactly what goes over the wire: keep-alive reuse, the answer's framings (content-length,
chunked, to the end of the connection), `connection: close`, a server that drops an idle connection, and timeouts."""
from __future__ import annotations

import eventlet
import pytest

from notifications.channels import ChannelError, HttpPool, post_webhook


class RawServer:
    """Reads each request (headers and content-length body) and writes the next scripted answer; counts the
    connections it accepted and the requests it read. `drop_after` closes a connection after that many answers
    without telling the client (as a server closing an idle connection does)."""

    def __init__(self, answers: list[bytes], drop_after: int | None = None, delay: float = 0.0):
        self.answers, self.drop_after, self.delay = answers, drop_after, delay
        self.connections, self.requests = 0, []
        self.sock = eventlet.listen(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook?x=1"
        self.thread = eventlet.spawn(self._accept)

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            eventlet.spawn_n(self._serve, conn)

    def _serve(self, conn):
        reader = conn.makefile("rb")
        answered = 0
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                headers = {}
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get("content-length", 0)))
                self.requests.append((line.decode().strip(), headers, body))
                if self.delay:
                    eventlet.sleep(self.delay)
                conn.sendall(self.answers[min(len(self.requests), len(self.answers)) - 1])
                answered += 1
                if self.drop_after is not None and answered >= self.drop_after:
                    return
        finally:
            reader.close()
            conn.close()

    def close(self):
        self.thread.kill()
        self.sock.close()


OK = b"HTTP/1.1 204 No Content\r\n\r\n"


@pytest.fixture
def pool():
    http = HttpPool()
    yield http
    http.close()


def test_one_connection_carries_every_request_and_the_request_is_exact(pool):
    server = RawServer([b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nthanks", OK])
    try:
        for i in range(5):
            assert post_webhook(server.url, b'{"n": %d}' % i, {"webhook-id": f"d-{i}"}, 2.0, pool) in (200, 204)
        assert server.connections == 1
        line, headers, body = server.requests[3]
        assert line == "POST /hook?x=1 HTTP/1.1"
        assert headers["host"] == server.url.split("/")[2] and headers["webhook-id"] == "d-3"
        assert headers["content-length"] == str(len(body)) and body == b'{"n": 3}'
    finally:
        server.close()


def test_every_framing_of_an_answer_leaves_the_connection_usable_or_closes_it(pool):
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nx-t: 1\r\n\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok"
    server = RawServer([chunked, interim, OK])
    try:
        assert [post_webhook(server.url, b"{}", {}, 2.0, pool) for _ in range(3)] == [200, 202, 204]
        assert server.connections == 1  # chunked with trailers and an interim answer both read to their end
    finally:
        server.close()
    closing = RawServer([b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"], drop_after=1)
    to_the_end = RawServer([b"HTTP/1.0 200 OK\r\n\r\nbody until the end"], drop_after=1)
    try:
        for server in (closing, to_the_end):
            assert [post_webhook(server.url, b"{}", {}, 2.0, pool) for _ in range(2)] == [200, 200]
            assert server.connections == 2, server.url  # not reused: a new connection each time
    finally:
        closing.close()
        to_the_end.close()


def test_a_connection_the_server_dropped_while_idle_is_replaced_and_the_request_sent_once_more(pool):
    server = RawServer([OK], drop_after=1)  # answers, then closes without `connection: close`
    try:
        assert post_webhook(server.url, b"{}", {}, 2.0, pool) == 204
        eventlet.sleep(0.05)
        assert post_webhook(server.url, b"{}", {}, 2.0, pool) == 204
        assert server.connections == 2 and len(server.requests) == 2
    finally:
        server.close()


def test_failures_are_channel_errors_with_the_status(pool):
    server = RawServer([b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"])
    try:
        with pytest.raises(ChannelError) as failed:
            post_webhook(server.url, b"{}", {}, 2.0, pool)
        assert failed.value.status == 503
    finally:
        server.close()
    slow = RawServer([OK], delay=1.0)
    try:
        with pytest.raises(ChannelError, match="timed out"):
            post_webhook(slow.url, b"{}", {}, 0.2, pool)
        assert pool._idle.get(("http", "127.0.0.1", int(slow.url.split(":")[2].split("/")[0]))) in (None, [])
    finally:
        slow.close()
    sock = eventlet.listen(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    with pytest.raises(ChannelError, match="ConnectionRefused"):
        post_webhook(f"http://127.0.0.1:{port}/", b"{}", {}, 2.0, pool)
