"""Compliance's own actions for the chassis policy engine, registered by `register()` (called once from the
service module: an explicit call, not an import side effect).

The directory, audit, data-subject, retention, client and settings actions (`person.read`, `audit.read`,
`appeal.decide`...) are still in the suite's shared table (chassis.access.policy.RULES), because every service's
read model decides them the same way; what only compliance decides is registered here."""
from __future__ import annotations

from chassis.access.policy import Relation, Rule, register_rules

RULES: dict[str, Rule] = {
    # HR business partners investigate appeals: HR or HRBP of the appellant's unit may take one up for review,
    # never the appellant nor their direct manager (who rated is vetoed by the use case from the target's facts).
    # Deciding stays with HR ("appeal.decide").
    "appeal.review": Rule("appeal", (Relation.HR_SCOPE, Relation.HRBP_SCOPE), (Relation.SELF, Relation.DIRECT_MANAGER)),
}

_registered = False


def register() -> None:
    """Add compliance's actions to the policy (idempotent)."""
    global _registered
    if not _registered:
        register_rules(RULES)
        _registered = True
