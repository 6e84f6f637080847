"""Retention: when a record is kept, anonymized or purged, legal holds, and anonymization helpers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from compliance.domain.errors import InvalidInput
from compliance.domain.org import Person

# Audit entries are hash-chained: rewriting one to anonymize it would break every later hash, so
# the audit log can only lose its oldest entries (a prefix, re-anchored at a checkpoint).
AUDIT_RECORD_TYPE = "audit"
MIN_PSEUDONYM_KEY_BYTES = 32


class RetentionBasis(StrEnum):
    CREATED = "created"  # the clock starts when the record is created
    ENDED = "ended"  # ... when the relationship ends (employment, an appeal's closure)


class RetentionAction(StrEnum):
    KEEP = "keep"
    ANONYMIZE = "anonymize"
    PURGE = "purge"


class RetentionPolicy(BaseModel):
    """For one record type: anonymize and/or purge so many years after the basis date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: RetentionBasis = RetentionBasis.CREATED
    anonymize_after_years: int | None = Field(default=None, ge=0, le=100)
    purge_after_years: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> RetentionPolicy:
        if self.anonymize_after_years is None and self.purge_after_years is None:
            raise ValueError("set anonymize_after_years, purge_after_years or both")
        if (
            self.anonymize_after_years is not None
            and self.purge_after_years is not None
            and self.purge_after_years < self.anonymize_after_years
        ):
            raise ValueError("purge_after_years must not be shorter than anonymize_after_years")
        return self


@dataclass(frozen=True, slots=True)
class RetainedRecord:
    """What retention needs to know about any stored record, in any service."""

    type: str
    id: str
    subject: str | None  # the person the record is about
    created_at: datetime
    ended_at: datetime | None = None
    anonymized: bool = False


@dataclass(frozen=True, slots=True)
class LegalHold:
    """Freezes matching records against purge, anonymization and erasure until released.

    A record matches when every criterion that is set matches; at least one must be set.
    """

    id: str
    reason: str
    placed_at: datetime
    subject: str | None = None
    record_type: str | None = None
    record_ids: frozenset[str] = frozenset()
    released_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.subject is None and self.record_type is None and not self.record_ids:
            raise InvalidInput.at(("subject",), "a legal hold needs a subject, a record type or record ids")
        if not self.reason.strip():
            raise InvalidInput.at(("reason",), "a legal hold needs a reason")

    def active(self, now: datetime) -> bool:
        return self.placed_at <= now and (self.released_at is None or now < self.released_at)

    def covers(self, record: RetainedRecord, now: datetime) -> bool:
        return (
            self.active(now)
            and (self.subject is None or self.subject == record.subject)
            and (self.record_type is None or self.record_type == record.type)
            and (not self.record_ids or record.id in self.record_ids)
        )


def holds_on_subject(subject: str, holds: Iterable[LegalHold], now: datetime) -> list[LegalHold]:
    """Active holds naming this person: what blocks (part of) an erasure request."""
    return [hold for hold in holds if hold.subject == subject and hold.active(now)]


@dataclass(frozen=True, slots=True)
class RetentionDecision:
    action: RetentionAction
    reason: str
    due_at: datetime | None = None  # when the next action falls due, if any


def add_years(moment: datetime, years: int) -> datetime:
    """Same calendar day `years` later; 29 February becomes 28 February in common years."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def decide_retention(
    record: RetainedRecord,
    policies: Mapping[str, RetentionPolicy],
    holds: Iterable[LegalHold],
    now: datetime,
) -> RetentionDecision:
    """What to do with `record` now: keep, anonymize or purge, and why."""
    for hold in holds:
        if hold.covers(record, now):
            return RetentionDecision(RetentionAction.KEEP, f"legal hold {hold.id}: {hold.reason}")
    policy = policies.get(record.type)
    if policy is None:
        return RetentionDecision(RetentionAction.KEEP, f"no retention policy for {record.type}")
    if policy.basis is RetentionBasis.ENDED:
        if record.ended_at is None:
            return RetentionDecision(RetentionAction.KEEP, "still in use: the retention clock starts when it ends")
        start = record.ended_at
    else:
        start = record.created_at

    purge_at = None if policy.purge_after_years is None else add_years(start, policy.purge_after_years)
    anonymize_at = None if policy.anonymize_after_years is None else add_years(start, policy.anonymize_after_years)
    if purge_at is not None and now >= purge_at:
        return RetentionDecision(
            RetentionAction.PURGE, f"retention of {policy.purge_after_years} years ended {purge_at:%Y-%m-%d}", purge_at
        )
    if anonymize_at is not None and not record.anonymized:
        if now >= anonymize_at:
            return RetentionDecision(
                RetentionAction.ANONYMIZE,
                f"identifiable retention of {policy.anonymize_after_years} years ended {anonymize_at:%Y-%m-%d}",
                anonymize_at,
            )
        return RetentionDecision(RetentionAction.KEEP, f"anonymize on {anonymize_at:%Y-%m-%d}", anonymize_at)
    if purge_at is not None:
        return RetentionDecision(RetentionAction.KEEP, f"purge on {purge_at:%Y-%m-%d}", purge_at)
    return RetentionDecision(RetentionAction.KEEP, "anonymized; kept without a time limit")


# Anonymization -------------------------------------------------------------------------------


def pseudonym(key: bytes, value: str, *, prefix: str = "anon_") -> str:
    """A stable pseudonym: the same value and key always give the same token; without the key it
    cannot be recomputed. Note: anyone holding the key can test guesses, so under GDPR this is
    pseudonymisation; the key must be kept apart from the data (and destroyed to make it final)."""
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise InvalidInput.at(("key",), f"pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
    return prefix + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def _mask(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[len(text) - keep_end :]


def mask_email(email: str) -> str:
    """ "zhang.san@example.com" → "z********@example.com" (display masking, not anonymization)."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "*" * len(email)  # not an address: nothing is safe to show
    return _mask(local, 1, 0) + "@" + domain


def mask_phone(phone: str) -> str:
    """ "+8613812345678" → "+86*******5678", "13812345678" → "138****5678": first three and last four kept."""
    return _mask(phone, 3, 4)


def anonymize_person(person: Person, key: bytes) -> Person:
    """The directory record with identity removed and analytic fields (unit, family, grade) kept.

    The employee number becomes its pseudonym, so records other services anonymized with the same key
    still join up. Email, phone and location are dropped (location narrows people down too well) and
    so is the manager link: the manager is someone else, still identifiable.
    """
    token = pseudonym(key, person.employee_number)
    return replace(person, employee_number=token, name=token, email=None, phone=None, location=None, manager_id=None)
