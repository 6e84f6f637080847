"""The hash-chained audit log: sealing events into entries, signed checkpoints, verification.

Format (version 1, fixed: every stored hash depends on it):

- body  = canonical JSON (see canonical.py) of {"sequence", "event_id", "type", "source", "actor",
          "subject", "time", "data"} plus "before" and "after" when they are not None.
- hash  = lowercase hex SHA-256 of ascii(previous entry's hex hash) || body; the first entry's
          previous hash is GENESIS_HASH (64 zeros). Sequence numbers start at 1 and have no gaps.
- checkpoint signature = hex HMAC-SHA256(key, canonical JSON of {"hash", "key_id", "sequence", "time"}).

The chain proves order and content; only signed checkpoints (made with a key the database does not
hold) detect an attacker who rewrites the whole tail, or truncation of the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from compliance.domain.canonical import encode_normalised, normalise, utc_text
from compliance.domain.errors import InvalidInput

GENESIS_HASH = "0" * 64
MIN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An event to be recorded, as received (CloudEvents envelope fields plus before/after)."""

    event_id: str
    type: str
    source: str
    time: datetime
    actor: str | None = None
    subject: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


class ChainLink(Protocol):
    """What verification reads of a stored entry: an AuditEntry, or a row rebuilt without parsing its JSON."""

    @property
    def sequence(self) -> int: ...

    @property
    def prev_hash(self) -> str: ...

    @property
    def hash(self) -> str: ...

    def body(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A sealed entry. `data`, `before` and `after` hold JSON-native values (canonical.normalise)."""

    sequence: int
    event_id: str
    type: str
    source: str
    actor: str | None
    subject: str | None
    time: datetime
    data: Mapping[str, Any]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    prev_hash: str
    hash: str

    def body(self) -> bytes:
        """The canonical bytes this entry's hash covers."""
        fields: dict[str, Any] = {
            "sequence": self.sequence,
            "event_id": self.event_id,
            "type": self.type,
            "source": self.source,
            "actor": self.actor,
            "subject": self.subject,
            "time": utc_text(self.time),
            "data": self.data,
        }
        if self.before is not None:
            fields["before"] = self.before
        if self.after is not None:
            fields["after"] = self.after
        return encode_normalised(fields)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sealed position: where the next entry links to, or a trusted anchor to verify from."""

    sequence: int = 0
    hash: str = GENESIS_HASH


GENESIS = ChainHead()


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def seal(head: ChainHead, event: AuditEvent) -> AuditEntry:
    """The entry recording `event` right after `head`."""
    for name in ("event_id", "type", "source"):
        if not getattr(event, name):
            raise InvalidInput.at((name,), f"{name} is required")
    if event.time.tzinfo is None:
        raise InvalidInput.at(("time",), "time must be timezone-aware")
    if not isinstance(event.data, Mapping):
        raise InvalidInput.at(("data",), "data must be an object")
    draft = AuditEntry(
        sequence=head.sequence + 1,
        event_id=event.event_id,
        type=event.type,
        source=event.source,
        actor=event.actor,
        subject=event.subject,
        time=event.time,
        data=normalise(event.data, ("data",)),
        before=None if event.before is None else normalise(event.before, ("before",)),
        after=None if event.after is None else normalise(event.after, ("after",)),
        prev_hash=head.hash,
        hash="",
    )
    try:
        body = draft.body()
    except UnicodeEncodeError:
        raise InvalidInput("text must not contain unpaired surrogates") from None
    return replace(draft, hash=chain_hash(head.hash, body))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    sequence: int
    hash: str
    time: datetime
    key_id: str
    signature: str


def _checkpoint_message(sequence: int, entry_hash: str, time: datetime, key_id: str) -> bytes:
    return encode_normalised({"hash": entry_hash, "key_id": key_id, "sequence": sequence, "time": utc_text(time)})


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInput.at(("key",), f"checkpoint key must be at least {MIN_KEY_BYTES} bytes")


def sign_checkpoint(head: ChainHead, at: datetime, key: bytes, key_id: str) -> Checkpoint:
    """A checkpoint over `head`, signed with `key` (from the environment; the database never holds it)."""
    _check_key(key)
    if head.sequence < 1:
        raise InvalidInput.at(("sequence",), "cannot checkpoint an empty log")
    message = _checkpoint_message(head.sequence, head.hash, at, key_id)
    return Checkpoint(head.sequence, head.hash, at, key_id, hmac.new(key, message, hashlib.sha256).hexdigest())


def checkpoint_is_authentic(checkpoint: Checkpoint, keys: Mapping[str, bytes]) -> bool:
    """True when the signature matches under the key named by `key_id` (keys can rotate)."""
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    message = _checkpoint_message(checkpoint.sequence, checkpoint.hash, checkpoint.time, checkpoint.key_id)
    return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), checkpoint.signature)


def sign_anchor(anchor: ChainHead, at: datetime, key: bytes, key_id: str) -> Checkpoint:
    """The retention anchor (the last purged entry), signed: verification starts after it, so an anchor moved by
    hand (to skip an edited entry) must not verify. Signed over a message distinct from a checkpoint's."""
    _check_key(key)
    message = b"anchor:" + _checkpoint_message(anchor.sequence, anchor.hash, at, key_id)
    return Checkpoint(anchor.sequence, anchor.hash, at, key_id, hmac.new(key, message, hashlib.sha256).hexdigest())


def anchor_is_authentic(anchor: Checkpoint, keys: Mapping[str, bytes]) -> bool:
    key = keys.get(anchor.key_id)
    if key is None:
        return False
    message = b"anchor:" + _checkpoint_message(anchor.sequence, anchor.hash, anchor.time, anchor.key_id)
    return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), anchor.signature)


