"""Two-way negotiation of goal changes between a goal's owner and their manager.

A thread is an append-only list of immutable entries. Its state machine, per proposal:

    propose ──► OPEN ──accept (other party)──► ACCEPTED   (yields a ChangeSet)
                 │ ├──reject (other party)───► REJECTED
                 │ ├──withdraw (proposer)────► WITHDRAWN
                 │ └──counter (other party)──► COUNTERED, and the counter-proposal is OPEN

At most one proposal is open per thread. Every answer names the proposal it answers, so acting
on a proposal that changed meanwhile is a Conflict rather than a silent surprise. A proposal may
change several goals at once (weights only make sense together, since a person's weights total
100); an accepted one yields all its field changes as one ChangeSet to apply atomically. Before
applying, the service checks the cycle allows it (``cycles.check_change(state, Change.DEFINE,
via_accepted_proposal=True)``) and, if weights change, re-checks the person's weight total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from goals.domain.decimals import HUNDRED, ZERO, fits_places, to_decimal
from goals.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound

MAX_TEXT_LENGTH = 2000


class Party(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"


class Action(StrEnum):
    PROPOSE = "propose"
    COUNTER = "counter"
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"


class ProposalState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    COUNTERED = "countered"


class ChangeField(StrEnum):
    TARGET = "target"
    WEIGHT = "weight"
    DEADLINE = "deadline"
    RESOURCES = "resources"


ChangeValue = Decimal | date | tuple[str, ...]


@dataclass(frozen=True)
class FieldChange:
    """One proposed change. ``goal_id`` is the goal (or, for a target, the key result) it applies to.

    Values: target -> Decimal; weight -> Decimal in (0, 100] with 2 decimals; deadline -> date;
    resources -> non-empty tuple of non-blank descriptions of what the owner needs.
    """

    goal_id: str
    field: ChangeField
    value: ChangeValue

    def __post_init__(self) -> None:
        kind = ChangeField(self.field)
        object.__setattr__(self, "field", kind)
        where = f"changes.{self.goal_id}.{kind.value}"
        if kind is ChangeField.TARGET:
            object.__setattr__(self, "value", to_decimal(self.value, where))
        elif kind is ChangeField.WEIGHT:
            weight = to_decimal(self.value, where)
            if not ZERO < weight <= HUNDRED or not fits_places(weight, 2):
                raise InvalidInput(where, "weight must be in (0, 100] with at most 2 decimals")
            object.__setattr__(self, "value", weight)
        elif kind is ChangeField.DEADLINE:
            if isinstance(self.value, datetime) or not isinstance(self.value, date):
                raise InvalidInput(where, "deadline must be a date")
        else:
            if isinstance(self.value, str) or not isinstance(self.value, Iterable):
                raise InvalidInput(where, "resources must be a list of descriptions")
            items = tuple(self.value)
            if not items or not all(isinstance(i, str) and i.strip() for i in items):
                raise InvalidInput(where, "resources must be a non-empty list of non-blank descriptions")
            object.__setattr__(self, "value", items)


@dataclass(frozen=True)
class Entry:
    """One immutable history entry. ``text`` is the rationale of a proposal or the answer's comment.
    ``replaces`` is the proposal a counter-proposal replaces."""

    seq: int
    action: Action
    proposal_id: str
    actor_id: str
    party: Party
    at: datetime
    text: str = ""
    changes: tuple[FieldChange, ...] = ()
    replaces: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """The field changes of an accepted proposal, to apply in one transaction."""

    proposal_id: str
    changes: tuple[FieldChange, ...]

    def goal_ids(self) -> list[str]:
        return sorted({c.goal_id for c in self.changes})

    def for_goal(self, goal_id: str) -> dict[ChangeField, ChangeValue]:
        return {c.field: c.value for c in self.changes if c.goal_id == goal_id}

    def weights(self) -> dict[str, Decimal]:
        """Goal id -> new weight; merge over the current weights and run weights.check_weights."""
        return {
            c.goal_id: c.value for c in self.changes if c.field is ChangeField.WEIGHT and isinstance(c.value, Decimal)
        }


class Recorded(Protocol):
    """What replaying needs of an entry: an `Entry`, or a stored row's (action, proposal_id)."""

    @property
    def action(self) -> str: ...
    @property
    def proposal_id(self) -> str: ...


