"""The gateway's HTTP server: nameko's web server (eventlet.wsgi) with the edge's own rules.

- every answer the server itself gives (no such path, method not allowed) is a problem document with an
  X-Request-Id, like every other answer of the API;
- the /api/v1 catch-all takes any path (nameko's `path` converter stops at a newline, which then fell through to
  werkzeug's HTML 404);
- no access log line per request (the metrics count requests), long URLs up to 64 KiB reach the API (which
  answers 400 naming the parameter instead of eventlet's bare 414), and idle keep-alive connections are closed.

Every HTTP entrypoint of the gateway uses `EdgeServer` (one listening socket per container), including the
operational probes it re-declares from `chassis.Service`.
"""
from __future__ import annotations

import email.message
import email.parser
import http.client as http_client  # `http` is this module's decorator
import logging
import re
import sys
from http import HTTPStatus

import eventlet
from eventlet import wsgi
from eventlet.event import Event
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, PathConverter
from werkzeug.wrappers import Request

from gateway.api import problem_response, request_id_of
from gateway.problems import HttpProblem, localise_response
from gateway.settings import load_gateway_settings

log = logging.getLogger(__name__)

URL_LIMIT = 64 * 1024
_API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # ApiEntrypoint's


class AnyPath(PathConverter):
    regex = "(?s:.+)"
    part_isolating = False  # spans segments (werkzeug would infer True: the regex holds no "/")


class EdgeApp(WsgiApp):
    def __init__(self, server):
        super().__init__(server)
        api = [p for p in server._providers if isinstance(p, ApiEntrypoint)]
        self._api_root = next((p for p in api if "<" not in p.url), None)
        self._api_any = next((p for p in api if "<" in p.url), None)
        self._api_prefix = self._api_root.url if self._api_root is not None else None

    def _api_route(self, request):
        """/api/v1 and everything under it, as the url map would route it, without building an adapter and
        matching every rule for each request (werkzeug's routing was ~5 % of a no-RPC request)."""
        prefix = self._api_prefix
        if prefix is None or self._api_any is None or request.method not in _API_METHODS:
            return None
        path = request.path
        if path == prefix or path == prefix + "/":
            return self._api_root, {}
        if path.startswith(prefix + "/"):
            return self._api_any, {"path": path[len(prefix) + 1:]}
        return None

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            provider, values = self._api_route(request) or self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            headers = {}
            if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
                headers["Allow"] = ", ".join(sorted(m for m in exc.valid_methods if m != "HEAD"))
            problem = HttpProblem(exc.code or 404, f"no route {request.method} {request.path}", headers=headers)
            response = problem_response(problem, request_id_of(request.headers))
        else:
            request.path_values = values
            response = provider.handle_request(request)
        # every problem document leaves in the caller's language (gateway.i18n), idempotent replays included
        return localise_response(response, request.headers.get("Accept-Language"))(environ, start_response)


# a line the email parser takes for one whole header: a name, a colon, a value without line breaks, the line's end
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n")


def parse_header_lines(lines: list[bytes], message_class=http_client.HTTPMessage,
                       end: bytes = b"\r\n") -> email.message.Message:
    """The request's header lines (CRLF kept) and the line that ended them, as `http.client.parse_headers` parses
    them: the same message, names and values, built directly when every line is a plain `Name: value` (the email
    package's feed parser was ~8 % of a no-RPC request's CPU); anything else (folded lines, odd names) goes through
    it."""
    if not all(_HEADER_LINE.fullmatch(line) for line in lines):
        return email.parser.Parser(_class=message_class).parsestr(b"".join([*lines, end]).decode("iso-8859-1"))
    message = message_class()
    for line in lines:
        name, _, value = line.decode("iso-8859-1").partition(":")
        message._headers.append((name, value.lstrip(" \t").rstrip("\r\n")))  # as policy compat32 stores it
    message.set_payload("")
    return message


class EdgeProtocol(HttpOnlyProtocol):
    """eventlet's HTTP/1.x protocol with the stdlib's request parsing, headers parsed by `parse_header_lines`."""

    def parse_request(self):
        words = self.raw_requestline.split()
        if len(words) != 3 or words[2] not in (b"HTTP/1.1", b"HTTP/1.0") or words[1].startswith(b"//"):
            return super().parse_request()  # anything unusual: the stdlib's own checks and answers
        self.command, self.path, self.request_version = (word.decode("iso-8859-1") for word in words)
        self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        self.close_connection = not (self.request_version == "HTTP/1.1" and self.protocol_version >= "HTTP/1.1")
        lines = []
        while True:  # as http.client._read_headers, with its limits and answers
            line = self.rfile.readline(http_client._MAXLINE + 1)
            if len(line) > http_client._MAXLINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", "header line")
                return False
            if line in (b"\r\n", b"\n", b""):
                end = line
                break
            lines.append(line)
            if len(lines) > http_client._MAXHEADERS:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers",
                                f"got more than {http_client._MAXHEADERS} headers")
                return False
        self.headers = parse_header_lines(lines, self.MessageClass, end)
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if expect.lower() == "100-continue" and self.protocol_version >= "HTTP/1.1" \
                and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True


