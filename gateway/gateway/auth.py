"""Authentication: who is calling, as an `Actor`.

- People present a JWT (`Authorization: Bearer <jwt>`), RS256 or ES256, checked against the configured public
  keys, JWKS file or the IdP's JWKS URL (`RemoteKeys`: fetched, cached, refetched for an unknown `kid` at a
  limited rate; an unreachable IdP is a 503 only for tokens that need a fetch), with the configured issuer and
  audience, an expiry and a subject. HS256 is accepted only
  when environment=development (the development login signs with it). The token says *who*; roles and org unit
  come from the directory — the gateway's read model of compliance's org events (`chassis.access`), so
  authenticating a person needs no RPC — cached briefly per subject.
- Integrations present an API key (`Authorization: ApiKey <key>` or `X-Api-Key: <key>`), verified by compliance
  (`authenticate_api_key`) and cached briefly under a hash of the key; the actor is the client with its scopes.

Every failure is a 401 that does not say which check failed beyond what helps an honest client.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from eventlet.event import Event
from pydantic import ValidationError

from chassis.access.org import OrgIndex, PersonStatus
from chassis.errors import ServiceError
from contracts.actor import Actor
from gateway.cache import TtlCache
from gateway.problems import HttpProblem, from_service_error
from gateway.scopes import person_scopes
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

ASYMMETRIC = ("RS256", "ES256")
CHALLENGE = 'Bearer realm="jixiao", ApiKey realm="jixiao"'
_PEM = re.compile(r"-----BEGIN [A-Z ]*PUBLIC KEY-----.+?-----END [A-Z ]*PUBLIC KEY-----", re.DOTALL)


def unauthenticated(detail: str) -> HttpProblem:
    return HttpProblem(401, detail, headers={"WWW-Authenticate": CHALLENGE})


@dataclass(frozen=True)
class VerificationKey:
    algorithm: str  # RS256 | ES256
    key: Any
    kid: str | None = None


def algorithm_for(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("RSA keys shorter than 2048 bits are refused")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError(f"unsupported public key type {type(key).__name__} (RSA or EC P-256)")


def load_pem_keys(value: str) -> list[VerificationKey]:
    """PEM text (one or more blocks; literal `\\n` accepted for env vars) or comma-separated PEM file paths."""
    value = value.strip()
    if not value:
        return []
    if "-----BEGIN" not in value:
        value = "\n".join(Path(path.strip()).read_text() for path in value.split(",") if path.strip())
    blocks = _PEM.findall(value.replace("\\n", "\n"))
    if not blocks:
        raise ValueError("no PEM public key found")
    keys = []
    for block in blocks:
        key = load_pem_public_key(block.encode())
        keys.append(VerificationKey(algorithm_for(key), key))
    return keys


def load_jwks(path: str) -> list[VerificationKey]:
    if not path:
        return []
    keys = []
    for jwk in jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text())).keys:
        if jwk.public_key_use not in (None, "sig"):
            continue
        keys.append(VerificationKey(algorithm_for(jwk.key), jwk.key, jwk.key_id))
    return keys


def _verification_keys(jwk_set: jwt.PyJWKSet) -> list[VerificationKey]:
    keys = []
    for jwk in jwk_set.keys:
        if jwk.public_key_use not in (None, "sig"):
            continue
        try:
            keys.append(VerificationKey(algorithm_for(jwk.key), jwk.key, jwk.key_id))
        except ValueError as error:  # one odd key (Ed25519, short RSA) must not hide the others
            log.warning("JWKS key %r skipped: %s", jwk.key_id, error)
    return keys


def _https_required(url: str, production: bool, what: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https") or (production and scheme != "https"):
        raise ValueError(f"{what} must be an https URL{'' if production else ' (or http outside production)'}: "
                         f"{url[:100]!r}")
    return url


class RemoteKeys:
    """The IdP's signing keys from its JWKS URL (or found by OIDC discovery), through PyJWT's `PyJWKClient`.

    - The fetched set is used for `lifespan` seconds, then fetched again: a key the IdP removed is refused after
      that (and tokens it verified are not remembered longer than that either).
    - A `kid` the set does not know triggers one refetch, at most once per `refetch` seconds whatever the number
      of such tokens, so a flood of made-up kids cannot hammer the IdP.
    - A failed fetch keeps the last good set in use (an IdP outage does not lock out everyone signed in) and is
      not retried for `refetch` seconds; a token that needs keys we do not have is a 503, never a 500.
    """

    def __init__(self, url: str = "", *, issuer: str = "", lifespan: float = 300.0, refetch: float = 30.0,
                 timeout: float = 3.0, production: bool = False):
        if not url and not issuer:
            raise ValueError("RemoteKeys needs a JWKS URL or an issuer to discover it from")
        self.production = production
        self.lifespan = lifespan
        self.refetch = refetch
        self.timeout = timeout
        self.discovery_url = ""
        if url:
            _https_required(url, production, "GATEWAY_JWKS_URL")
        else:
            self.discovery_url = _https_required(issuer.rstrip("/") + "/.well-known/openid-configuration",
                                                 production, "the issuer (GATEWAY_JWT_ISSUER, for OIDC discovery)")
        self._client = self._make_client(url) if url else None
        self._keys: list[VerificationKey] | None = None  # the last good set
        self._fetched_at = 0.0  # monotonic time of the last good fetch
        self._attempted_at: float | None = None  # of the last attempt, good or not
        self._failed = False
        self._lock = threading.Lock()  # one fetch at a time; the others wait for its result

    def _make_client(self, url: str) -> jwt.PyJWKClient:
        # cooldown 0: the refetch rate is ours (it also covers failed fetches, which PyJWKClient does not limit)
        return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=self.lifespan, timeout=self.timeout,
                               cooldown_duration=0)

    def keys(self, algorithm: str, kid: Any) -> list[Any]:
        """Public keys that may have signed a token with this header; a 503 when the IdP is needed and down."""
        with self._lock:
            now = time.monotonic()
            if self._keys is None or now - self._fetched_at > self.lifespan:
                self._fetch(now, refresh=False)
            found = self._matching(algorithm, kid)
            if not found and kid is not None:
                self._fetch(now, refresh=True)  # perhaps rotated: look once more, at a limited rate
                found = self._matching(algorithm, kid)
            if not found and (self._keys is None or self._failed):  # a fetch was needed and the IdP did not answer
                raise HttpProblem(503, "the identity provider's keys are unavailable; try again shortly",
                                  headers={"Retry-After": str(max(1, round(self.refetch)))})
            return found

    def _matching(self, algorithm: str, kid: Any) -> list[Any]:
        return [k.key for k in self._keys or () if k.algorithm == algorithm and (kid is None or k.kid == kid)]

    def _fetch(self, now: float, refresh: bool) -> None:
        if self._attempted_at is not None and now - self._attempted_at < self.refetch:
            return  # rate-limited: keep what we have (possibly nothing, possibly stale)
        self._attempted_at = now
        try:
            if self._client is None:
                self._client = self._make_client(self._discover())
            jwk_set = self._client.get_jwk_set(refresh=refresh)
        except Exception as error:  # unreachable, slow, not JSON, no usable keys: all an IdP problem
            self._failed = True
            log.warning("JWKS fetch failed (%s); %s", type(error).__name__,
                        "keeping the last good keys" if self._keys is not None else "no keys yet")
            return
        self._failed = False
        self._keys = _verification_keys(jwk_set)
        self._fetched_at = time.monotonic()

    def _discover(self) -> str:
        request = urllib.request.Request(self.discovery_url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # scheme checked
            document = json.load(response)
        url = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise ValueError("the OIDC discovery document has no jwks_uri")
        return _https_required(url, self.production, "the discovered jwks_uri")


@dataclass(frozen=True)
class Claims:
    subject: str
    expires: float
    scopes: tuple[str, ...] | None  # None: the token does not narrow the subject's scopes


class TokenVerifier:
    def __init__(self, keys: list[VerificationKey], issuer: str, audience: str, leeway: float = 30.0,
                 hs256_secret: str | None = None, cache_size: int = 10_000, max_lifetime: float = 24 * 3600.0,
                 remote: RemoteKeys | None = None):
        self.keys = keys
        self.remote = remote
        self.max_lifetime = max_lifetime
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.hs256_secret = hs256_secret
        self.algorithms = set(ASYMMETRIC) | ({"HS256"} if hs256_secret else set())
        self._verified: TtlCache[Claims] = TtlCache(cache_size, clock=time.time)

    def verify(self, token: str) -> Claims:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise unauthenticated(f"token algorithm {str(algorithm)[:16]!r} is not accepted")
        payload, remote = self._decode(token, algorithm, header.get("kid"))
        claims = self._claims(payload)
        self._check_lifetime(payload)
        ttl = claims.expires - time.time() + self.leeway
        if remote and self.remote is not None:  # a key removed at the IdP: refuse its tokens with the fetched set
            ttl = min(ttl, self.remote.lifespan)
        self._verified.put(token, claims, ttl)
        return claims

    def _candidates(self, algorithm: str, kid: Any) -> list[Any]:
        if algorithm == "HS256":
            return [self.hs256_secret]
        keys = [k for k in self.keys if k.algorithm == algorithm]
        if kid is not None:
            keys = [k for k in keys if k.kid is None or k.kid == kid]
        return [k.key for k in keys]

    def _decode(self, token: str, algorithm: str, kid: Any) -> tuple[dict[str, Any], bool]:
        """The payload, and whether a key fetched from the IdP verified it. Configured keys are tried first; the
        IdP's are asked for only when none of them signed the token."""
        candidates = [(key, False) for key in self._candidates(algorithm, kid)]
        remote_keys = self.remote
        if remote_keys is not None and algorithm != "HS256":
            candidates = _then(candidates, lambda: [(key, True) for key in remote_keys.keys(algorithm, kid)])
        failure = "the token signature is not valid"
        tried = False
        for key, remote in candidates:
            tried = True
            try:
                return jwt.decode(
                    token, key, algorithms=[algorithm], issuer=self.issuer, audience=self.audience,
                    leeway=self.leeway, options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                ), remote
            except jwt.InvalidSignatureError:
                continue  # another configured key may have signed it
            except jwt.ExpiredSignatureError:
                raise unauthenticated("the token has expired") from None
            except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
                raise unauthenticated("the token was not issued for this API") from None
            except jwt.PyJWTError:
                failure = "the token is malformed or incomplete"
                break
        if not tried:
            raise unauthenticated("no key is configured for this token")
        raise unauthenticated(failure)

    def _check_lifetime(self, payload: dict[str, Any]) -> None:
        """A stolen token is good until it expires: one that lives longer than the configured maximum (a token
        expiring in 9999 was accepted) is refused, whether its `iat` says so or its `exp` is simply too far."""
        try:
            expires, issued = float(payload["exp"]), float(payload["iat"])
        except (KeyError, TypeError, ValueError):
            raise unauthenticated("the token is malformed or incomplete") from None
        limit = self.max_lifetime + self.leeway
        if expires - issued > limit or expires - time.time() > limit:
            raise unauthenticated(f"the token lives longer than this API accepts "
                                  f"({self.max_lifetime / 60:g} minutes at most)")

    @staticmethod
    def _claims(payload: dict[str, Any]) -> Claims:
        subject = payload.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 128:
            raise unauthenticated("the token subject is not valid")
        scopes = payload.get("scope", payload.get("scp"))
        if isinstance(scopes, str):
            scopes = tuple(scopes.split())
        elif isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
            scopes = tuple(scopes)
        elif scopes is not None:
            raise unauthenticated("the token scope claim is not valid")
        return Claims(subject, float(payload["exp"]), scopes)


