"""Third-party client registry: who may call the API or consume events, under which agreement, and
their API keys.

API key format: "jx_<environment>_<key id: 12 hex>_<secret: 43 url-safe base64 chars>". The key id is
stored in clear and indexed, so a presented key is found with one lookup; only the secret's salted
scrypt hash is stored and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache

from compliance.domain.errors import InvalidInput
from compliance.domain.policy import Decision

KEY_PREFIX = "jx"
ENVIRONMENTS = ("live", "test")
# scrypt cost: about 16 MiB and ~50 ms per derivation on one core. Deliberate for a leaked table;
# the gateway should cache successful verifications briefly rather than pay it on every request.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_SCHEME = f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"

_API_KEY = re.compile(r"jx_(?P<environment>live|test)_(?P<key_id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
_SCOPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*:(read|write)")
_EVENT_PATTERN = re.compile(r"(\*|[a-z0-9_]+)(\.(\*|[a-z0-9_]+))*")
# The areas a scope may name ("goals:read", "incentives.bonus:read"): the gateway's areas (gateway.scopes.AREAS,
# kept equal by tests/architecture/test_client_scope_areas.py) and the client's own webhook subscriptions.
SCOPE_AREAS = frozenset({"goals", "org", "audit", "privacy", "appeals", "clients", "compliance", "feedback",
                         "incentives", "webhooks"})


class ClientStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Client:
    """A registered third party. `event_patterns` use "." segments; "*" matches one segment, and a
    trailing "*" also everything below (so "jixiao.goals.*" is every goals event)."""

    id: str
    name: str
    scopes: frozenset[str]
    event_patterns: tuple[str, ...]
    dpa_ref: str  # the signed data-processing agreement this access rests on
    dpa_expires: date  # last day (UTC) the agreement is in force
    status: ClientStatus = ClientStatus.ACTIVE

    def __post_init__(self) -> None:
        for scope in self.scopes:
            if not _SCOPE.fullmatch(scope):
                raise InvalidInput.at(("scopes",), f"{scope!r} is not a scope like 'goals:read'")
        for position, pattern in enumerate(self.event_patterns):
            if not _EVENT_PATTERN.fullmatch(pattern):
                raise InvalidInput.at(("event_patterns", position), f"{pattern!r} is not an event type pattern")
        if not self.dpa_ref.strip():
            raise InvalidInput.at(("dpa_ref",), "a client needs a data-processing agreement")


def dpa_lapsed(expires_on: date, now: datetime) -> bool:
    """The agreement is in force through its last day (UTC) and lapsed from the day after."""
    return now.astimezone(UTC).date() > expires_on


def check_scope_areas(scopes: frozenset[str]) -> None:
    """Scopes given now (at registration or an update) name an area of the suite; a client stored before an area
    was retired still loads, so this is not part of `Client`'s own checks."""
    for scope in sorted(scopes):
        if scope.split(":")[0].split(".")[0] not in SCOPE_AREAS:
            raise InvalidInput.at(("scopes",), f"{scope!r} names no area of the suite (one of "
                                  f"{', '.join(sorted(SCOPE_AREAS))})")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule refuses a change: the field it names and why."""

    field: str
    message: str


def renewal_refusal(current: Client, ref: str, expires_on: date, today: date) -> Refusal | None:
    """A renewed agreement is a new reference with a later last day, still in force today (None: accepted).
    Giving the agreement in force again is no change and accepted."""
    if ref == current.dpa_ref and expires_on == current.dpa_expires:
        return None
    if today > expires_on:
        return Refusal("dpa.expires_on", f"the data-processing agreement {ref} expired on {expires_on}; a renewal "
                                         f"must still be in force")
    if expires_on <= current.dpa_expires:
        return Refusal("dpa.expires_on", f"a renewal ends after the agreement in force ({current.dpa_expires}); "
                                         f"to end access, revoke the client")
    if ref == current.dpa_ref:
        return Refusal("dpa.ref", f"a renewal is a new agreement: {ref} is the reference in force")
    return None


def updated(current: Client, *, name: str | None = None, scopes: frozenset[str] | None = None,
            event_patterns: tuple[str, ...] | None = None, dpa: tuple[str, date] | None = None
            ) -> tuple[Client, list[str]]:
    """The client with what is given changed (checked as at registration) and the names of the fields that
    changed. The agreement is checked by `renewal_refusal` first."""
    dpa_ref, dpa_expires = dpa if dpa is not None else (current.dpa_ref, current.dpa_expires)
    after = replace(current, name=current.name if name is None else name,
                    scopes=current.scopes if scopes is None else scopes,
                    event_patterns=current.event_patterns if event_patterns is None else event_patterns,
                    dpa_ref=dpa_ref, dpa_expires=dpa_expires)
    changed: list[str] = [field for field in ("name", "scopes", "event_patterns")
                          if getattr(after, field) != getattr(current, field)]
    if (after.dpa_ref, after.dpa_expires) != (current.dpa_ref, current.dpa_expires):
        changed.append("dpa")
    return after, changed


def lapse_due(client: Client, announced_for: date | None, today: date) -> bool:
    """Is this client's lapse still to be announced? Once per agreement's last day, for active clients only."""
    return client.status == ClientStatus.ACTIVE and today > client.dpa_expires and announced_for != client.dpa_expires


def check_client(client: Client, now: datetime, scope: str) -> Decision:
    """May `client` act under `scope` at `now`? Refuses revoked clients, lapsed agreements, missing scopes."""
    if client.status != ClientStatus.ACTIVE:
        return Decision(False, f"client {client.id} is revoked")
    if dpa_lapsed(client.dpa_expires, now):
        return Decision(False, f"the data-processing agreement {client.dpa_ref} expired on {client.dpa_expires}")
    if scope not in client.scopes:
        return Decision(False, f"client {client.id} lacks scope {scope}")
    return Decision(True, f"client {client.id} holds scope {scope}")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    parts = pattern.split(".")
    regex = r"\.".join("[^.]+" if part == "*" else re.escape(part) for part in parts)
    if parts[-1] == "*":
        regex += r"(\.[^.]+)*"
    return re.compile(regex)


def matches_event(pattern: str, event_type: str) -> bool:
    return _compiled(pattern).fullmatch(event_type) is not None


def client_allows_event(client: Client, event_type: str) -> bool:
    """Whether the client may receive events of this type (an active client only)."""
    return client.status == ClientStatus.ACTIVE and any(matches_event(p, event_type) for p in client.event_patterns)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is stored for a key: never the secret itself."""

    key_id: str
    client_id: str
    environment: str
    salt: bytes
    secret_hash: bytes
    scheme: str = HASH_SCHEME


