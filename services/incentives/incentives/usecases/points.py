"""The points ledger (earned by rules, granted by managers within their unit's budget, funded by HR), the reward
menu, and redemptions with approval, decline, cancellation (each refunding exactly once) and fulfilment."""
from __future__ import annotations

from typing import Any

from chassis.access.approvals import Approval, Status, approve, start
from chassis.ids import new_id
from contracts import incentives as c
from contracts.actor import Actor
from incentives import access, views
from incentives import models as m
from incentives.domain import points as ledger
from incentives.domain.errors import InvalidInput, NotAllowed, NotFound
from incentives.domain.menu import (
    Eligibility,
    RedemptionState,
    check_quantity,
    may_move,
    why_not_eligible,
)
from incentives.settings import IncentivesSettings
from incentives.usecases.common import Uow, card, chain, require_or_hide, subject, today


def post(uow: Uow, transaction: ledger.Transaction, *, reason: str, ref: str | None, person_id: str | None = None,
         source: str | None = None) -> str:
    """Append a balanced transaction and move the balances, in the caller's unit of work. An account that would
    be overdrawn refuses the whole transaction (NotAllowed naming `points`; the unit of work rolls back)."""
    if not transaction.balanced:
        raise InvalidInput("points", "a transaction's entries must sum to zero")
    # Balance rows are kept for the accounts that must never be overdrawn (people, unit budgets); sources and the
    # redeemed sink are only summed from the ledger, so no hot row serializes every redemption in the company.
    guarded = sorted((e for e in transaction.entries if ledger.has_balance(e.account)), key=lambda e: e.account)
    # accounts in a fixed order, so that two transfers between the same accounts never deadlock; one statement each:
    # a credit upserts (adds), a debit updates only while the balance covers it (no row: nothing to spend)
    for entry in guarded:
        if entry.delta > 0:
            uow.points.credit([(entry.account, entry.delta)])
        elif uow.points.move(entry.account, entry.delta, False) is None:
            have = uow.points.balance(entry.account)
            raise NotAllowed(f"{entry.account} has {have} points, {-entry.delta} needed", field="points")
    txn_id, now = new_id(), uow.now()
    uow.points.append([{"transaction_id": txn_id, "account": e.account, "delta": e.delta, "kind": transaction.kind,
                        "reason": reason, "ref": ref, "at": now} for e in transaction.entries])
    if person_id is not None and source is not None:
        gained = sum(e.delta for e in transaction.entries if e.account == ledger.person(person_id))
        uow.publish(c.PointsEarned(transaction_id=txn_id, person_id=person_id, points=gained, source=source,
                                   ref=ref or "", reason=reason))
    return txn_id


def credit_many(uow: Uow, kind: str, source: str, credits: list[tuple[str, int, str, str]], *,
                event_source: str) -> int:
    """Many transfers from one source account to people (person_id, points, reason, ref) in a few statements: one
    transaction each in the ledger, the balances credited in bulk, one PointsEarned each. Returns the points."""
    if not ledger.is_source(source):
        raise InvalidInput("points", "bulk credits come from a source account")
    credits = [(person_id, points, reason, ref) for person_id, points, reason, ref in credits if points > 0]
    if not credits:
        return 0
    now, transfers, events = uow.now(), [], []
    totals: dict[str, int] = {}
    for person_id, points, reason, ref in credits:
        ledger.transfer(kind, source, ledger.person(person_id), points)  # the domain's checks of each transfer
        txn_id, account = new_id(), ledger.person(person_id)
        transfers.append((txn_id, account, points, reason, ref))
        totals[account] = totals.get(account, 0) + points
        events.append(c.PointsEarned(transaction_id=txn_id, person_id=person_id, points=points, source=event_source,
                                     ref=ref, reason=reason))
    uow.points.credit(sorted(totals.items()))  # sorted: concurrent settlements lock rows in one order
    uow.points.append_transfers(kind, source, transfers, now)  # both entries of each, written set-wise
    uow.publish(*events)
    return sum(points for _, points, _, _ in credits)


def fund_budget(uow: Uow, actor: Actor | None, command: c.FundPointsBudget) -> c.PointsMoved:
    with uow:
        uow.access.require(actor, "incentives.unit.manage", access.unit(command.org_unit_id))
        account = ledger.budget(command.org_unit_id)
        txn = post(uow, ledger.transfer("funded", ledger.COMPANY, account, command.points),
                   reason=command.reason or "points budget", ref=f"by:{subject(actor)}")
        return c.PointsMoved(transaction_id=txn, account=account, balance=uow.points.balance(account))