def _then(first: list, more: Callable[[], list]):
    """`first`, then `more()` computed only if the caller gets that far (the IdP is asked only when needed)."""
    yield from first
    yield from more()


def credential_key(authorization: str | None, api_key: str | None) -> str:
    """The failure count's key of the credential presented (a digest): what is checked before verifying it, so
    without decoding the token (`failure_keys` adds its claimed subject, for credentials that failed)."""
    raw = f"{authorization or ''}\n{api_key or ''}"
    return "credential:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def failure_keys(authorization: str | None, api_key: str | None) -> list[str]:
    """What a failed authentication is counted against: the credential presented (a digest) and, when it names
    one, the subject it claims (a token's unverified `sub`). Never the subject's valid requests: these buckets are
    consulted only for credentials that fail."""
    keys = [credential_key(authorization, api_key)]
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        try:
            subject = jwt.decode(value.strip(), options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError:
            subject = None
        if isinstance(subject, str) and 0 < len(subject) <= 128:
            keys.append("subject:" + subject)
    return keys


def issue_dev_token(secret: str, issuer: str, audience: str, subject: str, minutes: int) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + minutes * 60,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")


def credentials(authorization: str | None, api_key_header: str | None) -> tuple[str, str]:
    """('bearer', token) or ('apikey', key), or a 401."""
    presented = []
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "apikey") or not value.strip():
            raise unauthenticated("use `Authorization: Bearer <token>` or `Authorization: ApiKey <key>`")
        presented.append((scheme, value.strip()))
    if api_key_header:
        presented.append(("apikey", api_key_header.strip()))
    if not presented:
        raise unauthenticated("credentials are required")
    if len(presented) > 1:
        raise unauthenticated("send one credential, not two")
    return presented[0]


