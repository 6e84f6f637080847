"""Errors a service answers with, as RFC 9457 problem documents.

A service raises these (or a domain error registered with `register_error`); the RPC entrypoint sends the
problem over the wire and the client raises the same class again, so the gateway maps it to HTTP by `status`
alone. Anything unexpected becomes `InternalError`, which never carries internals.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROBLEM_BASE = "https://jixiao.dev/problems/"


def problem_document(code: str, title: str, status: int, detail: str, errors: list[dict[str, Any]],
                     extra: dict[str, Any]) -> dict[str, Any]:
    """The RFC 9457 document of a problem: the one wire shape of services' errors and the gateway's answers."""
    doc: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    if errors:
        doc["errors"] = errors
    doc.update(extra)
    return doc


class ServiceError(Exception):
    status = 500
    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        self.detail = detail or self.title
        self.errors = errors or []
        self.extra = extra
        super().__init__(self.detail)

    def problem(self) -> dict[str, Any]:
        return problem_document(self.code, self.title, self.status, self.detail, self.errors, self.extra)

    @staticmethod
    def from_problem(problem: dict[str, Any]) -> ServiceError:
        code = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
        cls = _BY_CODE.get(code, ServiceError)
        extra = {k: v for k, v in problem.items() if k not in ("type", "title", "status", "detail", "errors")}
        error = cls(problem.get("detail"), errors=problem.get("errors"), **extra)
        if cls is ServiceError:
            error.status = int(problem.get("status", 500))
            error.code = code or "internal"
            error.title = problem.get("title", ServiceError.title)
        return error


class InvalidInput(ServiceError):
    """The request is malformed; `errors` lists `{"field": "a.b", "message": ...}`."""

    status, code, title = 400, "invalid-input", "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class Unauthenticated(ServiceError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(ServiceError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(ServiceError):
    """Well-formed but breaks a business rule (weights not totalling 100, a locked cycle...)."""

    status, code, title = 422, "rule-violated", "Business rule violated"


class RateLimited(ServiceError):
    status, code, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(ServiceError):
    status, code, title = 503, "unavailable", "Service unavailable"


class RpcTimeout(ServiceError):
    status, code, title = 504, "timeout", "Upstream timeout"


class InternalError(ServiceError):
    status, code, title = 500, "internal", "Internal error"


_BY_CODE: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (InvalidInput, Unauthenticated, Forbidden, NotFound, Conflict, Unprocessable, RateLimited,
                ServiceUnavailable, RpcTimeout, InternalError)
}

# Domain errors stay free of the chassis; a service maps them once, here.
_TRANSLATORS: list[tuple[type[BaseException], Callable[[BaseException], ServiceError]]] = []


def register_error(exc_type: type[BaseException], translate: Callable[[BaseException], ServiceError]) -> None:
    _TRANSLATORS.insert(0, (exc_type, translate))


def pydantic_errors(exc: Any) -> list[dict[str, Any]]:
    """Field paths from a pydantic ValidationError, as `a.b.0.c`."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err.get("loc", ())) or "body"
        out.append({"field": field, "message": err.get("msg", "invalid")})
    return out


def to_service_error(exc: BaseException) -> ServiceError | None:
    """The expected error an exception stands for, or None when it is a bug."""
    if isinstance(exc, ServiceError):
        return exc
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = pydantic_errors(exc)
        return InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    for exc_type, translate in _TRANSLATORS:
        if isinstance(exc, exc_type):
            return translate(exc)
    if is_transient_database_error(exc):
        # rolled back as a whole, so nothing happened: the caller may retry (the gateway releases its
        # Idempotency-Key on a 503). A bug in a query (no such table, a bad column) stays a 500.
        return ServiceUnavailable("the database is unavailable or busy; retry shortly", retry_after=1)
    return None


# SQLSTATE classes and codes of failures that are the database's state, not the request's: connection exceptions
# (08), deadlock and serialization failures (40P01, 40001), a lock not available (55P03), the server shutting down
# or starting (57P01-57P03), too many connections (53300)
_TRANSIENT_SQLSTATES = ("08", "40P01", "40001", "55P03", "57P01", "57P02", "57P03", "53300")


def is_transient_database_error(exc: BaseException) -> bool:
    """A database error worth a retry: the connection is gone, the server is down or restarting, or the
    transaction lost a deadlock or a serialization race."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_TRANSIENT_SQLSTATES)
    module = type(orig).__module__
    if module.startswith(("psycopg2", "psycopg")):
        # no SQLSTATE: the client library could not reach the server at all (refused, reset, closed)
        return type(orig).__name__ in ("OperationalError", "InterfaceError")
    return "database is locked" in str(orig)  # SQLite: another writer held the file past the busy timeout