def grant(uow: Uow, actor: Actor | None, command: c.GrantPoints) -> c.PointsMoved:
    """A manager (or HR) grants points to someone in their line, from the budget of that person's unit."""
    with uow:
        uow.access.require(actor, "incentives.points.grant", access.of(access.POINTS, command.person_id))
        person = card(uow, command.person_id)
        if person.org_unit_id is None:
            raise InvalidInput("person_id", f"{command.person_id} belongs to no unit, so to no points budget")
        account = ledger.person(command.person_id)
        txn = post(uow, ledger.transfer("granted", ledger.budget(person.org_unit_id), account, command.points),
                   reason=command.reason, ref=f"by:{subject(actor)}", person_id=command.person_id, source="grant")
        return c.PointsMoved(transaction_id=txn, account=account, balance=uow.points.balance(account))


def get_points(uow: Uow, actor: Actor | None, command: c.PointsQuery) -> c.PointsView:
    with uow:
        uow.access.require(actor, "incentives.points.read", access.of(access.POINTS, command.person_id))
        return _points_view(uow, ledger.person(command.person_id))


def get_budget(uow: Uow, actor: Actor | None, command: c.BudgetQuery) -> c.PointsView:
    with uow:
        uow.access.require(actor, "incentives.budget.read", access.unit(command.org_unit_id, access.BUDGET))
        return _points_view(uow, ledger.budget(command.org_unit_id))


def _points_view(uow: Uow, account: str) -> c.PointsView:
    return c.PointsView(account=account, balance=uow.points.balance(account),
                        entries=[c.LedgerEntryView(transaction_id=e.transaction_id, kind=e.kind, delta=e.delta,
                                                   reason=e.reason, ref=e.ref, at=e.at)
                                 for e in uow.points.entries(account)])


# -- the menu ------------------------------------------------------------------------------------------------------

def save_reward(uow: Uow, actor: Actor | None, command: c.SaveReward) -> c.RewardView:
    eligibility = Eligibility(command.eligibility.min_grade, tuple(command.eligibility.ratings),
                              command.eligibility.min_tenure_months)
    eligibility.check()
    with uow:
        uow.access.require(actor, "incentives.config.manage", access.company())
        row = uow.points.reward(command.code, lock=True)
        values = {"name": command.name, "description": command.description, "cost": command.cost,
                  "stock": command.stock, "eligibility": command.eligibility.model_dump(mode="json"),
                  "requires_approval": command.requires_approval, "active": command.active, "updated_at": uow.now()}
        if row is None:
            row = m.Reward(code=command.code, **values)
            uow.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        return views.reward_view(row)


def _why_not(uow: Uow, reward: Any, person: Any) -> str | None:
    """None when eligible; `reward` is a menu row or item (its eligibility is read)."""
    rule = Eligibility(reward.eligibility.get("min_grade"), tuple(reward.eligibility.get("ratings") or ()),
                       int(reward.eligibility.get("min_tenure_months") or 0))
    last = uow.inputs.last_label(person.person_id) if rule.ratings else None
    return why_not_eligible(rule, grade=person.grade, last_rating=last, hired_on=person.hired_on, today=today(uow))


def list_rewards(uow: Uow, actor: Actor | None, command: c.ListRewards) -> c.Items:
    with uow:
        uow.access.require(actor, "incentives.config.read", access.company())
        who = command.for_person or subject(actor)
        if command.for_person is not None and command.for_person != subject(actor):
            uow.access.require(actor, "incentives.points.read", access.of(access.POINTS, command.for_person))
        person = uow.people.card(who) if who else None
        return c.Items(items=[views.reward_view(r, _why_not(uow, r, person) if person else None, person is not None)
                              for r in uow.points.rewards() if r.active])


# -- redemptions ----------------------------------------------------------------------------------------------------

