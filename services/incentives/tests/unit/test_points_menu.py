"""The points ledger always balances (a property over any sequence of operations), nobody is overdrawn, and a
redemption's life refunds exactly once."""
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incentives.domain import points as p
from incentives.domain.errors import InvalidInput, NotAllowed
from incentives.domain.menu import (
    Eligibility,
    RedemptionState,
    check_quantity,
    may_move,
    may_try_stock,
    refunds,
    why_not_eligible,
)

PEOPLE = [p.person(x) for x in ("a", "b", "c")]
BUDGETS = [p.budget(u) for u in ("u1", "u2")]
OPERATIONS = st.one_of(
    st.tuples(st.just("earned"), st.just(p.RULES), st.sampled_from(PEOPLE), st.integers(-5, 500)),
    st.tuples(st.just("funded"), st.just(p.COMPANY), st.sampled_from(BUDGETS), st.integers(1, 1000)),
    st.tuples(st.just("granted"), st.sampled_from(BUDGETS), st.sampled_from(PEOPLE), st.integers(1, 500)),
    st.tuples(st.just("redeemed"), st.sampled_from(PEOPLE), st.just(p.REDEEMED), st.integers(1, 500)),
    st.tuples(st.just("refunded"), st.just(p.REDEEMED), st.sampled_from(PEOPLE), st.integers(1, 500)),
)


@given(st.lists(OPERATIONS, max_size=60))
def test_the_ledger_always_balances_and_nobody_is_overdrawn(operations):
    balances: dict[str, int] = {}
    journal: list[p.Transaction] = []
    for kind, source, target, amount in operations:
        try:
            txn = p.transfer(kind, source, target, amount)
            balances = p.post(balances, txn)
            journal.append(txn)
        except (InvalidInput, NotAllowed):
            continue  # refused: nothing changed
    assert sum(balances.values()) == 0
    assert all(value >= 0 for account, value in balances.items() if not p.is_source(account))
    # the balances are exactly the journal replayed (append-only: nothing else moves them)
    replayed: dict[str, int] = {}
    for txn in journal:
        for entry in txn.entries:
            replayed[entry.account] = replayed.get(entry.account, 0) + entry.delta
    assert {k: v for k, v in replayed.items() if v} == {k: v for k, v in balances.items() if v}


def test_overdrafts_and_bad_amounts_are_refused_naming_the_field():
    with pytest.raises(NotAllowed) as short:
        p.post({}, p.transfer("redeemed", p.person("a"), p.REDEEMED, 10))
    assert short.value.field == "points"
    for bad in (0, -1, True, 1.5, p.MAX_POINTS + 1):
        with pytest.raises(InvalidInput):
            p.transfer("granted", p.budget("u"), p.person("a"), bad)


@given(st.lists(st.sampled_from(list(RedemptionState)), max_size=8))
def test_a_redemption_refunds_at_most_once(moves):
    state, refunded = RedemptionState.REQUESTED, 0
    for to in moves:
        try:
            may_move(state, to)
        except NotAllowed:
            continue
        refunded += refunds(to)
        state = to
    assert refunded <= 1
    assert refunded == (state in (RedemptionState.DECLINED, RedemptionState.CANCELLED))


def test_eligibility_by_grade_rating_and_tenure():
    rule = Eligibility(min_grade="P5", ratings=("S", "A"), min_tenure_months=12)
    today = date(2026, 12, 2)
    assert why_not_eligible(rule, grade="P6", last_rating="A", hired_on=date(2025, 12, 2), today=today) is None
    assert "grade" in why_not_eligible(rule, grade="P4", last_rating="A", hired_on=date(2020, 1, 1), today=today)
    assert "grade" in why_not_eligible(rule, grade="M6", last_rating="A", hired_on=date(2020, 1, 1), today=today)
    assert "rating" in why_not_eligible(rule, grade="P6", last_rating="B", hired_on=date(2020, 1, 1), today=today)
    assert "tenure" in why_not_eligible(rule, grade="P6", last_rating="S", hired_on=date(2025, 12, 3), today=today)
    assert why_not_eligible(Eligibility(), grade=None, last_rating=None, hired_on=None, today=today) is None


def test_quantity_beyond_stock_or_balance():
    check_quantity(2, 2, 10, 20)
    with pytest.raises(NotAllowed) as stock:
        check_quantity(3, 2, 10, 100)
    assert stock.value.field == "quantity"
    with pytest.raises(NotAllowed) as balance:
        check_quantity(1, None, 10, 9)
    assert balance.value.field == "points"


def test_a_redemption_tries_the_stock_only_when_the_stock_as_read_covers_the_writes_in_flight():
    assert may_try_stock(5, 0, 1) and may_try_stock(5, 4, 1) and may_try_stock(5, 3, 2)
    assert not may_try_stock(5, 5, 1) and not may_try_stock(5, 4, 2) and not may_try_stock(0, 0, 1)
    assert may_try_stock(None, 1000, 7)  # unlimited stock: nothing to wait for
