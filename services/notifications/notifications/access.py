"""The notifications service's actions in the chassis policy: declared as data in `contracts.access.NOTIFICATIONS`
(compliance's `decide` answers for them too), registered once by service.py."""
from __future__ import annotations

from chassis.access import register_table
from contracts.access import COMPLIANCE, NOTIFICATIONS


def register() -> None:
    """Notifications' actions, and compliance's `dsr.request`, which the data-subject export checks (idempotent)."""
    register_table(NOTIFICATIONS)
    register_table(COMPLIANCE, only=("dsr.request",))
