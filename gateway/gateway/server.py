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

import logging
from functools import partial

from eventlet import wsgi
from eventlet.event import Event
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


class AnyPath(PathConverter):
    regex = "(?s:.+)"
    part_isolating = False  # spans segments (werkzeug would infer True: the regex holds no "/")


class EdgeApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
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

    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
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


class ApiEntrypoint(EdgeHttp):
    """Every /api/v1 request, as one nameko worker. The X-Request-Id becomes the worker's correlation id, so the
    RPCs it makes and the log lines it writes carry it."""

    def __init__(self, url: str, **kwargs):
        super().__init__("GET,POST,PUT,PATCH,DELETE,OPTIONS", url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        request_id = request_id_of(request.headers)
        done = Event()
        try:
            self.container.spawn_worker(self, (request, request_id), {},
                                        context_data={"correlation_id": request_id},
                                        handle_result=partial(self.handle_result, done))
            return done.wait()
        except Exception:
            log.exception("worker failed [correlation %s]", request_id)
            return problem_response(HttpProblem(500, "the request failed; quote the correlation id when "
                                                     "reporting it"), request_id)


api_entrypoint = ApiEntrypoint.decorator