class EdgeServer(WebServer):
    def make_url_map(self):
        url_map = Map(converters={"anypath": AnyPath}, strict_slashes=False, merge_slashes=False)
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self):
        return EdgeApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=EdgeProtocol, debug=False):
        settings = load_gateway_settings(self.container.config)
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=False, log=log,
                           log_output=False, url_length_limit=URL_LIMIT,
                           keepalive=settings.wsgi_keepalive_seconds or False)


class EdgeHttp(HttpRequestHandler):
    """`@http` on the gateway's server."""

    server = EdgeServer()


class EdgeProbe(EdgeHttp):
    """Operational endpoints: not timed as business entrypoints (as chassis's probes)."""

    untimed = True


http = EdgeHttp.decorator
probe = EdgeProbe.decorator


class EdgeWorkerContext(WorkerContext):
    """A request's worker context whose call id is made of its request id (nameko makes a uuid4 per worker)."""

    @property
    def call_id(self):
        if self._call_id is None:
            self._call_id = f"{self.service_name}.{self.entrypoint.method_name}.{self.data['correlation_id']}"
        return self._call_id


class ApiEntrypoint(EdgeHttp):
    """Every /api/v1 request, run in the connection's own green thread rather than a nameko worker spawned per
    request (the spawn, the injection of every dependency, the call-id stack and the teardown were ~16 % of the
    gateway's CPU for a request that makes no RPC: py-spy, 2026-12-03). What a worker gave the request it still
    has: the X-Request-Id as its correlation id (the RPCs it makes and the log lines it writes carry it), the
    dependencies it `uses` got from their providers for this request, and the worker hooks of the providers that
    have them (the call context for logs, the entrypoint metrics). A stopping container waits for the requests
    in flight, as it waits for workers."""

    def __init__(self, url: str, uses: tuple[str, ...] = (), **kwargs):
        self.uses = uses
        self._inflight = 0
        self._idle = Event()
        self._idle.send()
        self._providers: tuple | None = None
        super().__init__("GET,POST,PUT,PATCH,DELETE,OPTIONS", url, **kwargs)

    def _bind(self) -> tuple:
        """Once: the providers of the dependencies it uses, and those with worker hooks (in container order)."""
        by_name = {provider.attr_name: provider for provider in self.container.dependencies}
        used = tuple((name, by_name[name]) for name in self.uses)
        base = DependencyProvider

        def hooked(hook: str) -> tuple:
            return tuple(p for p in self.container.dependencies if getattr(type(p), hook) is not getattr(base, hook))
        self._providers = (used, hooked("worker_setup"), hooked("worker_result"), hooked("worker_teardown"))
        return self._providers

    def handle_request(self, request):
        # a turn for the other connections first: a request that needs no I/O (all from caches) would otherwise
        # run its connection's next requests back to back, and the rest wait (p90 1.3 s at 32 connections)
        eventlet.sleep(0)
        request.shallow = False
        request_id = request_id_of(request.headers)
        used, setups, results, teardowns = self._providers or self._bind()
        service = self.container.service_cls.__new__(self.container.service_cls)  # no __init__: as nameko's
        worker_ctx = EdgeWorkerContext(self.container, service, self, (request, request_id), {},
                                   data={"correlation_id": request_id})
        if self._inflight == 0:
            self._idle.reset()
        self._inflight += 1
        try:
            result = exc_info = None
            try:  # a dependency failing to inject or set up fails the request as the method failing would
                for name, provider in used:
                    setattr(service, name, provider.get_dependency(worker_ctx))
                for provider in setups:
                    provider.worker_setup(worker_ctx)
                result = getattr(service, self.method_name)(request, request_id)
            except Exception:
                log.exception("worker failed [correlation %s]", request_id)
                exc_info = sys.exc_info()
                result = problem_response(HttpProblem(500, "the request failed; quote the correlation id when "
                                                           "reporting it"), request_id)
            for provider in results:
                _hook(provider.worker_result, worker_ctx, None if exc_info else result, exc_info)
            del exc_info
            for provider in teardowns:
                _hook(provider.worker_teardown, worker_ctx)
            return result
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.send()

    def stop(self):
        super().stop()
        self._idle.wait()  # the requests in flight finish before the dependencies they use stop


def _hook(hook, *args) -> None:
    """A provider's result or teardown hook: one that fails (its setup may not have run) is logged, and the others
    still run and the request still gets its answer."""
    try:
        hook(*args)
    except Exception:
        log.exception("%s failed", getattr(hook, "__qualname__", hook))


api_entrypoint = ApiEntrypoint.decorator
