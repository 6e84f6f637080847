"""Webhook rules: which event types a client may receive, how a delivery is signed and verified, when it is
retried, which URLs the suite may call, and when a subscription must stop.

Signature (documented in services/notifications/README.md): headers `webhook-id` (the delivery id, stable
across retries), `webhook-timestamp` (Unix seconds of this attempt), `webhook-signature: v1=<hex>` where
hex = HMAC-SHA256(secret, f"{timestamp}.{body}") over the raw body bytes. A receiver rejects a timestamp more
than `REPLAY_WINDOW` seconds from its clock.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

from notifications.domain.errors import PatternNotAllowed, UnsafeUrl

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
REPLAY_WINDOW = 300  # seconds


# -- patterns (AMQP topic semantics: `*` one word, `#` zero or more) ---------------------------------------------

def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head = pattern[0]
    if head == "#":
        return any(_match(pattern[1:], words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(pattern[1:], words[1:])


def matches(pattern: str, event_type: str) -> bool:
    return _match(pattern.split("."), event_type.split("."))


def _covers(outer: list[str], inner: list[str]) -> bool:
    """Every type `inner` matches, `outer` matches too (inner's wildcards count as wildcards, not words)."""
    if not outer:
        return not inner
    if outer[0] == "#":
        return _covers(outer[1:], inner) or (bool(inner) and _covers(outer, inner[1:]))
    if not inner or inner[0] == "#":
        return False
    if outer[0] == "*":
        return _covers(outer[1:], inner[1:])
    return inner[0] == outer[0] and _covers(outer[1:], inner[1:])


def covers(outer: str, inner: str) -> bool:
    return _covers(outer.split("."), inner.split("."))


def from_registry(pattern: str) -> str:
    """A client registry pattern in AMQP topic terms. In compliance's registry a trailing `*` matches one or more
    words (`jixiao.goals.*` is every goals event); AMQP's `*` is exactly one word, so it becomes `#` (the same over
    real event types, which always have words after the area)."""
    return pattern[:-1] + "#" if pattern == "*" or pattern.endswith(".*") else pattern


def check_pattern(pattern: str, field: str) -> None:
    words = pattern.split(".")
    if not all(w == "*" or w == "#" or (w and w.replace("_", "").isalnum() and w == w.lower()) for w in words):
        raise PatternNotAllowed(field, f"{pattern!r} is not an event type or topic pattern (words, `*`, `#`)")


def allowed_patterns(requested: Iterable[str], client_patterns: Iterable[str]) -> list[str]:
    """The requested types/patterns, each within one of the client's `event_patterns`, or PatternNotAllowed
    naming the first that is not."""
    client_patterns = list(client_patterns)
    out = []
    for i, pattern in enumerate(requested):
        check_pattern(pattern, f"event_types.{i}")
        if not any(covers(allowed, pattern) for allowed in client_patterns):
            raise PatternNotAllowed(f"event_types.{i}", f"{pattern} is outside the client's event patterns "
                                                        f"({', '.join(client_patterns) or 'none'})")
        if pattern not in out:
            out.append(pattern)
    return out


# -- signatures --------------------------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {ID_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp,
                                                                                                  body),
            "content-type": "application/cloudevents+json; charset=utf-8"}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float,
           window: int = REPLAY_WINDOW) -> bool:
    """The receiver's check (the recipe in the README, in Python)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window:
        return False
    expected = signature(secret, timestamp, body)
    given = lowered.get(SIGNATURE_HEADER, "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


# -- retries -----------------------------------------------------------------------------------------------------

def retry_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before try `attempt + 1` after `attempt` failed: exponential, capped, with "equal jitter"
    (`jitter` in [0, 1): half the delay fixed, half random), so retries of many deliveries spread out."""
    delay: float = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + (delay / 2) * jitter


CIRCUIT_THRESHOLD = 5  # consecutive failures of one receiver before its subscription pauses


def circuit_pause(consecutive_failures: int, base: float, cap: float,
                  threshold: int = CIRCUIT_THRESHOLD) -> float | None:
    """Seconds a subscription's receiver is left alone after `consecutive_failures` in a row (None: keep going).
    A dead receiver then costs a probe now and then instead of a try per pending delivery; its deliveries wait,
    pending and visible, and go out when a probe succeeds."""
    if consecutive_failures < threshold:
        return None
    pause: float = min(cap, base * (2 ** (consecutive_failures - threshold)))
    return pause


def after_failure(attempt: int, max_attempts: int) -> str:
    """'retry' or 'dead' (parked, replayable) once `attempt` tries have failed."""
    return "dead" if attempt >= max_attempts else "retry"


# -- URLs (SSRF) -------------------------------------------------------------------------------------------------

def _public(address: str) -> bool:
    """Conservative: an IPv4-mapped IPv6 address must be public in both forms."""
    ip = ipaddress.ip_address(address)
    forms = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        forms.append(ip.ipv4_mapped)
    # is_global alone lets some reserved IPv6 ranges through (::2 is "global"): refuse every special range
    return all(form.is_global and not (form.is_private or form.is_loopback or form.is_link_local or form.is_reserved
                                       or form.is_multicast or form.is_unspecified
                                       or getattr(form, "is_site_local", False)) for form in forms)


def check_url(url: str, production: bool, resolve: Callable[[str], list[str]], field: str = "url") -> str:
    """The URL if the suite may call it. In production: https only and every address the host resolves to must
    be public (no loopback, private, link-local, metadata or reserved ranges). Elsewhere http to localhost is
    fine (tests, development). Checked when subscribing and again before every delivery (DNS can change)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(field, "an absolute http(s) URL")
    if parts.username or parts.password:
        raise UnsafeUrl(field, "no credentials in the URL (the signature authenticates the suite)")
    if not production:
        return url
    if parts.scheme != "https":
        raise UnsafeUrl(field, "https only in production")
    try:
        addresses = resolve(parts.hostname)
    except OSError as exc:
        raise UnsafeUrl(field, f"{parts.hostname} does not resolve: {exc}") from None
    if not addresses:
        raise UnsafeUrl(field, f"{parts.hostname} does not resolve")
    for address in addresses:
        if not _public(address):
            raise UnsafeUrl(field, f"{parts.hostname} resolves to {address}, a private or loopback address")
    return url


# -- the client's agreement --------------------------------------------------------------------------------------

def stop_reason(status: str, dpa_expires: datetime | None, now: datetime) -> str | None:
    """Why a subscription of this client may not deliver (None: it may)."""
    if status != "active":
        return f"client {status}"
    if dpa_expires is not None and dpa_expires < now:
        return f"data-processing agreement lapsed on {dpa_expires.date().isoformat()}"
    return None
