"""JSON logs, one object per line, carrying the service and the correlation id of the call being handled."""
from __future__ import annotations

import json
import logging
import logging.config
import re
import traceback
from datetime import UTC, datetime

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


def logging_config(level: str = "INFO", fmt: str = "json") -> dict:
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