class Authenticator:
    """Turns credentials into an `Actor`, asking compliance only when its short caches do not know the answer."""

    def __init__(self, settings: GatewaySettings, environment: str):
        hs256 = None
        if environment == "development":
            hs256 = settings.jwt_dev_secret or secrets.token_urlsafe(32)
        self.settings = settings
        self.dev_secret = hs256
        keys = load_pem_keys(settings.jwt_public_keys) + load_jwks(settings.jwks_file)
        remote = None
        if settings.jwks_url or settings.jwt_oidc_discovery:
            remote = RemoteKeys(settings.jwks_url, issuer=settings.jwt_issuer, lifespan=settings.jwks_cache_seconds,
                                refetch=settings.jwks_refetch_seconds, timeout=settings.jwks_timeout,
                                production=environment == "production")
        self.verifier = TokenVerifier(keys, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway,
                                      hs256, settings.token_cache_size, settings.jwt_max_lifetime_minutes * 60,
                                      remote)
        self.bootstrap_admins = frozenset(name.strip() for name in settings.bootstrap_admins.split(",") if name.strip())
        self._actors: TtlCache[Actor] = TtlCache(50_000)
        self._resolving: dict[tuple, Event] = {}  # subjects whose roles a request is reading (once, not each)
        self._keys: TtlCache[Actor] = TtlCache(10_000)

    def authenticate(self, authorization: str | None, api_key: str | None, rpc,
                     directory: Callable[[], OrgIndex]) -> Actor:
        """`rpc` is an RPC caller without an actor (the gateway itself asks compliance about keys);
        `directory()` gives the org index of the gateway's read model."""
        scheme, value = credentials(authorization, api_key)
        if scheme == "bearer":
            return self._person(self.verifier.verify(value), directory)
        return self._client(value, rpc)

    def _person(self, claims: Claims, directory: Callable[[], OrgIndex]) -> Actor:
        key = (claims.subject, claims.scopes)
        actor = self._actors.get(key)
        if actor is not None:
            return actor
        resolving = self._resolving.get(key)
        if resolving is not None:  # a request of the same subject is reading the directory: its answer will do
            resolving.wait()
            actor = self._actors.get(key)
            if actor is not None:
                return actor
        self._resolving[key] = resolved = Event()
        try:
            return self._resolve(claims, key, directory)
        finally:
            if self._resolving.get(key) is resolved:
                del self._resolving[key]
            resolved.send()

    def _resolve(self, claims: Claims, key: tuple, directory: Callable[[], OrgIndex]) -> Actor:
        index = directory()
        roles = directory_roles(index, claims.subject, claims.subject in self.bootstrap_admins)
        if roles is None:
            raise unauthenticated("the token subject is not an active member of the directory")
        person = index.person(claims.subject)
        try:
            actor = Actor(subject=claims.subject, kind="person", roles=roles,
                          scopes=person_scopes(roles, claims.scopes),
                          org_unit=person.org_unit_id if person is not None else None)
        except ValidationError:
            raise unauthenticated("the token subject has no usable directory entry") from None
        self._actors.put(key, actor, self.settings.actor_cache_seconds)
        return actor

    def _client(self, api_key: str, rpc) -> Actor:
        if len(api_key) > 256:
            raise unauthenticated("the API key is not valid")
        digest = hashlib.sha256(api_key.encode()).digest()
        actor = self._keys.get(digest)
        if actor is not None:
            return actor
        entry = _ask(rpc, "compliance.authenticate_api_key", {"api_key": api_key}, "the API key")
        try:
            actor = Actor(subject=str(entry["client_id"]), kind="client", scopes=tuple(entry.get("scopes") or ()))
        except (KeyError, ValidationError, TypeError):
            raise unauthenticated("the API key is not valid") from None
        self._keys.put(digest, actor, self.settings.api_key_cache_seconds)
        return actor


