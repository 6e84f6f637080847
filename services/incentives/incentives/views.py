"""Rows -> the contract's views (one place, so every RPC answers the same shape)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from chassis.access.approvals import Approval
from contracts import incentives as c
from incentives import models as m
from incentives.domain import idp as idp_rules
from incentives.usecases.common import approval_views

ModelT = TypeVar("ModelT", bound=BaseModel)


def trusted(model: type[ModelT], values: dict[str, Any]) -> ModelT:
    """A contract model from values the service built from its own rows, every field given and already of its type:
    what pydantic's `model_construct` does, without its per-field alias lookups (the 9-box makes one per person of
    a whole company). Never for anything a caller sent."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def pool_view(pool: m.Pool, approved: Decimal, pending: Decimal) -> c.PoolView:
    return c.PoolView(code=pool.code, name=pool.name, org_unit_id=pool.org_unit_id,
                      review_cycle_id=pool.review_cycle_id, starts_on=pool.starts_on, ends_on=pool.ends_on,
                      budget=pool.budget, currency=pool.currency,
                      multipliers={k: Decimal(v) for k, v in pool.multipliers.items()},
                      base_amounts={k: Decimal(v) for k, v in pool.base_amounts.items()},
                      default_base=pool.default_base, formula=pool.formula, approved=approved, pending=pending,
                      version=pool.version)


def rule_view(rule: m.ProcessRule, inputs: list[str]) -> c.ProcessRuleView:
    return c.ProcessRuleView(code=rule.code, name=rule.name, period=rule.period, condition=rule.condition,
                             amount=rule.amount, reward=rule.reward, inputs=inputs, active=rule.active)


def reward_record_view(row: m.ProcessReward) -> c.ProcessRewardView:
    return c.ProcessRewardView(rule_code=row.rule_code, person_id=row.person_id, period=row.period,
                               reward=row.reward, amount=row.amount, inputs=dict(row.inputs),
                               settled_at=row.settled_at)


def proposal_view(p: m.Proposal) -> c.BonusProposalView:
    approval = Approval.from_json(p.approval) if p.approval else None
    return c.BonusProposalView(id=p.id, pool_code=p.pool_code, person_id=p.person_id, version=p.version,
                          rating_id=p.rating_id, rating_version=p.rating_version, rating_label=p.rating_label,
                          lines=[c.LineView(**line) for line in p.lines], total=p.total, status=p.status,
                          budget_warning=p.budget_warning, created_at=p.created_at, **approval_views(approval))


def redemption_view(r: m.Redemption) -> c.RedemptionView:
    approval = Approval.from_json(r.approval) if r.approval else None
    return c.RedemptionView(id=r.id, person_id=r.person_id, reward_code=r.reward_code, quantity=r.quantity,
                            points=r.points, status=r.status, refunded=r.refunded, created_at=r.created_at,
                            **approval_views(approval))


def reward_view(r: m.Reward, why_not: str | None = None, for_someone: bool = False) -> c.RewardView:
    return c.RewardView(code=r.code, name=r.name, description=r.description, cost=r.cost, stock=r.stock,
                        eligibility=c.EligibilityInput(**r.eligibility), requires_approval=r.requires_approval,
                        active=r.active, eligible=(why_not is None) if for_someone else None, why_not=why_not)


def idp_view(plan: m.Idp, actions: list[m.IdpAction]) -> c.IdpView:
    done = sum(1 for a in actions if a.done_on is not None)
    return c.IdpView(id=plan.id, person_id=plan.person_id, review_cycle_id=plan.review_cycle_id, track=plan.track,
                     rating_label=plan.rating_label, version=plan.version,
                     actions=[c.IdpActionView(code=a.code, title=a.title, owner_id=a.owner_id, due_on=a.due_on,
                                              priority=a.priority, done_on=a.done_on, note=a.note) for a in actions],
                     progress=idp_rules.progress(done, len(actions)), checkin_every_days=plan.checkin_every_days)
