"""Compliance's actions for the chassis policy engine, registered by `register()` (called once from the service
module: an explicit call, not an import side effect).

Compliance's own actions (the directory, audit, appeals, data-subject requests, retention, clients, settings) are
declared as data in `contracts.access.COMPLIANCE`, beside every other service's table: its `decide` RPC
(`POST /access/decisions`) answers for any action of the suite, so compliance registers every table, each under
its owner, exactly as the owner declares it."""
from __future__ import annotations

from chassis.access.policy import register_table
from contracts.access import TABLES


def register() -> None:
    """Add every service's declared actions to the policy, each under its owner (idempotent)."""
    for table in TABLES.values():
        register_table(table)
