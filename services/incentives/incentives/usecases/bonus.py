"""Bonus pools and process rules (HR), the settlement of process rewards, and bonus proposals through the
approval chain by grade."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from chassis.access.approvals import Approval, Status, approve, send_back, start
from chassis.ids import new_id
from contracts import incentives as c
from contracts.actor import Actor
from incentives import access, views
from incentives import models as m
from incentives.domain import bonus as rules
from incentives.domain import points as ledger
from incentives.domain.errors import InvalidInput, NotAllowed, NotFound
from incentives.settings import IncentivesSettings
from incentives.usecases import points as points_uc
from incentives.usecases.common import (
    Uow,
    bulk_objects,
    card,
    chain,
    period_kind,
    period_start,
    require_or_hide,
    subject,
)

OPEN_STATUSES = ("pending", "unroutable", "sent_back")


# -- pools and rules -------------------------------------------------------------------------------------------

def save_pool(uow: Uow, actor: Actor | None, command: c.SavePool) -> c.PoolView:
    with uow:
        uow.access.require(actor, "incentives.unit.manage", access.unit(command.org_unit_id))
        if command.ends_on < command.starts_on:
            raise InvalidInput("ends_on", "the period ends before it starts")
        if command.default_base is None and not command.base_amounts:
            raise InvalidInput("base_amounts", "give target bonuses per grade, or a default_base")
        rules.check_bonus_formula(command.formula)
        pool = uow.bonus.pool(command.code, lock=True)
        now = uow.now()
        values = {"name": command.name, "org_unit_id": command.org_unit_id,
                  "review_cycle_id": command.review_cycle_id, "starts_on": command.starts_on,
                  "ends_on": command.ends_on, "budget": command.budget, "currency": command.currency,
                  "multipliers": {k: str(v) for k, v in command.multipliers.items()},
                  "base_amounts": {k: str(v) for k, v in command.base_amounts.items()},
                  "default_base": command.default_base, "formula": command.formula, "updated_at": now}
        if pool is None:
            pool = m.Pool(code=command.code, version=1, **values)
            uow.session.add(pool)
        else:
            uow.access.require(actor, "incentives.unit.manage", access.unit(pool.org_unit_id))
            for key, value in values.items():
                setattr(pool, key, value)
            pool.version += 1
        uow.session.flush()
        return _pool_view(uow, pool)


def _pool_view(uow: Uow, pool: m.Pool) -> c.PoolView:
    return views.pool_view(pool, uow.bonus.committed(pool.code, ("approved",)),
                           uow.bonus.committed(pool.code, ("pending", "unroutable", "sent_back")))


def get_pool(uow: Uow, actor: Actor | None, command: c.PoolRef) -> c.PoolView:
    with uow:
        pool = _load_pool(uow, command.code)
        require_or_hide(uow, actor, "incentives.unit.read", access.unit(pool.org_unit_id), _no_pool(command.code))
        return _pool_view(uow, pool)


def _no_pool(code: str) -> NotFound:
    return NotFound(f"pool {code} does not exist", field="pool_code", ids=[code])


def _load_pool(uow: Uow, code: str, *, lock: bool = False) -> m.Pool:
    pool = uow.bonus.pool(code, lock=lock)
    if pool is None:
        raise _no_pool(code)
    return pool


def save_process_rule(uow: Uow, actor: Actor | None, command: c.SaveProcessRule) -> c.ProcessRuleView:
    rule = rules.ProcessRule(command.code, command.name, command.period, command.condition, command.amount,
                             command.reward)
    rule.check()  # a rule that does not parse: 400 with the position, nothing written
    with uow:
        uow.access.require(actor, "incentives.config.manage", access.company())
        row = uow.bonus.rule(command.code)
        values = {"name": command.name, "period": command.period, "condition": command.condition,
                  "amount": command.amount, "reward": command.reward, "active": command.active,
                  "updated_at": uow.now()}
        if row is None:
            row = m.ProcessRule(code=command.code, **values)
            uow.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        return views.rule_view(row, rule.inputs)


def list_process_rules(uow: Uow, actor: Actor | None) -> c.Items:
    with uow:
        uow.access.require(actor, "incentives.config.read", access.company())
        return c.Items(items=[views.rule_view(r, _domain_rule(r).inputs) for r in uow.bonus.rules()])


def _domain_rule(row: m.ProcessRule) -> rules.ProcessRule:
    return rules.ProcessRule(row.code, row.name, cast(rules.Period, row.period), row.condition, row.amount,
                             cast(rules.Reward, row.reward))


# -- settling process rewards ----------------------------------------------------------------------------------

def settle(uow: Uow, actor: Actor | None, command: c.SettleProcessRewards) -> c.SettlementResult:
    """Evaluate every active rule of the period's kind for everyone with indicator values in the period. A
    reward is earned once per (rule, person, period): settling again (or a redelivered event before it) finds it
    there and pays nothing twice. Points rewards are posted to the ledger in the same transaction.

    Set-based for whole companies: one query pivots the period's inputs (a row per person), another lists what
    is already rewarded; each rule evaluates each distinct combination of its input values once; the rewards, the
    ledger and the balances are written in bulk statements."""
    period = command.period
    kind = period_kind(period)
    starts = period_start(period)
    with uow, bulk_objects():
        if actor is not None and actor.kind != "service":
            uow.access.require(actor, "incentives.config.manage", access.company())
        active = [_domain_rule(r) for r in uow.bonus.rules(kind, active_only=True)]
        names = sorted({name for rule in active for name in rule.inputs})
        people = uow.inputs.pivot(period, names) if active else []
        settled = uow.bonus.settled(period) if active else set()
        now = uow.now()
        rows: list[dict[str, Any]] = []
        already = 0
        for rule in active:
            columns = [1 + names.index(name) for name in rule.inputs]
            earned: dict[tuple[str | None, ...], dict[str, Any] | None] = {}
            for person in people:
                if (rule.code, person[0]) in settled:
                    already += 1
                    continue
                key = tuple(person[i] for i in columns)
                if key not in earned:  # people with the same input values share one evaluation
                    earned[key] = _reward_row(rule, key, period, starts, now)
                row = earned[key]
                if row is not None:
                    rows.append({**row, "person_id": person[0]})
        new = uow.bonus.add_rewards(rows)
        posted = points_uc.credit_many(
            uow, "earned", ledger.RULES,
            [(row.person_id, int(row.amount), f"process reward {row.rule_code} ({row.period})",
              f"rule:{row.rule_code}:{row.period}") for row in new if row.reward == "points"], event_source="rule")
        return c.SettlementResult(period=period, evaluated=len(people) * len(active), earned=len(new),
                                  already_settled=already + len(rows) - len(new), points_posted=posted)


def _reward_row(rule: rules.ProcessRule, values: Sequence[str | None], period: str, starts: date,
                now: datetime) -> dict[str, Any] | None:
    """The reward row (without the person) that the values (as text) of the rule's inputs earn, or None."""
    outcome = rules.evaluate_process_rule(rule, {name: Decimal(value) for name, value
                                                 in zip(rule.inputs, values, strict=True) if value is not None})
    if not outcome.earned:
        return None
    return {"rule_code": rule.code, "period": period, "period_start": starts, "reward": rule.reward,
            "amount": outcome.amount, "inputs": {k: rules.plain(v) for k, v in outcome.inputs.items()},
            "condition": rule.condition, "amount_rule": rule.amount, "rule_name": rule.name, "settled_at": now}


