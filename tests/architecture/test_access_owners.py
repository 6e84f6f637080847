"""Each service, alone in its process as it runs, registers its own declared actions (contracts.access) and no
other owner's but those it decides too: compliance's `dsr.request` (the data-subject export every service answers),
and, in compliance, every table (its `decide` RPC answers for any action). Every action its RPC table names is
then known to the policy in that process: nothing it decides falls to "unknown action" (denied)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from contracts.access import TABLES
from contracts.rpc import table_of

SERVICES = sorted(TABLES)
ACTION = re.compile(r"(?<![\w.`])[a-z][a-z_]*(?:\.[a-z_]+)+(?![\w.`(])")  # as tests/architecture/test_rpc_tables.py

# in a fresh interpreter: importing the service module registers its actions, as `nameko run` does
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1] + ".service")
from chassis.access.policy import CLIENT_SCOPES, OWNERS
aliases = sorted(getattr(importlib.import_module(sys.argv[1] + ".access"), "POLICY", {}))  # goals' own names
print(json.dumps({"owners": dict(OWNERS), "scopes": dict(CLIENT_SCOPES), "aliases": aliases}))
"""


def registered_in(service: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, service], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_registers_its_own_table_and_only_what_it_decides_of_others(service):
    found = registered_in(service)
    owners = found["owners"]
    own = TABLES[service]
    assert {action for action, owner in owners.items() if owner == service} == set(own.rules)
    borrowed = {action: owner for action, owner in owners.items() if owner != service}
    if service == "compliance":  # its decide RPC answers for any action: every table, each under its owner
        assert owners == {action: table.owner for table in TABLES.values() for action in table.rules}
    else:
        assert borrowed == {"dsr.request": "compliance"}
    assert found["scopes"] == {action: scope for table in TABLES.values() for action, scope in
                               table.client_scopes.items() if action in owners}
    named = {action for rpc in table_of(service).rpcs for action in ACTION.findall(rpc.access)}
    unknown = named - set(owners) - set(found["aliases"])
    assert not unknown, f"{service} names actions it does not register: {sorted(unknown)}"
