"""The HTTP edge: one nameko entrypoint takes every `/api/v1` request and runs it through the same steps —

    request id -> route -> credentials -> rate limit -> scope -> query/body validation -> If-Match ->
    Idempotency-Key -> the route's handler (RPCs, with the actor in context) -> ETag -> response

Routes are data (`Route`), declared per area in `gateway.routes`, documented from the same declarations
(`gateway.openapi`). Every error leaves as an RFC 9457 problem document; nothing unexpected leaks.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from marshmallow import Schema, fields
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from chassis.access.org import OrgIndex
from chassis.access.readmodel import load_index
from chassis.errors import ServiceError, ServiceUnavailable, is_transient_database_error
from chassis.metrics import LATENCY_BUCKETS, metrics_of
from chassis.runtime import settings_of
from contracts.actor import Actor
from gateway import idempotency
from gateway.auth import Authenticator, credential_key, failure_keys
from gateway.pagination import Page, Paging
from gateway.problems import PROBLEM_JSON, HttpProblem, encode, from_service_error, invalid, marshmallow_errors
from gateway.ratelimit import RateLimiter, SharedRateLimiter, retry_after
from gateway.scopes import grants
from gateway.settings import GatewaySettings, load_gateway_settings

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
JSON = "application/json"
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_PATH_PARAM = re.compile(r"{([a-z_][a-z0-9_]*)}")
_ETAG = re.compile(r'\s*(?:W/)?"([^"]{1,128})"\s*')
AUTHENTICATED = ""
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


def request_id_of(headers) -> str:
    """The client's X-Request-Id when it is a sane token, else a new one; it is the correlation id too."""
    given = headers.get("X-Request-Id")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()  # as uuid4().hex, without building a UUID (a few % of a request's CPU)


@dataclass(frozen=True, eq=False)
class Route:
    method: str
    path: str  # OpenAPI template under /api/v1: "/goals/{goal_id}"
    handler: Callable[[Ctx], Any]
    summary: str
    tag: str
    scope: str | None  # None: no credentials needed; AUTHENTICATED: any authenticated caller
    response: Schema  # what a success answers (documented; the service's JSON passes through)
    query: Schema | None = None
    body: Schema | None = None
    status: int = 200
    description: str = ""
    paging: Paging | None = None  # a list: `limit` and `cursor` in the query, the page envelope out
    creates: bool = False  # makes something: 201 (every write honours an Idempotency-Key, see `takes_key`)
    etag: bool = False  # GET: ETag and If-None-Match
    if_match: Callable[[Ctx], Any] | None = None  # update: reads the current representation for If-Match
    version_field: str | None = None  # update: the command field that carries If-Match's version
    if_match_required: bool = False  # the service needs the version: no If-Match is a 400 naming the header
    operation_id: str = ""
    path_schema: Schema | None = None  # the path parameters' types
    max_body: int | None = None  # bytes; None: the max_body_bytes setting
    location: Callable[[Any], str | None] | None = None  # the answer -> the path (under /api/v1) of what it made
    files: tuple[str, ...] = ()  # a file download: the media types it answers instead of JSON (gateway.exports)

    @property
    def params(self) -> list[str]:
        return path_params(self.path)

    @property
    def takes_key(self) -> bool:
        """Every write by an identified caller honours an Idempotency-Key, edits too: a retried edit whose answer
        was lost must not be carried out (and announced) twice. Reads are safe to repeat; an anonymous write (the
        development login) has no caller to bind a key to."""
        return self.method in WRITES and self.scope is not None

    @property
    def werkzeug_rule(self) -> str:
        return PREFIX + _PATH_PARAM.sub(r"<\1>", self.path)