def redeem(uow: Uow, actor: Actor | None, command: c.Redeem, settings: IncentivesSettings) -> c.RedemptionView:
    """Points and stock are taken now, in one short transaction. Everything that may refuse is decided first from
    plain reads, with no lock and nothing written: access, the menu item and the balance (one read), eligibility,
    the approval chain, and the balance and stock the item needs (so that most of the 45 of 50 people who ask for
    the last 5 items at once are refused without a write or a wait). A redemption whose read stock does not cover
    what this process is already writing of the item waits for those writes to end and decides on a fresh read
    (`StockGate`), rather than queue behind their lock on the stock's row and lose. Then the writes in one statement
    (`PointsRepository.spend_on_reward`): the balance by a conditional update (nobody spends beyond their balance:
    a concurrent spend since the read is caught there), then the stock by a conditional update (two people never
    both get the last item), then the redemption row and the ledger's two entries. A refusal from those updates is
    true when given: each saw the committed row, after waiting for its lock. The stock row's lock, which every
    redeemer of the item waits for, is held from that statement to the commit (the outbox row and COMMIT)."""
    gate, admitted = None, None
    try:
        with uow:
            me = subject(actor)
            if me is None:
                raise NotAllowed("redeeming needs an authenticated person", field="actor_id")
            uow.access.require(actor, "incentives.points.redeem", access.of(access.POINTS, me))
            offer = _offer(uow, me, command)
            gate = uow.points.stock_gate() if offer.stock is not None else None  # unlimited: nothing to wait for
            for _ in range(GATE_ROUNDS):
                if gate is None or gate.admit(offer.code, command.quantity, offer.stock):
                    admitted = offer.code
                    break
                if not gate.wait_idle(offer.code, GATE_WAIT_S):
                    break  # writers still busy (a stuck one?): let the stock's conditional update decide
                offer = _offer(uow, me, command)  # read after the writers ended: a refusal decided on it is true
            return _spend(uow, me, command, offer, settings)
    finally:
        if admitted is not None and gate is not None:
            gate.release(admitted, command.quantity)  # after the commit or rollback: the stock's lock is free


GATE_ROUNDS = 4  # waits for the item's writers before trying the write anyway
GATE_WAIT_S = 2.0


def _offer(uow: Uow, me: str, command: c.Redeem) -> Any:
    """The offer as read now, and every refusal it decides (menu, directory, eligibility, balance, stock)."""
    offer = uow.points.offer(command.reward_code, me)
    if offer is None or not offer.active:
        raise NotFound(f"no reward {command.reward_code} on the menu", field="reward_code")
    if offer.person_id is None:
        raise NotFound(f"person {me} is not in the directory", field="actor_id", ids=[me])
    reason = _why_not(uow, offer, offer)  # the person's card came with the offer
    if reason is not None:
        raise NotAllowed(f"not eligible for {offer.code}: {reason}", field="reward_code")
    ledger.transfer("redeemed", ledger.person(me), ledger.REDEEMED, offer.cost * command.quantity)  # its checks
    check_quantity(command.quantity, offer.stock, offer.cost, offer.balance)  # as read: 422 points / quantity
    return offer


def _spend(uow: Uow, me: str, command: c.Redeem, offer: Any, settings: IncentivesSettings) -> c.RedemptionView:
    points = offer.cost * command.quantity
    spend = ledger.transfer("redeemed", ledger.person(me), ledger.REDEEMED, points)
    approval = None
    if offer.requires_approval:
        approval = start(chain(uow, me, offer.grade, settings.redemption_approval_table, me))
    now = uow.now()
    redemption = m.Redemption(id=new_id(), person_id=me, reward_code=offer.code, quantity=command.quantity,
                              points=points, status="requested" if approval is not None else "approved",
                              approval=None if approval is None else approval.to_json(), refunded=False,
                              note=command.note, created_at=now, updated_at=now)
    txn_id, label = new_id(), f"redeemed {command.quantity} x {offer.code}"
    entries = [{"transaction_id": txn_id, "account": e.account, "delta": e.delta, "kind": spend.kind,
                "reason": label, "ref": f"redemption:{redemption.id}", "at": now}
               for e in spend.entries]  # the debit (the person) first, the sink second
    spent = uow.points.spend_on_reward({column: getattr(redemption, column) for column in REDEMPTION_COLUMNS},
                                       entries)
    if not spent.covered:
        account = ledger.person(me)
        raise NotAllowed(f"{account} has {uow.points.balance(account)} points, {points} needed", field="points")
    if not spent.taken:  # the unit of work rolls the balance back; no re-read for the message (a round trip)
        raise NotAllowed(f"fewer than {command.quantity} of {offer.code} left in stock", field="quantity")
    uow.publish(c.PointsRedeemed(redemption_id=redemption.id, person_id=me, reward_code=offer.code,
                                 quantity=command.quantity, points=points))
    return views.redemption_view(redemption)


REDEMPTION_COLUMNS = tuple(column.key for column in m.Redemption.__table__.columns)


def _no_redemption(redemption_id: str) -> NotFound:
    return NotFound(f"redemption {redemption_id} does not exist", field="redemption_id", ids=[redemption_id])