# -- the witness: checkpoints kept where the database's owner cannot rewrite them ---------------------------------

WITNESS_KINDS = ("checkpoint", "anchor")


@dataclass(frozen=True, slots=True)
class WitnessRecord:
    kind: str  # "checkpoint" (the head at a moment) or "anchor" (where the retained log starts)
    checkpoint: Checkpoint


def witness_line(record: WitnessRecord) -> str:
    """One line of the append-only witness: canonical JSON, self-contained (verifiable with the key alone)."""
    c = record.checkpoint
    return encode_normalised({"hash": c.hash, "key_id": c.key_id, "kind": record.kind, "sequence": c.sequence,
                              "signature": c.signature, "time": utc_text(c.time)}).decode("utf-8")


def parse_witness(lines: Iterable[str], keys: Mapping[str, bytes]) -> tuple[list[WitnessRecord], int]:
    """The authentic records of a witness (in order) and how many lines were not (unreadable, or not signed
    with a known key: never trusted, counted)."""
    records, rejected = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            checkpoint = Checkpoint(int(raw["sequence"]), str(raw["hash"]),
                                    datetime.fromisoformat(str(raw["time"]).replace("Z", "+00:00")),
                                    str(raw["key_id"]), str(raw["signature"]))
            kind = str(raw["kind"])
        except (ValueError, KeyError, TypeError):
            rejected += 1
            continue
        authentic = (checkpoint_is_authentic(checkpoint, keys) if kind == "checkpoint"
                     else anchor_is_authentic(checkpoint, keys) if kind == "anchor" else False)
        if authentic:
            records.append(WitnessRecord(kind, checkpoint))
        else:
            rejected += 1
    return records, rejected


class AuditChain:
    """Appends events after a head and cuts a signed checkpoint every `checkpoint_every` entries.

    The caller persists each entry (and checkpoint) in the same transaction that advances the head,
    with one writer at a time: the chain is a single sequence.
    """

    def __init__(self, head: ChainHead, *, key: bytes, key_id: str, checkpoint_every: int) -> None:
        _check_key(key)
        if checkpoint_every < 1:
            raise InvalidInput.at(("checkpoint_every",), "must be at least 1")
        self._head = head
        self._key = key
        self._key_id = key_id
        self._every = checkpoint_every

    @property
    def head(self) -> ChainHead:
        return self._head

    def append(self, event: AuditEvent, *, now: datetime) -> tuple[AuditEntry, Checkpoint | None]:
        entry = seal(self._head, event)
        self._head = ChainHead(entry.sequence, entry.hash)
        due = entry.sequence % self._every == 0
        return entry, (self.checkpoint(now) if due else None)

    def checkpoint(self, now: datetime) -> Checkpoint:
        """A checkpoint at the current head, on demand (e.g. before a backup or on shutdown)."""
        return sign_checkpoint(self._head, now, self._key, self._key_id)