def list_process_rewards(uow: Uow, actor: Actor | None, command: c.ListProcessRewards) -> c.Items:
    with uow:
        uow.access.require(actor, "incentives.bonus.read", access.of(access.BONUS, command.person_id))
        return c.Items(items=[views.reward_record_view(r)
                              for r in uow.bonus.rewards(command.person_id, period=command.period)])


# -- proposals -------------------------------------------------------------------------------------------------

def propose(uow: Uow, actor: Actor | None, command: c.ProposeBonus,
            settings: IncentivesSettings) -> c.BonusProposalView:
    with uow:
        pool = _load_pool(uow, command.pool_code)
        uow.access.require(actor, "incentives.bonus.propose", access.of(access.BONUS, command.person_id))
        person = card(uow, command.person_id)
        _require_in_pool(uow, pool, person)
        rating = uow.inputs.latest_rating(command.person_id, pool.review_cycle_id)
        if rating is None:
            raise NotAllowed(f"{command.person_id} has no finalized rating in review cycle {pool.review_cycle_id}",
                             field="person_id", ids=[command.person_id])
        proposal = make_proposal(uow, pool, person, rating, settings, requested_by=subject(actor), strict=True)
        return views.proposal_view(proposal)


def _require_in_pool(uow: Uow, pool: m.Pool, person: Any) -> None:
    if person.org_unit_id is None or not uow.access.index.unit_within(person.org_unit_id, pool.org_unit_id):
        raise InvalidInput("person_id", f"{person.person_id} is not in pool {pool.code} (unit {pool.org_unit_id})",
                           ids=[person.person_id])


