"""RFC 9457 problem documents: every error the gateway answers with, and how other errors map onto them.

A remote service's `ServiceError` keeps its status, title, detail and field errors; the gateway adds the
correlation id. Anything unexpected becomes a bare 500 that says only the correlation id.
"""
from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from chassis.errors import ServiceError, problem_document
from gateway.i18n import localise_body, negotiate
from gateway.i18n.catalogue import DEFAULT, TITLES

PROBLEM_JSON = "application/problem+json"

# Statuses a client can act on; a service answering with something else is reported as a 500.
_PASSED_ON = {400, 401, 403, 404, 409, 413, 415, 422, 429, 503, 504}
_CODES = {
    400: "invalid-input", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "rule-violated", 429: "rate-limited",
    500: "internal", 503: "unavailable", 504: "timeout",
}
_TITLES = {status: TITLES[code][DEFAULT] for status, code in _CODES.items()}  # the catalogue's English


class HttpProblem(Exception):
    """Raised anywhere in request handling to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, code: str | None = None,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                 title: str | None = None, **extra: Any):
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.title = title or _TITLES.get(status, TITLES["error"][DEFAULT])
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)

    def document(self, correlation_id: str | None) -> dict[str, Any]:
        doc = problem_document(self.code, self.title, self.status, self.detail, self.errors, self.extra)
        if correlation_id:
            doc["correlation_id"] = correlation_id
        return doc


def field_error(field: str, message: str, location: str = "body") -> dict[str, str]:
    return {"field": field, "in": location, "message": message}


def invalid(field: str, message: str, location: str = "body") -> HttpProblem:
    return HttpProblem(400, f"{field}: {message}", errors=[field_error(field, message, location)])


def from_service_error(error: ServiceError) -> HttpProblem:
    """The HTTP answer for an error a service raised (or the RPC client raised for it: timeout, broker down)."""
    status = error.status if error.status in _PASSED_ON else 500
    if status == 500:  # a bug upstream, or a status no client is told to expect: say nothing more than that
        return HttpProblem(500, "the request failed; quote the correlation id when reporting it")
    if status == 503:  # the broker or a service is away: what the client can do is wait, not read socket errors
        return HttpProblem(503, "a service this request needs is unavailable; try again shortly",
                           headers={"Retry-After": "1"})
    extra = {key: value for key, value in error.extra.items()
             if key not in _RESERVED and _is_json_scalar(value)}
    errors = [dict(e) for e in error.errors if isinstance(e, dict)]
    if status == 400:  # the edge has checked every rule the OpenAPI states (400 there); what a service refuses
        # after it is a rule no schema states (a reference to what does not exist, fields that go together, the
        # state of things): the document's 422, the failing fields still named
        return HttpProblem(422, error.detail, code="rule-violated", errors=errors, **extra)
    return HttpProblem(status, error.detail, code=error.code, title=error.title, errors=errors, **extra)


_RESERVED = {"correlation_id", "status", "code", "headers", "title", "detail", "errors", "type"}


def _is_json_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def marshmallow_errors(messages: Any, location: str, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested error dict into field paths (`weights.0.value`)."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(marshmallow_errors(value, location, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            out.append(field_error(prefix or location, message, location))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(marshmallow_errors(item, location, prefix))
    else:
        out.append(field_error(prefix or location, str(messages), location))
    return out


def encode(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def localise_response(response: Response, accept_language: str | None) -> Response:
    """A problem document answer in the language `Accept-Language` prefers (q-values honoured; en by default and
    for a language the catalogue lacks). Other answers pass as they are."""
    if response.mimetype != PROBLEM_JSON:
        return response
    language = negotiate(accept_language)
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    if language != DEFAULT:
        body = localise_body(response.get_data(), language)
        if body is not None:
            response.set_data(body)
    return response
