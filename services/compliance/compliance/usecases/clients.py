"""Third-party API clients: registry, API keys (salted scrypt), and the verification the gateway calls.

Verification results are cached in process for `api_key_cache_seconds` (scrypt is slow on purpose), but the
client and key rows are read on every call, so revocation and an expired agreement take effect at once.
"""
from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime

from chassis.access import Resource
from chassis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, Unprocessable
from chassis.ids import new_id
from compliance.domain import clients as domain
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.models import ApiKeyRow, ClientRow
from compliance.repositories import ComplianceUnitOfWork
from compliance.usecases.common import dumps, loads
from contracts.actor import Actor
from contracts.compliance import (
    ApiKeyCreated,
    ApiKeyIssued,
    AuthenticateApiKey,
    ClientDpaLapsed,
    ClientIdentity,
    ClientRef,
    ClientRegistered,
    ClientRevoked,
    ClientUpdated,
    ClientView,
    DpaTerms,
    IssueApiKey,
    RegisterClient,
    RevokeApiKey,
    UpdateClient,
)


def _client(row: ClientRow) -> domain.Client:
    return domain.Client(row.client_id, row.name, frozenset(loads(row.scopes, [])), tuple(loads(row.event_patterns,
                         [])), row.dpa_ref, row.dpa_expires, domain.ClientStatus(row.status))


def _view(row: ClientRow, key_ids: list[str]) -> ClientView:
    return ClientView(client_id=row.client_id, name=row.name, scopes=loads(row.scopes, []),
                      event_patterns=loads(row.event_patterns, []), dpa_ref=row.dpa_ref,
                      dpa_expires=row.dpa_expires.isoformat(), status=row.status, key_ids=key_ids,
                      dpa=DpaTerms(ref=row.dpa_ref, expires_on=row.dpa_expires),
                      dpa_lapsed=domain.dpa_lapsed(row.dpa_expires, datetime.now(UTC)))


def _agreement(command: RegisterClient) -> tuple[str, date, str]:
    """The agreement of a registration, from `dpa` or the flat fields: (ref, last day, the field naming it)."""
    if command.dpa is not None:
        return command.dpa.ref, command.dpa.expires_on, "dpa.expires_on"
    if command.dpa_ref is None:
        raise InvalidInput.field("dpa_ref", "a client needs a data-processing agreement (dpa or dpa_ref)")
    if command.dpa_expires is None:
        raise InvalidInput.field("dpa_expires", "the agreement's last day is required (dpa.expires_on or "
                                 "dpa_expires)")
    return command.dpa_ref, command.dpa_expires.astimezone(UTC).date(), "dpa_expires"


def _refuse_lapsed(expires_on: date, ref: str, field: str, today: date) -> None:
    if today > expires_on:
        message = f"the data-processing agreement {ref} expired on {expires_on}; renew it first"
        raise Unprocessable(message, errors=[{"field": field, "message": message}])


def register_client(uow: ComplianceUnitOfWork, actor: Actor | None, command: RegisterClient) -> ClientView:
    with uow:
        uow.access.require(actor, "client.manage", Resource("client"))
        dpa_ref, dpa_expires, field = _agreement(command)
        client_id = new_id().replace("-", "")[:16]  # short: it is part of every API key the client is given
        client = domain.Client(client_id, command.name, frozenset(command.scopes), tuple(command.event_patterns),
                               dpa_ref, dpa_expires)
        domain.check_scope_areas(client.scopes)
        _refuse_lapsed(client.dpa_expires, client.dpa_ref, field, uow.now().astimezone(UTC).date())
        row = ClientRow(client_id=client.id, name=client.name, scopes=dumps(sorted(client.scopes)),
                        event_patterns=dumps(list(client.event_patterns)), dpa_ref=client.dpa_ref,
                        dpa_expires=client.dpa_expires, status="active", created_at=uow.now())
        uow.clients.add(row)
        uow.publish(ClientRegistered(client_id=row.client_id, name=row.name, scopes=sorted(client.scopes),
                                     event_patterns=list(client.event_patterns), dpa_ref=row.dpa_ref,
                                     dpa=DpaTerms(ref=row.dpa_ref, expires_on=row.dpa_expires)))
        return _view(row, [])


