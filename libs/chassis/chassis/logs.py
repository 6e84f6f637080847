"""JSON logs, one object per line, carrying the service and the correlation id of the call being handled."""
from __future__ import annotations

import json
import logging
import logging.config
import re
import traceback
from datetime import UTC, datetime
from typing import Any

from chassis.context import current_correlation_id, current_service

_SECRET = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")  # user:password@ in URLs


def redact(text: str) -> str:
    return _SECRET.sub(r"\1***@", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        service = current_service()
        if service:
            doc["service"] = service
        correlation_id = current_correlation_id()
        if correlation_id:
            doc["correlation_id"] = correlation_id
        if record.exc_info:
            doc["exc"] = redact("".join(traceback.format_exception(*record.exc_info))[-4000:])
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        correlation_id = current_correlation_id()
        return redact(f"{line} [{correlation_id}]" if correlation_id else line)


class ClientErrorsAtInfo(logging.Filter):
    """A request the caller got wrong (a 4xx: not found, invalid, forbidden, conflict) is no fault of the service:
    nameko logs every failed worker at ERROR with a traceback, and a 404 for an unknown goal filled the log.
    Such records become one INFO line without a traceback; 5xx and unexpected exceptions stay ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _client_error(exc):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "client error (%s %s) handling %s: %s", (
                getattr(exc, "status", 409), type(exc).__name__, _worker_of(record), exc)
            record.exc_info, record.exc_text = None, None
        return True


def _client_error(exc: BaseException) -> bool:
    from chassis.errors import to_service_error

    if type(exc).__name__ == "AlreadyProcessed":  # a duplicate, answered as such
        return True
    error = to_service_error(exc)  # a ServiceError, or what it is answered as (a pydantic error: 400)
    return error is not None and 400 <= error.status < 500


def _worker_of(record: logging.LogRecord) -> str:
    args = record.args if isinstance(record.args, tuple) else ()
    return str(args[0]) if args else "a call"


_FILTERED = ("nameko.containers",)


def quiet_client_errors() -> None:
    """Install `ClientErrorsAtInfo` on the loggers that report failed workers (idempotent)."""
    for name in _FILTERED:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClientErrorsAtInfo) for f in logger.filters):
            logger.addFilter(ClientErrorsAtInfo())


def logging_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    formatter = {"()": "chassis.logs.JsonFormatter"} if fmt == "json" else {
        "()": "chassis.logs.TextFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {"nameko": {"level": "WARNING"}, "kombu": {"level": "WARNING"},
                    "amqp": {"level": "WARNING"}, "sqlalchemy": {"level": "WARNING"}},
    }


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    logging.config.dictConfig(logging_config(level, fmt))
    quiet_client_errors()