@dataclass(frozen=True, slots=True)
class ParsedKey:
    environment: str
    key_id: str
    secret: str


def _derive(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("ascii"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def issue_api_key(client_id: str, environment: str = "live") -> tuple[str, ApiKeyRecord]:
    """A new key: the plaintext (shown to the client once) and the record to store."""
    if environment not in ENVIRONMENTS:
        raise InvalidInput.at(("environment",), f"environment is one of {', '.join(ENVIRONMENTS)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    plaintext = f"{KEY_PREFIX}_{environment}_{key_id}_{secret}"
    return plaintext, ApiKeyRecord(key_id, client_id, environment, salt, _derive(secret, salt))


def parse_api_key(text: str) -> ParsedKey:
    """Split a presented key; InvalidInput when it is not one of ours (checked before any lookup)."""
    match = _API_KEY.fullmatch(text.strip())
    if match is None:
        raise InvalidInput.at(("api_key",), "not a Jixiao API key")
    return ParsedKey(match["environment"], match["key_id"], match["secret"])


def verify_api_key(presented: ParsedKey, record: ApiKeyRecord) -> bool:
    """Constant-time check of a parsed key against the record found by its key id."""
    if record.scheme != HASH_SCHEME:
        raise InvalidInput.at(("scheme",), f"unsupported key hash scheme {record.scheme}")
    if presented.key_id != record.key_id or presented.environment != record.environment:
        return False
    return hmac.compare_digest(_derive(presented.secret, record.salt), record.secret_hash)