def _load(uow: ComplianceUnitOfWork, actor: Actor | None, client_id: str, *, lock: bool = False) -> ClientRow:
    """The client, for an administrator. Anyone else gets the 404 of a client that does not exist, whether it does
    or not: only administrators know which clients are registered."""
    missing = f"no client {client_id!r}"
    row = uow.clients.get(client_id, lock=lock)
    uow.access.require(actor, "client.manage", Resource("client"), missing=missing)
    if row is None:
        raise NotFound(missing)
    return row


def get_client(uow: ComplianceUnitOfWork, actor: Actor | None, command: ClientRef) -> ClientView:
    with uow:
        row = _load(uow, actor, command.client_id)
        return _view(row, uow.api_keys.live_ids(row.client_id))


def list_clients(uow: ComplianceUnitOfWork, actor: Actor | None) -> list[ClientView]:
    with uow:
        uow.access.require(actor, "client.manage", Resource("client"))
        return [_view(row, uow.api_keys.live_ids(row.client_id)) for row in uow.clients.by_name()]


def update_client(uow: ComplianceUnitOfWork, actor: Actor | None, command: UpdateClient) -> ClientView:
    """Change a client's name, scopes, event patterns or agreement (a renewal, which re-arms the lapse
    announcement); `client.updated` carries the client as it is now. Nothing changed: nothing published."""
    with uow:
        row = _load(uow, actor, command.client_id, lock=True)
        current = _client(row)
        if current.status != domain.ClientStatus.ACTIVE:
            raise Conflict(f"client {row.client_id} is revoked and cannot be changed; register a new client",
                           reason="client-revoked")
        dpa = None
        if command.dpa is not None:
            dpa = command.dpa.ref, command.dpa.expires_on
            refusal = domain.renewal_refusal(current, *dpa, uow.now().astimezone(UTC).date())
            if refusal is not None:
                raise Unprocessable(refusal.message, errors=[{"field": refusal.field, "message": refusal.message}])
        client, changed = domain.updated(
            current, name=command.name, dpa=dpa,
            scopes=None if command.scopes is None else frozenset(command.scopes),
            event_patterns=None if command.event_patterns is None else tuple(command.event_patterns))
        domain.check_scope_areas(client.scopes - current.scopes)  # what is added (one stored earlier still loads)
        if changed:
            row.name, row.scopes = client.name, dumps(sorted(client.scopes))
            row.event_patterns = dumps(list(client.event_patterns))
            row.dpa_ref, row.dpa_expires = client.dpa_ref, client.dpa_expires
            uow.publish(ClientUpdated(client_id=row.client_id, name=row.name, scopes=sorted(client.scopes),
                                      event_patterns=list(client.event_patterns), status=row.status,
                                      dpa=DpaTerms(ref=row.dpa_ref, expires_on=row.dpa_expires), changed=changed))
        return _view(row, uow.api_keys.live_ids(row.client_id))


def announce_lapsed_agreements(uow: ComplianceUnitOfWork) -> int:
    """The deadline sweep: publish `client.dpa_lapsed` once for each active client whose agreement has passed its
    last day (a renewal, a new last day, re-arms it). Returns how many were announced."""
    with uow:
        today = uow.now().astimezone(UTC).date()
        announced = 0
        for row in uow.clients.lapse_unannounced(today):
            client = _client(row)
            if not domain.lapse_due(client, row.dpa_lapse_announced_for, today):
                continue
            row.dpa_lapse_announced_for = row.dpa_expires
            uow.publish(ClientDpaLapsed(client_id=row.client_id, name=row.name, status=row.status,
                                        dpa=DpaTerms(ref=row.dpa_ref, expires_on=row.dpa_expires)))
            announced += 1
    return announced


def issue_api_key(uow: ComplianceUnitOfWork, actor: Actor | None, command: IssueApiKey) -> ApiKeyIssued:
    with uow:
        uow.access.require(actor, "client.manage", Resource("client"))
        row = uow.clients.get(command.client_id)
        if row is None:
            raise InvalidInput.field("client_id", f"no client {command.client_id!r}")
        if row.status != "active":
            raise InvalidInput.field("client_id", "the client is revoked")
        _refuse_lapsed(row.dpa_expires, row.dpa_ref, "dpa.expires_on", uow.now().astimezone(UTC).date())
        plaintext, record = domain.issue_api_key(row.client_id, command.environment)
        uow.api_keys.add(ApiKeyRow(key_id=record.key_id, client_id=row.client_id, environment=record.environment,
                                  salt=record.salt, secret_hash=record.secret_hash, scheme=record.scheme,
                                  created_at=uow.now()))
        uow.publish(ApiKeyCreated(client_id=row.client_id, key_id=record.key_id))
        return ApiKeyIssued(client_id=row.client_id, key_id=record.key_id, api_key=plaintext)


