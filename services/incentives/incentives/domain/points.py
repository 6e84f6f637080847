"""The points ledger: double entry, append-only, always balanced.

Every movement is a transaction of entries that sum to zero: points earned by a rule come from the `rules`
source, a manager's grant from their unit's budget (which HR funds from the `company` source), a redemption goes
to `redeemed` and a refund comes back from it. Sources may go below zero (that is where points come from);
every other account (a person, a unit's budget, the redeemed sink) never does, so nobody spends what they do
not have. The sum over all accounts is zero after any sequence of transactions (a property test).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from incentives.domain.errors import InvalidInput, NotAllowed

RULES = "source:rules"
COMPANY = "source:company"
REDEEMED = "sink:redeemed"
MAX_POINTS = 10_000_000


def person(person_id: str) -> str:
    return f"person:{person_id}"


def budget(org_unit_id: str) -> str:
    return f"budget:{org_unit_id}"


def is_source(account: str) -> bool:
    return account.startswith("source:")


def has_balance(account: str) -> bool:
    """Accounts whose balance must never go below zero (people, unit budgets); sources and sinks need no guard
    (a sink only receives, and gives back only what it received for that redemption)."""
    return not (account.startswith("source:") or account.startswith("sink:"))


@dataclass(frozen=True)
class Entry:
    account: str
    delta: int


@dataclass(frozen=True)
class Transaction:
    kind: str  # earned | granted | funded | redeemed | refunded
    entries: tuple[Entry, ...]

    @property
    def balanced(self) -> bool:
        return sum(entry.delta for entry in self.entries) == 0


def transfer(kind: str, source: str, target: str, points: int, *, field: str = "points") -> Transaction:
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_POINTS:
        raise InvalidInput(field, f"points are a whole number from 1 to {MAX_POINTS}")
    if source == target:
        raise InvalidInput(field, "a transfer needs two different accounts")
    return Transaction(kind, (Entry(source, -points), Entry(target, points)))


def shortfalls(balances: Mapping[str, int], transaction: Transaction) -> list[tuple[str, int]]:
    """The (account, balance after) pairs that would go below zero (sources excepted)."""
    after: dict[str, int] = {}
    for entry in transaction.entries:
        after[entry.account] = after.get(entry.account, balances.get(entry.account, 0)) + entry.delta
    return [(account, value) for account, value in after.items() if value < 0 and not is_source(account)]


def post(balances: Mapping[str, int], transaction: Transaction, *, field: str = "points") -> dict[str, int]:
    """The balances after `transaction`, or NotAllowed naming `field` when an account would be overdrawn."""
    if not transaction.balanced:
        raise InvalidInput(field, "a transaction's entries must sum to zero")
    short = shortfalls(balances, transaction)
    if short:
        account, value = short[0]
        raise NotAllowed(f"{account} has {value - _delta(transaction, account)} points, "
                         f"{-_delta(transaction, account)} needed", field=field)
    out = dict(balances)
    for entry in transaction.entries:
        out[entry.account] = out.get(entry.account, 0) + entry.delta
    return out


def _delta(transaction: Transaction, account: str) -> int:
    return sum(entry.delta for entry in transaction.entries if entry.account == account)
