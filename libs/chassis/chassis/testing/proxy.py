"""A TCP proxy that a test can cut: every connection through it dies and new ones are refused until restored.
Used to take the broker away from one service (and only that one) without stopping RabbitMQ for everybody."""
from __future__ import annotations

import socket

import eventlet

# a client's socket and the socket to the upstream for it (eventlet's green sockets)
Pair = tuple[socket.socket, socket.socket]


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = False
        self._pairs: set[Pair] = set()
        self._gt = eventlet.spawn(self._accept)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            try:
                upstream = eventlet.connect(self.upstream)
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            self._pairs.add(pair)
            eventlet.spawn(self._pump, client, upstream, pair)
            eventlet.spawn(self._pump, upstream, client, pair)

    def _pump(self, src: socket.socket, dst: socket.socket, pair: Pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except Exception:  # the other side went away: this direction ends too
            pass
        finally:
            self._shutdown(pair)
            src.close()

    def _shutdown(self, pair: Pair) -> None:
        """Shut both sockets down, which wakes both pumps; each pump closes its own socket (closing a socket
        another greenthread waits on makes eventlet throw into that greenthread)."""
        self._pairs.discard(pair)
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.cut_off = True
        for pair in list(self._pairs):
            self._shutdown(pair)

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.listener.close()
        self._gt.kill()

    def uri_for(self, amqp_uri: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(amqp_uri)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit((parts.scheme, f"{auth}127.0.0.1:{self.port}", parts.path, "", ""))