class Ctx:
    """One request as a route handler sees it."""

    def __init__(self, request, route: Route, params: dict[str, str], rpc, settings: GatewaySettings,
                 actor: Actor | None, request_id: str):
        self.request = request
        self.route = route
        self.params = params
        self.settings = settings
        self.actor = actor
        self.request_id = request_id
        self._rpc_client = rpc
        self._rpc = None  # made when the route calls: a request answered from the gateway makes no RPC
        self.query: dict[str, Any] = {}
        self.body: dict[str, Any] = {}
        self.page: Page | None = None
        self.expected_version: int | None = None

    @property
    def rpc(self):
        if self._rpc is None:
            self._rpc = self._rpc_client.with_context(actor=self.actor, correlation_id=self.request_id)
        return self._rpc

    @rpc.setter
    def rpc(self, value) -> None:
        self._rpc = value

    def call(self, target: str, *args: Any, timeout: float | None = None) -> Any:
        return self.rpc.call(target, *args, timeout=timeout)

    def call_async(self, target: str, *args: Any, timeout: float | None = None):
        return self.rpc.call_async(target, *args, timeout=timeout)


def forward(target: str, *, rename: dict[str, str] | None = None, payload: bool = True) -> Callable[[Ctx], Any]:
    """The common handler: path parameters, query and body become one RPC payload. `rename` maps a path
    parameter onto its contract name, and `payload=False` calls an RPC that takes none. Identity never goes in
    it: that travels as the actor."""
    rename = rename or {}

    def handler(ctx: Ctx) -> Any:
        if not payload:
            return ctx.page.fetch(lambda extra: ctx.call(target)) if ctx.page is not None else ctx.call(target)
        data = {rename.get(name, name): value for name, value in ctx.params.items()}
        data.update(ctx.query)
        data.update(ctx.body)
        if ctx.expected_version is not None and ctx.route.version_field:
            data[ctx.route.version_field] = ctx.expected_version
        if ctx.page is not None:
            return ctx.page.fetch(lambda extra: ctx.call(target, {**data, **extra}))
        return ctx.call(target, data)

    handler.target = target
    return handler


def etag_of(representation: Any) -> str:
    """`"<version>"` when the resource carries a version, else a hash of its representation."""
    if isinstance(representation, dict) and isinstance(representation.get("version"), int):
        return f'"{representation["version"]}"'
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str)
    return '"h' + hashlib.sha256(canonical.encode()).hexdigest()[:20] + '"'


def parse_etags(value: str) -> list[str] | None:
    """The entity tags of an If-Match/If-None-Match header (quoted); None for `*`."""
    if value.strip() == "*":
        return None
    tags = []
    for part in value.split(","):
        match = _ETAG.fullmatch(part)
        if match is None:
            raise invalid("If-Match", "a list of quoted entity tags, or *", "header")
        tags.append(f'"{match.group(1)}"')
    return tags


def _json_response(body: Any, status: int, headers: dict[str, str], mimetype: str = JSON) -> Response:
    payload = "" if body is None else encode(body)
    return Response(payload, status=status, headers=headers, mimetype=mimetype)


def problem_response(problem: HttpProblem, request_id: str) -> Response:
    headers = {**problem.headers, "X-Request-Id": request_id}
    return _json_response(problem.document(request_id), problem.status, headers, PROBLEM_JSON)