class BreakReason(StrEnum):
    SEQUENCE_GAP = "sequence_gap"  # missing, duplicated or reordered entries
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # the link to the previous entry is wrong
    HASH_MISMATCH = "hash_mismatch"  # the entry's content does not match its hash
    UNREADABLE = "unreadable"  # the stored values have no canonical form (not JSON-native)
    CHECKPOINT_SIGNATURE = "checkpoint_signature"  # a checkpoint is forged or signed with an unknown key
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the entry at a checkpoint is not the one that was signed
    TRUNCATED = "truncated"  # the log ends before a signed checkpoint
    ANCHOR_SIGNATURE = "anchor_signature"  # the retention anchor is not signed with a known key
    ANCHOR_UNWITNESSED = "anchor_unwitnessed"  # the anchor differs from the newest anchor the witness holds


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first sequence number that cannot be verified, and why. Everything before it is intact."""

    sequence: int
    reason: BreakReason
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    verified: int  # entries checked and found intact
    head: ChainHead  # the last intact entry (the anchor when none)
    checkpoints_matched: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class ChainVerifier:
    """Streaming verification: feed entries in order, in as many batches as convenient, then finish.

    Feeding in batches lets a green-threaded caller yield between them; memory stays constant.
    """

    def __init__(
        self,
        *,
        anchor: ChainHead = GENESIS,
        checkpoints: Iterable[Checkpoint] = (),
        keys: Mapping[str, bytes] | None = None,
    ) -> None:
        self._head = anchor
        self._verified = 0
        self._matched = 0
        self._break: ChainBreak | None = None
        by_sequence: dict[int, list[Checkpoint]] = defaultdict(list)
        for checkpoint in checkpoints:
            if checkpoint.sequence > anchor.sequence:
                by_sequence[checkpoint.sequence].append(checkpoint)
        if by_sequence and keys is None:
            raise InvalidInput.at(("keys",), "checkpoint keys are required to verify checkpoints")
        self._checkpoints = {
            sequence: [(checkpoint, checkpoint_is_authentic(checkpoint, keys or {})) for checkpoint in found]
            for sequence, found in by_sequence.items()
        }

    def feed(self, entries: Iterable[ChainLink]) -> ChainBreak | None:
        """Verify the next entries; returns the first break (and ignores further input once broken)."""
        if self._break is not None:
            return self._break
        sha256 = hashlib.sha256
        checkpoints = self._checkpoints
        expected = self._head.sequence
        prev = self._head.hash
        verified = self._verified
        found: ChainBreak | None = None
        for entry in entries:
            expected += 1
            if entry.sequence != expected:
                found = ChainBreak(expected, BreakReason.SEQUENCE_GAP, f"expected {expected}, found {entry.sequence}")
                break
            if entry.prev_hash != prev:
                found = ChainBreak(expected, BreakReason.PREV_HASH_MISMATCH, "does not link to the previous entry")
                break
            try:
                body = entry.body()
            except (InvalidInput, TypeError, ValueError, UnicodeEncodeError, AttributeError) as error:
                found = ChainBreak(expected, BreakReason.UNREADABLE, str(error))
                break
            entry_hash = entry.hash
            if sha256(prev.encode("ascii") + body).hexdigest() != entry_hash:
                found = ChainBreak(expected, BreakReason.HASH_MISMATCH, "content does not match the stored hash")
                break
            if expected in checkpoints:
                found = self._check_checkpoints(expected, entry_hash)
                if found is not None:
                    break
            prev = entry_hash
            verified += 1
        else:
            expected += 1  # keep `expected - 1` as the last intact sequence on both exits
        self._head = ChainHead(expected - 1, prev)
        self._verified = verified
        self._break = found
        return found

    def _check_checkpoints(self, sequence: int, entry_hash: str) -> ChainBreak | None:
        for checkpoint, authentic in self._checkpoints.pop(sequence):
            if not authentic:
                return ChainBreak(sequence, BreakReason.CHECKPOINT_SIGNATURE, f"checkpoint key {checkpoint.key_id!r}")
            if checkpoint.hash != entry_hash:
                return ChainBreak(sequence, BreakReason.CHECKPOINT_MISMATCH, "entry differs from the signed checkpoint")
            self._matched += 1
        return None

    def finish(self) -> VerifyReport:
        """The report; an authentic checkpoint beyond the last entry means the log was truncated."""
        if self._break is None and self._checkpoints:
            beyond = sorted(self._checkpoints.items())
            authentic = [sequence for sequence, found in beyond if any(ok for _, ok in found)]
            if authentic:
                missing = self._head.sequence + 1
                self._break = ChainBreak(
                    missing,
                    BreakReason.TRUNCATED,
                    f"log ends at {missing - 1}, a checkpoint was signed at {authentic[0]}",
                )
            else:
                sequence, found = beyond[0]
                self._break = ChainBreak(
                    sequence, BreakReason.CHECKPOINT_SIGNATURE, f"checkpoint key {found[0][0].key_id!r}"
                )
        return VerifyReport(self._verified, self._head, self._matched, self._break)


def verify(
    entries: Iterable[AuditEntry],
    *,
    anchor: ChainHead = GENESIS,
    checkpoints: Iterable[Checkpoint] = (),
    keys: Mapping[str, bytes] | None = None,
) -> VerifyReport:
    """Walk the chain from `anchor` (genesis by default); any iterable works, including a row stream."""
    verifier = ChainVerifier(anchor=anchor, checkpoints=checkpoints, keys=keys)
    verifier.feed(entries)
    return verifier.finish()