def directory_roles(index: OrgIndex, subject: str, bootstrap_admin: bool = False) -> tuple[str, ...] | None:
    """A subject's roles: `employee` for a current member, `manager` when people report to them, and their grants
    (a bootstrap administrator is an admin before any grant exists). None when the directory does not know them
    or they have left."""
    person = index.person(subject)
    grants = index.grants_of(subject)
    if person is None and not grants and not bootstrap_admin:
        return None
    if person is not None and person.status == PersonStatus.TERMINATED:
        return None
    roles = {str(grant.role.value) for grant in grants} | ({"admin"} if bootstrap_admin else set())
    if person is not None:
        roles.add("employee")
        if index.reporting_line(subject):
            roles.add("manager")
    return tuple(sorted(roles))


def _ask(rpc, target: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        entry = rpc.call(target, payload)
    except ServiceError as error:
        if error.status in (503, 504):
            raise from_service_error(error) from None
        if error.status == 403 and error.extra.get("reason") == "dpa-lapsed":
            raise from_service_error(error) from None  # the client must renew its agreement: say so (issue 8)
        if error.status >= 500:
            raise
        raise unauthenticated(f"{what} is not valid") from None
    if not isinstance(entry, dict):
        raise unauthenticated(f"{what} is not valid")
    return entry
