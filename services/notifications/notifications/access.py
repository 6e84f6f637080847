"""The notifications service's actions in the chassis policy (registered once by service.py)."""
from __future__ import annotations

from chassis.access import Relation, Rule, register_rules

RULES = {
    # a person's contact details and preferences: themselves, their HR, administrators
    "notification.preferences": Rule("person", (Relation.SELF, Relation.HR_SCOPE, Relation.ADMIN)),
    # message templates: company HR and administrators
    "notification.templates": Rule("notification_template", (Relation.COMPANY_HR, Relation.ADMIN)),
    # webhook subscriptions and their deliveries: administrators, or the client itself (scope webhooks:write)
    "webhook.manage": Rule("webhook", (Relation.ADMIN,)),
    "delivery.read": Rule("delivery", (Relation.ADMIN, Relation.AUDITOR)),
}
CLIENT_SCOPES = {"webhook.manage": "webhooks:write"}


def register() -> None:
    register_rules(RULES, CLIENT_SCOPES)