def make_proposal(uow: Uow, pool: m.Pool, person: Any, rating: m.Rating, settings: IncentivesSettings, *,
                  requested_by: str | None, strict: bool) -> m.Proposal:
    """The proposal for a rating version: the existing one if this version already made one (a redelivered
    event, a second request), otherwise a new version superseding the person's current proposal."""
    existing = uow.bonus.proposal_for_rating(pool.code, person.person_id, rating.rating_id, rating.version)
    if existing is not None and not (strict and existing.status == "sent_back"):
        return existing
    computed = _compute(uow, pool, person, rating)
    committed = uow.bonus.committed(pool.code, ("approved", "pending"), except_person=person.person_id)
    warning = rules.budget_warning(pool.budget, committed, computed.total)
    route = chain(uow, person.person_id, person.grade, settings.approval_table, requested_by)
    if not route.complete and strict:
        start(route)  # raises: 400 naming the steps nobody can take
    approval = Approval(route.approvers) if route.complete else None
    now = uow.now()
    lines = [{**asdict(line), "result": str(line.result)} for line in computed.lines]
    if existing is not None:  # sent back, corrected (the inputs may have changed): its chain starts again
        existing.lines, existing.total, existing.budget_warning = lines, computed.total, warning
        existing.status, existing.updated_at = "pending", now
        decisions = Approval.from_json(existing.approval).decisions if existing.approval else ()
        existing.approval = Approval(route.approvers, decisions=decisions).to_json()
        _published(uow, existing, None, warning)
        return existing
    previous = uow.bonus.current_proposal(pool.code, person.person_id, lock=True)
    if previous is not None and previous.rating_id == rating.rating_id and previous.rating_version > rating.version:
        return previous  # an older version of the rating delivered late changes nothing
    proposal = m.Proposal(id=new_id(), pool_code=pool.code, person_id=person.person_id,
                          version=1 if previous is None else previous.version + 1, rating_id=rating.rating_id,
                          rating_version=rating.version, rating_label=rating.label, lines=lines,
                          total=computed.total, status="pending" if approval is not None else "unroutable",
                          budget_warning=warning, approval=None if approval is None else approval.to_json(),
                          requested_by=requested_by, created_at=now, updated_at=now)
    if previous is not None:
        previous.status, previous.updated_at = "superseded", now
    uow.session.add(proposal)
    uow.session.flush()
    _published(uow, proposal, previous, warning)
    return proposal


def _published(uow: Uow, proposal: m.Proposal, previous: m.Proposal | None, warning: str | None) -> None:
    approval = Approval.from_json(proposal.approval) if proposal.approval else None
    first = None if approval is None or approval.current is None else approval.current.person_id
    uow.publish(c.BonusProposed(proposal_id=proposal.id, pool_code=proposal.pool_code, person_id=proposal.person_id,
                                version=proposal.version, supersedes=None if previous is None else previous.id,
                                rating_id=proposal.rating_id, rating_version=proposal.rating_version,
                                total=proposal.total, budget_warning=warning, waiting_for=first))


def _compute(uow: Uow, pool: m.Pool, person: Any, rating: m.Rating) -> rules.Proposal:
    rewards = [rules.EarnedReward(r.rule_code, r.rule_name, r.period, r.condition, r.amount_rule,
                                  {k: Decimal(v) for k, v in r.inputs.items()}, r.amount)
               for r in uow.bonus.rewards(person.person_id, reward="cash", between=(pool.starts_on, pool.ends_on))]
    return rules.propose(grade=person.grade, label=rating.label, score=rating.score,
                         base_amounts={k: Decimal(v) for k, v in pool.base_amounts.items()},
                         default_base=pool.default_base,
                         multipliers={k: Decimal(v) for k, v in pool.multipliers.items()},
                         formula=pool.formula, rewards=rewards)


def proposals_for_rating(uow: Uow, rating: m.Rating, settings: IncentivesSettings) -> None:
    """A finalized or amended rating: (re)compute the proposal in every pool of its review cycle the person is in
    (the event's own unit of work; a pool the person is not in is skipped)."""
    person = uow.people.card(rating.person_id)
    if person is None or person.org_unit_id is None:
        return
    for pool in uow.bonus.pools_for_cycle(rating.review_cycle_id):
        if uow.access.index.unit_within(person.org_unit_id, pool.org_unit_id):
            make_proposal(uow, pool, person, rating, settings, requested_by=None, strict=False)