def nul_at(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding U+0000, which no database column can store."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = nul_at(item, where)
        if found is not None:
            return found
    return None


def requires_input(schema: Schema) -> bool:
    return any(field.required for field in schema.fields.values())


def directory_of(store) -> OrgIndex:
    with store as uow:
        return load_index(uow.session)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class Api:
    """The routes and the per-process state they share: token and directory caches, rate limits, metrics."""

    def __init__(self, routes: list[Route], settings: GatewaySettings, auth: Authenticator, rpc_timeout: float):
        self.routes = routes
        self.settings = settings
        self.rpc_timeout = rpc_timeout
        self.url_map = Map([Rule(r.werkzeug_rule, methods=[r.method], endpoint=r) for r in routes],
                           strict_slashes=False, merge_slashes=False)
        self._urls = self.url_map.bind("")  # bound once: each request matches its own path on it
        self.auth = auth
        # the limits are shared by the replicas through the gateway's database (gateway.ratelimit), each limit
        # with its own keys; RATE_LIMIT_STORE=process keeps them per replica
        def limiter(rate: float, burst: int, namespace: str) -> RateLimiter | SharedRateLimiter:
            if settings.rate_limit_store == "database":
                return SharedRateLimiter(rate, burst, namespace=namespace)
            return RateLimiter(rate, burst)

        self.limits = limiter(settings.rate_limit_per_second, settings.rate_limit_burst, "")
        per_minute = settings.auth_failures_per_minute
        self.failures = limiter(per_minute / 60.0, max(1, int(per_minute)), "authfail:")
        ceiling = settings.auth_failures_per_address_per_minute
        self.address_failures = limiter(ceiling / 60.0, max(1, int(ceiling)), "authfail-address:")
        self.histogram = None
        self._observers: dict[tuple[str, str, int], Any] = {}
        self.openapi_json = ""  # the OpenAPI document, made once the routes are known

    def observe_with(self, registry) -> None:
        from prometheus_client import Histogram

        self.histogram = Histogram(
            "jixiao_http_request_duration_seconds", "Gateway HTTP requests, by route template and status",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=registry)

    # -- the pipeline -----------------------------------------------------------------------------------------
    def handle(self, request, rpc, store, request_id: str) -> Response:
        started = time.perf_counter()
        route: Route | None = None
        try:
            route, params = self._match(request)
            if request.method == "OPTIONS":
                response = Response(status=204, headers={"Allow": self._allowed(request.path)})
            else:
                response = self._run(request, route, params, rpc, store, request_id)
        except HttpProblem as problem:
            response = problem_response(problem, request_id)
        except ServiceError as error:
            response = problem_response(from_service_error(error), request_id)
        except Exception as exc:
            if is_transient_database_error(exc):  # the gateway's own database down or busy: 503, not a bug
                log.warning("%s %s answered 503: %s [correlation %s]", request.method, request.path,
                            exc.__class__.__name__, request_id)
                response = problem_response(from_service_error(ServiceUnavailable()), request_id)
            else:
                log.exception("unexpected error handling %s %s [correlation %s]", request.method, request.path,
                              request_id)
                response = problem_response(
                    HttpProblem(500, "the request failed; quote the correlation id when reporting it"), request_id)
        response.headers["X-Request-Id"] = request_id
        if self.histogram is not None:
            label = route.path if route is not None else "unmatched"
            labels = (request.method, label, response.status_code)
            child = self._observers.get(labels)
            if child is None:  # `labels()` locks and builds its key each time: keep the few children there are
                child = self._observers[labels] = self.histogram.labels(request.method, label,
                                                                        str(response.status_code))
            child.observe(time.perf_counter() - started)
        return response

    def _match(self, request) -> tuple[Route, dict[str, str]]:
        method = "GET" if request.method in ("OPTIONS", "HEAD") else request.method
        try:
            route, params = self._urls.match(request.path, method=method)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(m for m in exc.valid_methods or () if m != "HEAD"))
            raise HttpProblem(405, f"{request.method} is not allowed here", headers={"Allow": allowed}) from None
        except NotFound:
            raise HttpProblem(404, f"no route {request.path}") from None
        return route, params

    def _allowed(self, path: str) -> str:
        return ", ".join(sorted(set(self._urls.allowed_methods(path)) | {"OPTIONS"}))

    def _run(self, request, route: Route, params: dict[str, str], rpc, store, request_id: str) -> Response:
        actor = None
        if route.scope is not None:
            actor = self._authenticate(request, rpc, store)
            self._limit(f"{actor.kind}:{actor.subject}", store)
            if route.scope and not grants(actor.scopes, route.scope):
                raise HttpProblem(403, f"this operation needs the scope {route.scope}",
                                  code="insufficient-scope", required_scope=route.scope)
        else:
            self._limit(f"address:{request.remote_addr}", store)
        if route.path_schema is not None:
            self._load(route.path_schema, params, "path")
        ctx = Ctx(request, route, params, rpc, self.settings, actor, request_id)
        ctx.query = self._query(request, route)
        if route.paging is not None:
            ctx.page = Page.from_query(route.paging, ctx.query)
        raw = b""
        if route.body is not None:
            raw = self._read_body(request, route.max_body or self.settings.max_body_bytes)
            if raw.strip() or requires_input(route.body):
                ctx.body = self._load(route.body, self._parse_json(raw), "body")
        if route.if_match is not None or route.version_field:
            self._check_if_match(ctx)
        key = request.headers.get("Idempotency-Key") if route.takes_key else None
        if key is None:
            return self._respond(ctx, route.handler(ctx))
        return self._once(ctx, store, idempotency.check_key(key), raw)

    def _authenticate(self, request, rpc, store) -> Actor:
        # Failures are counted per credential and per subject it claims; the address is only a high ceiling (a
        # company behind one proxy shares it: one bad client must not lock everyone out).
        authorization, api_key = request.headers.get("Authorization"), request.headers.get("X-Api-Key")
        address = f"address:{request.remote_addr}"
        wait = max([self.address_failures.exhausted(address),
                    self.failures.exhausted(credential_key(authorization, api_key))])
        if wait:  # this very credential keeps failing, or the address is past the ceiling: not even verified
            raise HttpProblem(429, "too many failed authentications; slow down",
                              headers={"Retry-After": retry_after(wait)})
        try:
            return self.auth.authenticate(authorization, api_key, rpc, partial(directory_of, store))
        except HttpProblem as problem:
            if problem.status != 401:
                raise
            engine = store.store.engine  # the token is decoded for its claimed subject only once it failed
            keys = failure_keys(authorization, api_key)
            waits = [self.address_failures.take(address, engine), *(self.failures.take(key, engine) for key in keys)]
            if max(waits):  # over a limit: say when to try again rather than how the credential failed
                raise HttpProblem(429, "too many failed authentications; slow down",
                                  headers={"Retry-After": retry_after(max(waits))}) from None
            raise

    def _limit(self, key: str, store) -> None:
        wait = self.limits.take(key, store.store.engine)
        if wait:
            raise HttpProblem(429, "rate limit exceeded; slow down", headers={"Retry-After": retry_after(wait)})

    # -- input -------------------------------------------------------------------------------------------------
    def _query(self, request, route: Route) -> dict[str, Any]:
        args = request.args
        if route.query is None:
            if args:
                name = next(iter(args))
                raise invalid(name, "unknown query parameter", "query")
            return {}
        data: dict[str, Any] = {}
        for name in args:
            schema_field = route.query.fields.get(name)
            values = args.getlist(name)
            data[name] = values if isinstance(schema_field, fields.List) or len(values) > 1 else values[0]
        return self._load(route.query, data, "query")

    def _read_body(self, request, limit: int) -> bytes:
        length = request.content_length
        if length is not None and length > limit:
            raise HttpProblem(413, f"the body may be at most {limit} bytes")
        raw = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise HttpProblem(413, f"the body may be at most {limit} bytes")
        if raw and request.mimetype != JSON and not request.mimetype.endswith("+json"):
            raise HttpProblem(415, "send the body as application/json")
        return raw

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        if not raw.strip():
            raise invalid("body", "a JSON object is required")
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
            raise invalid("body", f"malformed JSON: {message}") from None

    @staticmethod
    def _load(schema: Schema, data: Any, location: str) -> dict[str, Any]:
        """Validate; the JSON values themselves go on to the service (its contract parses them again)."""
        if not isinstance(data, dict):
            raise invalid(location, "a JSON object is required", location)
        where = nul_at(data)
        if where is not None:  # named with the NUL spelt out: the answer itself must be storable text
            raise invalid(where.replace("\x00", "\\u0000") or location, "text may not contain NUL (U+0000)",
                          location)
        messages = schema.validate(data)
        if messages:
            errors = marshmallow_errors(messages, location)
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
            raise HttpProblem(400, detail, errors=errors)
        return data

    # -- concurrency and idempotency ---------------------------------------------------------------------------
    def _check_if_match(self, ctx: Ctx) -> None:
        header = ctx.request.headers.get("If-Match")
        tags = parse_etags(header) if header else None
        if ctx.route.if_match_required and not tags:  # absent or `*`: the service needs the version read
            raise invalid("If-Match", "required: the quoted ETag of the version you read", "header")
        if tags is None:
            return  # `*`: any current representation will do, and the handler fails if there is none
        versions = [tag[1:-1] for tag in tags if tag[1:-1].isdigit()]
        if ctx.route.version_field and len(tags) == 1 and versions:
            ctx.expected_version = int(versions[0])  # checked by the service, inside its transaction
            return
        if ctx.route.if_match is None:
            raise HttpProblem(409, "the resource has changed since it was read", code="stale")
        current = ctx.route.if_match(ctx)
        if etag_of(current) not in tags:
            raise HttpProblem(409, "the resource has changed since it was read", code="stale",
                              headers={"ETag": etag_of(current)})

    def _once(self, ctx: Ctx, store, key: str, raw: bytes) -> Response:
        owner = f"{ctx.actor.kind}:{ctx.actor.subject}"
        request = ctx.request
        print_ = idempotency.fingerprint(request.method, request.path, request.query_string.decode("latin-1"), raw)
        ttl = timedelta(hours=self.settings.idempotency_hours)
        stale_after = timedelta(seconds=max(60.0, 4 * self.rpc_timeout))
        stored = idempotency.claim(store, owner, key, print_, ttl, stale_after)
        if stored is not None:
            headers = {**stored.headers, "Idempotent-Replayed": "true"}
            return Response(stored.body, status=stored.status, headers=headers)
        # the service writes once; what it answers is kept for a retry, a reply after a 504 included
        outcomes = idempotency.FirstOutcomes(store.store, ttl)
        ctx.rpc = ctx.rpc.with_request_key(idempotency.request_key(owner, key), outcomes,
                                           late_for=stale_after.total_seconds())
        try:
            response = self._respond(ctx, ctx.route.handler(ctx))
        except HttpProblem as problem:
            response = problem_response(problem, ctx.request_id)
        except ServiceError as error:
            if error.code == "request-already-done":  # went through, and its reply died with its gateway
                error = HttpProblem(409, "the first request with this Idempotency-Key was carried out, and its "
                                         "answer was lost; read the resource to see it",
                                    code="idempotency-key-completed")
                response = problem_response(error, ctx.request_id)
            else:
                response = problem_response(from_service_error(error), ctx.request_id)
        except BaseException:
            idempotency.unknown(store, owner, key, outcomes)
            raise
        if response.status_code == 503:
            idempotency.release(store, owner, key)  # never sent (the broker was unreachable): nothing happened
        elif response.status_code >= 500:
            idempotency.unknown(store, owner, key, outcomes)  # it may still happen: a retry reruns it
        else:
            kept = {name: response.headers[name] for name in idempotency.REPLAYED_HEADERS if name in response.headers}
            idempotency.complete(store, owner, key, idempotency.Stored(
                response.status_code, response.get_data(as_text=True), kept))
        return response

    # -- output ------------------------------------------------------------------------------------------------
    def _respond(self, ctx: Ctx, body: Any) -> Response:
        if isinstance(body, Response):  # a handler that streams a file (gateway.exports) answers by itself
            return body
        route = ctx.route
        headers: dict[str, str] = {}
        if route.etag or route.if_match is not None or route.version_field:
            tag = etag_of(body)
            headers["ETag"] = tag
            if route.etag and ctx.request.method in ("GET", "HEAD"):
                wanted = ctx.request.headers.get("If-None-Match")
                if wanted and (wanted.strip() == "*" or tag in (parse_etags(wanted) or ())):
                    return Response(status=304, headers=headers)
        if route.location is not None:
            where = route.location(body)
            if where:
                headers["Location"] = PREFIX + where
        if ctx.page is not None and ctx.page.next_cursor:
            query = {**ctx.request.args.to_dict(), "cursor": ctx.page.next_cursor}
            headers["Link"] = f'<{ctx.request.path}?{urlencode(query)}>; rel="next"'
        return _json_response(body, route.status, headers)


class ApiProvider(DependencyProvider):
    """Builds the `Api` (and its OpenAPI document) once per container from the route declarations and settings."""

    def __init__(self, build_routes: Callable[[GatewaySettings, str, Authenticator], list[Route]],
                 document: Callable[[list[Route]], str], **kwargs):
        self.build_routes = build_routes
        self.document = document
        self.api: Api | None = None
        super().__init__(**kwargs)

    def setup(self):
        chassis_settings = settings_of(self.container)
        settings = load_gateway_settings(self.container.config)
        auth = Authenticator(settings, chassis_settings.environment)
        routes = self.build_routes(settings, chassis_settings.environment, auth)
        self.api = Api(routes, settings, auth, chassis_settings.rpc_timeout)
        self.api.openapi_json = self.document(routes)
        self.api.observe_with(metrics_of(self.container).registry)

    def get_dependency(self, worker_ctx):
        return self.api
