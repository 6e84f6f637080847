"""Authenticity of events: an HMAC-SHA256 tag per producing service on every envelope.

Anyone who can publish on the broker could otherwise publish `jixiao.compliance.grants.changed.v1` and make
themselves an administrator everywhere. So:

- the outbox relay signs each envelope with its service's key before publishing (`signature` attribute:
  `hmac-sha256=<hex>` over the canonical envelope: every other attribute, JSON with sorted keys, no spaces);
- the event consumer accepts an event type `jixiao.<area>.…` only from the exchange of the service that owns it
  (`<area>.events`), and only with a tag that verifies under that service's current or retired keys; anything
  else is parked in the dead-letter queue with the reason, counted, and never handled.

Keys come from the environment (secrets never live in config files): `<SVC>_EVENT_SIGNING_KEY` (current, at least
32 characters) and `<SVC>_EVENT_RETIRED_KEYS` (comma-separated, still accepted while events signed with them may be
in flight or parked). A producer holds its own key; a consumer holds the keys of the producers it listens to.
Rotation: add the new key as current and the old one to the retired list on every consumer first, then on the
producer; drop the retired key once the queues and dead-letter queues hold nothing signed with it.

Outside production a missing key is derived from the service name (a public, deterministic value), so `make up`
and the tests need no setup; production refuses to start without a real key (`require`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

SIGNATURE = "signature"
SCHEME = "hmac-sha256="
MIN_KEY_LENGTH = 32
DEV_KEY_PREFIX = "jixiao-development-event-key:"


class MissingKey(Exception):
    """No usable key for a service (production only: elsewhere one is derived)."""


def env_prefix(service: str) -> str:
    return service.upper().replace("-", "_")


def development_key(service: str) -> str:
    return hashlib.sha256((DEV_KEY_PREFIX + service).encode()).hexdigest()


def canonical(envelope: Mapping[str, Any]) -> bytes:
    """The bytes the tag covers: every attribute but the tag, JSON with sorted keys and no whitespace."""
    unsigned = {k: v for k, v in envelope.items() if k != SIGNATURE}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def tag(key: str, envelope: Mapping[str, Any]) -> str:
    return SCHEME + hmac.new(key.encode(), canonical(envelope), hashlib.sha256).hexdigest()


class EventKeys:
    """The event keys this process knows, read from `environ` (default: the process environment)."""

    def __init__(self, environ: Mapping[str, str] | None = None, environment: str | None = None):
        self.environ = os.environ if environ is None else environ
        self.environment = environment or self.environ.get("ENVIRONMENT", "development")
        self._accepted: dict[str, list[bytes]] = {}  # keys are read once: a restart picks up a rotation

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def current(self, service: str) -> str:
        value = (self.environ.get(f"{env_prefix(service)}_EVENT_SIGNING_KEY") or "").strip()
        if value:
            if self.production and (len(value) < MIN_KEY_LENGTH or value == development_key(service)):
                raise MissingKey(f"{env_prefix(service)}_EVENT_SIGNING_KEY must be a secret of at least "
                                 f"{MIN_KEY_LENGTH} characters (not the development key)")
            return value
        if self.production:
            raise MissingKey(f"production needs {env_prefix(service)}_EVENT_SIGNING_KEY (the key that signs "
                             f"{service}'s events)")
        return development_key(service)

    def accepted(self, service: str) -> list[str]:
        """Current key first, then the retired ones."""
        retired = self.environ.get(f"{env_prefix(service)}_EVENT_RETIRED_KEYS") or ""
        return [self.current(service), *(k.strip() for k in retired.split(",") if k.strip())]

    def require(self, service: str) -> None:
        """Stop the start (SystemExit) when a needed key is missing: call at setup."""
        try:
            self.current(service)
        except MissingKey as exc:
            raise SystemExit(str(exc)) from None

    # -- signing and verifying ---------------------------------------------------------------------------------
    def _keys(self, service: str) -> list[bytes]:
        keys = self._accepted.get(service)
        if keys is None:
            keys = self._accepted[service] = [key.encode() for key in self.accepted(service)]
        return keys

    def sign(self, service: str, envelope: Mapping[str, Any]) -> dict[str, Any]:
        signed = {k: v for k, v in envelope.items() if k != SIGNATURE}
        signed[SIGNATURE] = SCHEME + hmac.new(self._keys(service)[0], canonical(signed), hashlib.sha256).hexdigest()
        return signed

    def sign_body(self, service: str, body: str | bytes) -> str:
        """The body with its tag appended (the text as it was, plus one attribute): what the relay publishes."""
        text = body.decode() if isinstance(body, bytes) else body
        envelope = json.loads(text)
        if SIGNATURE in envelope:
            return json.dumps(self.sign(service, envelope), separators=(",", ":"), ensure_ascii=False)
        value = SCHEME + hmac.new(self._keys(service)[0], canonical(envelope), hashlib.sha256).hexdigest()
        head = text.rstrip()[:-1].rstrip()
        return f'{head}{"," if len(envelope) else ""}"{SIGNATURE}":"{value}"}}'

    def verify(self, service: str, envelope: Mapping[str, Any]) -> str | None:
        """None when the tag verifies under one of `service`'s keys; else the reason it does not."""
        presented = envelope.get(SIGNATURE)
        if not isinstance(presented, str) or not presented:
            return f"no authenticity tag (events of {service} must be signed)"
        if not presented.startswith(SCHEME):
            return "unknown authenticity tag scheme"
        try:
            keys = self._keys(service)
        except MissingKey as exc:
            return f"no key to verify {service}'s events: {exc}"
        data = canonical(envelope)
        for key in keys:
            expected = SCHEME + hmac.new(key, data, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, presented):
                return None
        return f"authenticity tag does not verify under {service}'s keys"


def type_area(event_type: str) -> str:
    parts = event_type.split(".")
    return parts[1] if len(parts) > 1 else ""


def owns(exchange_service: str, event_type: str) -> bool:
    """Whether `<exchange_service>.events` may carry `event_type`: `jixiao.<area>.…` belongs to the service named
    `<area>` (or `<area>_<role>`, as the chassis's toy services are named)."""
    area = type_area(event_type)
    return bool(area) and (exchange_service == area or exchange_service.startswith(area + "_"))


def exchange_service(exchange: str) -> str | None:
    return exchange[:-len(".events")] if exchange.endswith(".events") and len(exchange) > 7 else None