R = TypeVar("R", bound=Recorded)


@dataclass(frozen=True)
class _Replay(Generic[R]):
    states: dict[str, ProposalState]
    proposals: dict[str, R]
    open: R | None


def _replay(entries: tuple[R, ...]) -> _Replay[R]:
    states: dict[str, ProposalState] = {}
    proposals: dict[str, R] = {}
    open_entry: R | None = None
    for entry in entries:
        if entry.action in (Action.PROPOSE, Action.COUNTER):
            if open_entry is not None:
                states[open_entry.proposal_id] = ProposalState.COUNTERED
            proposals[entry.proposal_id] = entry
            states[entry.proposal_id] = ProposalState.OPEN
            open_entry = entry
        else:
            outcome = {
                Action.ACCEPT: ProposalState.ACCEPTED,
                Action.REJECT: ProposalState.REJECTED,
                Action.WITHDRAW: ProposalState.WITHDRAWN,
            }[Action(entry.action)]
            states[entry.proposal_id] = outcome
            open_entry = None
    return _Replay(states, proposals, open_entry)


def proposal_states(entries: Iterable[Recorded]) -> dict[str, ProposalState]:
    """Each proposal's state after a thread's entries (in order; anything with `.action` and `.proposal_id`)."""
    return _replay(tuple(entries)).states