def revoke_client(uow: ComplianceUnitOfWork, actor: Actor | None, command: ClientRef) -> ClientView:
    with uow:
        row = _load(uow, actor, command.client_id, lock=True)
        if row.status != "revoked":
            row.status, row.revoked_at = "revoked", uow.now()
            uow.publish(ClientRevoked(client_id=row.client_id))
        return _view(row, uow.api_keys.live_ids(row.client_id))


def revoke_api_key(uow: ComplianceUnitOfWork, actor: Actor | None, command: RevokeApiKey) -> ClientView:
    with uow:
        missing = f"no API key {command.key_id!r}"
        key = uow.api_keys.get(command.key_id, lock=True)
        uow.access.require(actor, "client.manage", Resource("client"), missing=missing)
        if key is None:
            raise NotFound(missing)
        if key.revoked_at is None:
            key.revoked_at = uow.now()
            uow.publish(ClientRevoked(client_id=key.client_id, key_id=key.key_id))
        row = uow.clients.get(key.client_id)
        if row is None:  # a key's client is never deleted (revoked at most)
            raise NotFound(f"no client {key.client_id!r}")
        return _view(row, uow.api_keys.live_ids(row.client_id))


class VerificationCache:
    """(key id, SHA-256 of the presented key) -> verified-until; only successful verifications are kept."""

    def __init__(self, seconds: float, size: int = 10_000):
        self.seconds = seconds
        self.size = size
        self._until: dict[tuple[str, str], float] = {}

    def fresh(self, key_id: str, digest: str) -> bool:
        until = self._until.get((key_id, digest))
        return until is not None and until > time.monotonic()

    def remember(self, key_id: str, digest: str) -> None:
        if self.seconds <= 0:
            return
        if len(self._until) >= self.size:
            self._until.clear()
        self._until[(key_id, digest)] = time.monotonic() + self.seconds


def authenticate_api_key(uow: ComplianceUnitOfWork, command: AuthenticateApiKey, cache: VerificationCache
                         ) -> ClientIdentity:
    try:
        presented = domain.parse_api_key(command.api_key)
    except DomainInvalidInput:
        raise Unauthenticated("not a valid API key") from None
    digest = hashlib.sha256(command.api_key.strip().encode()).hexdigest()
    with uow:
        key = uow.api_keys.get(presented.key_id)
        if key is None:
            raise Unauthenticated("not a valid API key")
        if not cache.fresh(key.key_id, digest):
            record = domain.ApiKeyRecord(key.key_id, key.client_id, key.environment, key.salt, key.secret_hash,
                                         key.scheme)
            if not domain.verify_api_key(presented, record):
                raise Unauthenticated("not a valid API key")
            cache.remember(key.key_id, digest)
        if key.revoked_at is not None:
            raise Forbidden(f"API key {key.key_id} is revoked")
        row = uow.clients.get(key.client_id)
        if row is None:
            raise Unauthenticated("not a valid API key")
        client = _client(row)
        if client.status != domain.ClientStatus.ACTIVE:
            raise Forbidden(f"client {client.id} is revoked")
        if domain.dpa_lapsed(client.dpa_expires, datetime.now(UTC)):
            # a distinct, named 403 (the gateway passes it on): the client must renew, not retry its key
            message = f"the data-processing agreement {client.dpa_ref} expired on {client.dpa_expires}"
            raise Forbidden(message, errors=[{"field": "dpa.expires_on", "message": message}],
                            reason="dpa-lapsed", dpa_ref=client.dpa_ref, dpa_expires_on=client.dpa_expires.isoformat())
        return ClientIdentity(client_id=client.id, name=client.name, scopes=sorted(client.scopes),
                              event_patterns=list(client.event_patterns), key_id=key.key_id)