def _load(uow: Uow, actor: Actor | None, redemption_id: str, *, lock: bool = False) -> m.Redemption:
    """The redemption, to those who may see it: the person, their line and HR (points.read), its approvers, and
    who manages the person's unit. To anyone else it does not exist (the same 404 as a missing one)."""
    found = uow.points.redemption(redemption_id, lock=lock)
    if found is None:
        raise _no_redemption(redemption_id)
    approvers = {a["person_id"] for a in found.approval["approvers"]} if found.approval else set()
    if subject(actor) not in approvers and not uow.access.can(actor, "incentives.unit.manage",
                                                               access.unit(_unit_of(uow, found.person_id))):
        require_or_hide(uow, actor, "incentives.points.read", access.of(access.POINTS, found.person_id),
                        _no_redemption(redemption_id))
    return found


def approve_redemption(uow: Uow, actor: Actor | None, command: c.RedemptionRef) -> c.RedemptionView:
    with uow:
        redemption = _load(uow, actor, command.redemption_id, lock=True)
        me = subject(actor)
        if me == redemption.person_id:
            raise NotAllowed("nobody approves their own redemption", field="actor_id", ids=[redemption.id])
        may_move(RedemptionState(redemption.status), RedemptionState.APPROVED)
        approval = approve(Approval.from_json(redemption.approval), me or "", command.reason)
        redemption.approval, redemption.updated_at = approval.to_json(), uow.now()
        if approval.status is Status.APPROVED:
            redemption.status = "approved"
        return views.redemption_view(redemption)


def decline_redemption(uow: Uow, actor: Actor | None, command: c.RedemptionRef) -> c.RedemptionView:
    with uow:
        redemption = _load(uow, actor, command.redemption_id, lock=True)
        me = subject(actor)
        approval = Approval.from_json(redemption.approval) if redemption.approval else None
        current = None if approval is None else approval.current
        if current is None or current.person_id != me:
            raise NotAllowed("only the current approver declines a redemption", field="actor_id",
                             ids=[redemption.id])
        if not command.reason.strip():
            raise InvalidInput("reason", "declining needs a reason")
        _refund(uow, redemption, RedemptionState.DECLINED, command.reason)
        return views.redemption_view(redemption)


def cancel_redemption(uow: Uow, actor: Actor | None, command: c.RedemptionRef) -> c.RedemptionView:
    with uow:
        redemption = _load(uow, actor, command.redemption_id, lock=True)
        if subject(actor) != redemption.person_id:
            uow.access.require(actor, "incentives.unit.manage", access.unit(_unit_of(uow, redemption.person_id)))
        _refund(uow, redemption, RedemptionState.CANCELLED, command.reason or "cancelled")
        return views.redemption_view(redemption)


def fulfil_redemption(uow: Uow, actor: Actor | None, command: c.RedemptionRef) -> c.RedemptionView:
    with uow:
        redemption = _load(uow, actor, command.redemption_id, lock=True)
        uow.access.require(actor, "incentives.unit.manage", access.unit(_unit_of(uow, redemption.person_id)))
        may_move(RedemptionState(redemption.status), RedemptionState.FULFILLED)
        uow.points.leave_state(redemption.id, ("approved",), "fulfilled", False, uow.now())
        uow.session.refresh(redemption)
        return views.redemption_view(redemption)


def _unit_of(uow: Uow, person_id: str) -> str:
    person = uow.people.card(person_id)
    return "" if person is None or person.org_unit_id is None else person.org_unit_id


def _refund(uow: Uow, redemption: m.Redemption, to: RedemptionState, reason: str) -> None:
    """Leave an open state once (a conditional update: the one caller that moved it refunds), give the points
    and the stock back."""
    may_move(RedemptionState(redemption.status), to)
    if not uow.points.leave_state(redemption.id, ("requested", "approved") if to is RedemptionState.CANCELLED
                                  else ("requested",), to.value, True, uow.now()):
        raise NotAllowed("the redemption is no longer open", field="status", ids=[redemption.id])
    post(uow, ledger.transfer("refunded", ledger.REDEEMED, ledger.person(redemption.person_id), redemption.points),
         reason=f"{to.value}: {reason}"[:2000], ref=f"redemption:{redemption.id}")
    uow.points.return_stock(redemption.reward_code, redemption.quantity)  # balances before stock, as redeem() does
    uow.publish(c.PointsRefunded(redemption_id=redemption.id, person_id=redemption.person_id,
                                 reward_code=redemption.reward_code, points=redemption.points, reason=reason))
    uow.session.refresh(redemption)


def list_redemptions(uow: Uow, actor: Actor | None, command: c.ListRedemptions) -> c.Items:
    with uow:
        person = command.person_id or subject(actor)
        if person is None:
            raise InvalidInput("person_id", "name a person")
        uow.access.require(actor, "incentives.points.read", access.of(access.POINTS, person))
        return c.Items(items=[views.redemption_view(r) for r in uow.points.redemptions(person, command.status)])
