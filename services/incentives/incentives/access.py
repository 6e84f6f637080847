"""Incentives' actions for the chassis policy engine: declared as data in `contracts.access.INCENTIVES` (compliance's
`decide` answers for them too), registered by `register()`, called from the service.

Pay and talent data are the most sensitive in the suite: a person's bonus, points, plan and talent review are read
by the person, their reporting line and HR/HRBP of their unit only, never by peers. Company configuration (process
rules, the reward menu) is company HR's; a pool is HR's of its unit. Approving a proposal or a redemption is not a
policy action: only the current approver of its chain (chassis.access.approvals) may, and never on their own item.
"""
from __future__ import annotations

from chassis.access.policy import Resource, register_table
from contracts.access import COMPLIANCE, INCENTIVES

BONUS, POINTS, TALENT, CONFIG, UNIT, BUDGET = ("incentives.bonus", "incentives.points", "incentives.talent",
                                               "incentives.config", "incentives.unit", "incentives.budget")


def register() -> None:
    """Incentives' actions (declared in contracts.access.INCENTIVES) in the chassis policy, and compliance's
    `dsr.request`, which the data-subject export checks (idempotent)."""
    register_table(INCENTIVES)
    register_table(COMPLIANCE, only=("dsr.request",))


def of(kind: str, person_id: str) -> Resource:
    return Resource(kind, owner=person_id)


def unit(org_unit_id: str, kind: str = UNIT) -> Resource:
    return Resource(kind, org_unit=org_unit_id)


def company() -> Resource:
    return Resource(CONFIG)
