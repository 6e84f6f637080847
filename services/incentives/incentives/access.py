"""Incentives' actions for the chassis policy engine (registered by `register()`, called from the service).

Pay and talent data are the most sensitive in the suite: a person's bonus, points, plan and talent review are read
by the person, their reporting line and HR/HRBP of their unit only, never by peers. Company configuration (process
rules, the reward menu) is company HR's; a pool is HR's of its unit. Approving a proposal or a redemption is not a
policy action: only the current approver of its chain (chassis.access.approvals) may, and never on their own item.
"""
from __future__ import annotations

from chassis.access.policy import Relation as R
from chassis.access.policy import Resource, Rule, register_rules

BONUS, POINTS, TALENT, CONFIG, UNIT, BUDGET = ("incentives.bonus", "incentives.points", "incentives.talent",
                                               "incentives.config", "incentives.unit", "incentives.budget")
_LINE = (R.SELF, R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.HR_SCOPE, R.HRBP_SCOPE)

# fmt: off
RULES: dict[str, Rule] = {
    "incentives.bonus.read":        Rule(BONUS,  _LINE),
    "incentives.bonus.propose":     Rule(BONUS,  (R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.HR_SCOPE), (R.SELF,)),
    "incentives.points.read":       Rule(POINTS, _LINE),
    "incentives.points.grant":      Rule(POINTS, (R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.HR_SCOPE), (R.SELF,)),
    "incentives.points.redeem":     Rule(POINTS, (R.SELF,)),  # one redeems only one's own points
    "incentives.talent.read":       Rule(TALENT, _LINE),
    "incentives.talent.assess":     Rule(TALENT, (R.DIRECT_MANAGER, R.INDIRECT_MANAGER), (R.SELF,)),
    "incentives.talent.calibrate":  Rule(TALENT, (R.HR_SCOPE, R.HRBP_SCOPE), (R.SELF,)),
    "incentives.idp.update":        Rule(TALENT, (R.SELF, R.DIRECT_MANAGER, R.INDIRECT_MANAGER)),
    # a unit's pools, budgets, 9-box and analytics: HR/HRBP of the unit
    "incentives.unit.read":         Rule(UNIT,   (R.HR_SCOPE, R.HRBP_SCOPE, R.ADMIN)),
    "incentives.unit.manage":       Rule(UNIT,   (R.HR_SCOPE, R.ADMIN)),
    "incentives.budget.read":       Rule(BUDGET, (R.HR_SCOPE, R.HRBP_SCOPE, R.ADMIN)),
    # company-wide: process rules, the reward menu
    "incentives.config.manage":     Rule(CONFIG, (R.COMPANY_HR, R.ADMIN)),
    "incentives.config.read":       Rule(CONFIG, (R.EMPLOYEE, R.COMPANY_HR, R.ADMIN)),
}
# fmt: on

_registered = False


def register() -> None:
    global _registered
    if not _registered:
        register_rules(RULES)
        _registered = True


def of(kind: str, person_id: str) -> Resource:
    return Resource(kind, owner=person_id)


def unit(org_unit_id: str, kind: str = UNIT) -> Resource:
    return Resource(kind, org_unit=org_unit_id)


def company() -> Resource:
    return Resource(CONFIG)