@dataclass(frozen=True)
class Thread:
    """A negotiation thread about one owner's goals. ``owner_id`` is the person speaking for the
    owner (the owner, or the head of an owning org unit); ``manager_id`` is the other party."""

    id: str
    owner_id: str
    manager_id: str
    entries: tuple[Entry, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.owner_id == self.manager_id:
            raise InvalidInput("manager_id", "owner and manager must be different people", ids=[self.id])
        entries = tuple(self.entries)
        object.__setattr__(self, "entries", ())
        # Replaying through the same checks keeps a loaded history as valid as a built one.
        for entry in entries:
            _check_entry(self, entry)
            object.__setattr__(self, "entries", (*self.entries, entry))

    def party_of(self, actor_id: str) -> Party:
        if actor_id == self.owner_id:
            return Party.OWNER
        if actor_id == self.manager_id:
            return Party.MANAGER
        raise NotAllowed(f"{actor_id} is not a party to negotiation {self.id}", field="actor_id", ids=[actor_id])

    @property
    def open_proposal(self) -> Entry | None:
        return _replay(self.entries).open

    @property
    def awaiting(self) -> Party | None:
        """The party expected to answer the open proposal, if any."""
        open_entry = self.open_proposal
        if open_entry is None:
            return None
        return Party.MANAGER if open_entry.party is Party.OWNER else Party.OWNER

    def state_of(self, proposal_id: str) -> ProposalState:
        states = _replay(self.entries).states
        if proposal_id not in states:
            raise NotFound(
                f"no proposal {proposal_id} in negotiation {self.id}", field="proposal_id", ids=[proposal_id]
            )
        return states[proposal_id]

    def proposal(self, proposal_id: str) -> Entry:
        self.state_of(proposal_id)
        return _replay(self.entries).proposals[proposal_id]


def _check_text(text: str, where: str, *, required: bool) -> None:
    if required and not text.strip():
        raise InvalidInput(where, "a rationale is required")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(where, f"must be at most {MAX_TEXT_LENGTH} characters")


def _check_changes(changes: tuple[FieldChange, ...]) -> None:
    if not changes:
        raise InvalidInput("changes", "a proposal must change at least one field")
    seen: set[tuple[str, ChangeField]] = set()
    for change in changes:
        key = (change.goal_id, change.field)
        if key in seen:
            raise InvalidInput(f"changes.{change.goal_id}.{change.field.value}", "changed twice in one proposal")
        seen.add(key)


def _check_entry(thread: Thread, entry: Entry) -> None:
    """Raise unless ``entry`` may be appended to ``thread``."""
    if entry.seq != len(thread.entries):
        raise Conflict(f"entry {entry.seq} is out of sequence (expected {len(thread.entries)})", field="seq")
    if entry.at.tzinfo is None or entry.at.utcoffset() is None:
        raise InvalidInput("at", "must be a timezone-aware datetime")
    if thread.entries and entry.at < thread.entries[-1].at:
        raise InvalidInput("at", "history is append-only: an entry cannot predate the previous one")
    if thread.party_of(entry.actor_id) is not entry.party:
        raise NotAllowed(
            f"{entry.actor_id} does not act as {entry.party.value}", field="actor_id", ids=[entry.actor_id]
        )
    replay = _replay(thread.entries)
    open_entry = replay.open
    pid = entry.proposal_id

    if entry.action is Action.PROPOSE or entry.action is Action.COUNTER:
        _check_text(entry.text, "rationale", required=True)
        _check_changes(entry.changes)
        if pid in replay.states:
            raise Conflict(f"proposal id {pid} is already used in this negotiation", field="proposal_id", ids=[pid])
    if entry.action is Action.PROPOSE:
        if open_entry is not None:
            raise NotAllowed(
                f"proposal {open_entry.proposal_id} is still open: counter it or withdraw it first",
                field="proposal_id",
                ids=[open_entry.proposal_id],
            )
        return

    answered, where = (entry.replaces, "replaces") if entry.action is Action.COUNTER else (pid, "proposal_id")
    if entry.action is not Action.COUNTER:
        _check_text(entry.text, "comment", required=False)
    if answered is None or answered not in replay.states:
        raise NotFound(
            f"no proposal {answered} in negotiation {thread.id}", field=where, ids=[answered] if answered else []
        )
    if open_entry is None or open_entry.proposal_id != answered:
        raise Conflict(f"proposal {answered} is {replay.states[answered].value}, not open", field=where, ids=[answered])
    if entry.action is Action.WITHDRAW:
        if entry.party is not open_entry.party:
            raise NotAllowed("only the proposer may withdraw a proposal", field="actor_id", ids=[entry.actor_id])
    elif entry.party is open_entry.party:
        raise NotAllowed(
            f"only the other party may {entry.action.value} a proposal", field="actor_id", ids=[entry.actor_id]
        )


def _append(thread: Thread, entry: Entry) -> Thread:
    # Thread() re-checks every entry, the new one included.
    return Thread(thread.id, thread.owner_id, thread.manager_id, (*thread.entries, entry))


def _entry(
    thread: Thread,
    action: Action,
    proposal_id: str,
    actor_id: str,
    at: datetime,
    text: str,
    changes: Iterable[FieldChange] = (),
    replaces: str | None = None,
) -> Entry:
    party = thread.party_of(actor_id)
    return Entry(len(thread.entries), action, proposal_id, actor_id, party, at, text, tuple(changes), replaces)


def propose(
    thread: Thread,
    *,
    actor_id: str,
    proposal_id: str,
    changes: Iterable[FieldChange],
    rationale: str,
    at: datetime,
) -> Thread:
    """Open a proposal; either party may, when no proposal is open."""
    entry = _entry(thread, Action.PROPOSE, proposal_id, actor_id, at, rationale, changes)
    return _append(thread, entry)


def counter(
    thread: Thread,
    *,
    actor_id: str,
    replaces: str,
    proposal_id: str,
    changes: Iterable[FieldChange],
    rationale: str,
    at: datetime,
) -> Thread:
    """Replace the open proposal ``replaces`` (made by the other party) with a new one."""
    entry = _entry(thread, Action.COUNTER, proposal_id, actor_id, at, rationale, changes, replaces)
    return _append(thread, entry)


def accept(
    thread: Thread, *, actor_id: str, proposal_id: str, at: datetime, comment: str = ""
) -> tuple[Thread, ChangeSet]:
    """Accept the open proposal (only the other party may); returns the changes to apply."""
    updated = _append(thread, _entry(thread, Action.ACCEPT, proposal_id, actor_id, at, comment))
    return updated, ChangeSet(proposal_id, updated.proposal(proposal_id).changes)


def reject(thread: Thread, *, actor_id: str, proposal_id: str, at: datetime, comment: str = "") -> Thread:
    """Reject the open proposal (only the other party may)."""
    return _append(thread, _entry(thread, Action.REJECT, proposal_id, actor_id, at, comment))


def withdraw(thread: Thread, *, actor_id: str, proposal_id: str, at: datetime, comment: str = "") -> Thread:
    """Withdraw the open proposal (only its proposer may)."""
    return _append(thread, _entry(thread, Action.WITHDRAW, proposal_id, actor_id, at, comment))