def _no_proposal(proposal_id: str) -> NotFound:
    return NotFound(f"proposal {proposal_id} does not exist", field="proposal_id", ids=[proposal_id])


def _load_proposal(uow: Uow, proposal_id: str, *, lock: bool = False) -> m.Proposal:
    proposal = uow.bonus.proposal(proposal_id, lock=lock)
    if proposal is None:
        raise _no_proposal(proposal_id)
    return proposal


def get_proposal(uow: Uow, actor: Actor | None, command: c.ProposalRef) -> c.BonusProposalView:
    with uow:
        proposal = _load_proposal(uow, command.proposal_id)
        _may_read(uow, actor, proposal)
        return views.proposal_view(proposal)


def _may_read(uow: Uow, actor: Actor | None, proposal: m.Proposal) -> None:
    # the current approvers (a skip level's HRBP...) read what they approve; otherwise the person's line and HR
    # to anyone else it does not exist: pay is seen by the person, their line and HR only
    if proposal.approval and subject(actor) in {a["person_id"] for a in proposal.approval["approvers"]}:
        return
    require_or_hide(uow, actor, "incentives.bonus.read", access.of(access.BONUS, proposal.person_id),
                    _no_proposal(proposal.id))


def list_proposals(uow: Uow, actor: Actor | None, command: c.ListBonusProposals) -> c.Items:
    with uow:
        if command.person_id is not None:
            uow.access.require(actor, "incentives.bonus.read", access.of(access.BONUS, command.person_id))
        elif command.pool_code is not None:
            pool = _load_pool(uow, command.pool_code)
            require_or_hide(uow, actor, "incentives.unit.read", access.unit(pool.org_unit_id),
                            _no_pool(command.pool_code))
        else:
            raise InvalidInput("person_id", "name a person or a pool")
        found = uow.bonus.proposals(pool_code=command.pool_code, person_id=command.person_id,
                                    status=command.status, limit=command.limit)
        return c.Items(items=[views.proposal_view(p) for p in found])


def approve_proposal(uow: Uow, actor: Actor | None, command: c.DecideProposal,
                     settings: IncentivesSettings) -> c.BonusProposalView:
    with uow:
        proposal = _load_proposal(uow, command.proposal_id, lock=True)
        _may_read(uow, actor, proposal)  # a stranger learns nothing, not even that it exists
        me = _approver(actor, proposal)
        _state(proposal, "approved")
        approval = approve(Approval.from_json(proposal.approval), me, command.reason)
        warning = proposal.budget_warning
        if approval.status is Status.APPROVED:
            pool = _load_pool(uow, proposal.pool_code, lock=True)  # one final approval per pool at a time
            approved = uow.bonus.committed(pool.code, ("approved",), except_person=proposal.person_id)
            warning = rules.check_budget_at_approval(pool.budget, approved, proposal.total, settings.budget_overrun)
            proposal.status = "approved"
            proposal.budget_warning = warning
        proposal.approval, proposal.updated_at = approval.to_json(), uow.now()
        if approval.status is Status.APPROVED:
            uow.publish(c.BonusApproved(proposal_id=proposal.id, pool_code=proposal.pool_code,
                                        person_id=proposal.person_id, version=proposal.version, total=proposal.total,
                                        budget_warning=warning,
                                        approved_by=[a.person_id for a in approval.approvers]))
        return views.proposal_view(proposal)


def send_back_proposal(uow: Uow, actor: Actor | None, command: c.DecideProposal) -> c.BonusProposalView:
    with uow:
        proposal = _load_proposal(uow, command.proposal_id, lock=True)
        _may_read(uow, actor, proposal)  # a stranger learns nothing, not even that it exists
        me = _approver(actor, proposal)
        _state(proposal, "sent back")
        approval = send_back(Approval.from_json(proposal.approval), me, command.reason)
        proposal.approval, proposal.status, proposal.updated_at = approval.to_json(), "sent_back", uow.now()
        return views.proposal_view(proposal)


def _approver(actor: Actor | None, proposal: m.Proposal) -> str:
    me = subject(actor)
    if me is None:
        raise NotAllowed("an approval needs an authenticated person", field="actor_id")
    if me == proposal.person_id:
        raise NotAllowed("nobody approves their own bonus", field="actor_id", ids=[proposal.id])
    return me


def _state(proposal: m.Proposal, what: str) -> None:
    if proposal.status != "pending" or not proposal.approval:
        raise NotAllowed(f"a {proposal.status} proposal cannot be {what}", field="status", ids=[proposal.id])
