"""The chassis policy engine holds no domain action: the services declare theirs as data (contracts.access) and
register them; each action has exactly one owner, and the engine refuses a table that contradicts another."""
from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType

import pytest

from chassis.access.policy import OWNERS, RULES, Relation, Rule, register_table, rule_of
from contracts.access import RELATIONS, TABLES, ActionRule, ActionTable, owners_of


def test_the_chassis_knows_no_action_before_a_service_registers():
    # a fresh interpreter: this one has registered tables for the other tests
    probe = ("import chassis.access, chassis.access.policy as p; "
             "print(len(p.RULES), len(p.CLIENT_SCOPES), len(p.OWNERS))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "0", "0"]


def test_every_action_is_declared_by_exactly_one_owner():
    for owner, table in TABLES.items():
        assert table.owner == owner
        for action in table.rules:
            assert owners_of(action) == [owner], action
        assert set(table.client_scopes) <= set(table.rules), owner  # a table opens only its own actions
    assert owners_of("goal.explode") == []


def test_the_declared_relation_names_are_the_engines():
    assert set(RELATIONS) == {relation.value for relation in Relation}
    for table in TABLES.values():
        for action, declared in table.rules.items():
            assert set(declared.allow) | set(declared.veto) <= set(RELATIONS), action
            assert declared.allow, f"{action} allows nobody"


def test_a_table_is_registered_as_declared_under_its_owner():
    register_table(TABLES["goals"])
    register_table(TABLES["compliance"], only=("dsr.request",))
    assert RULES["goal.approve"] == Rule("goal", (Relation.DIRECT_MANAGER, Relation.INDIRECT_MANAGER),
                                         (Relation.SELF,))
    assert OWNERS["goal.approve"] == "goals" and OWNERS["dsr.request"] == "compliance"
    register_table(TABLES["goals"])  # again: a no-op
    assert RULES["goal.approve"] == rule_of(TABLES["goals"].rules["goal.approve"])


def _table(owner: str, rules: dict[str, ActionRule], scopes: dict[str, str] | None = None) -> ActionTable:
    return ActionTable(owner, MappingProxyType(rules), MappingProxyType(scopes or {}))


def test_another_owner_cannot_take_an_action_over():
    register_table(TABLES["goals"])
    same_rule = TABLES["goals"].rules["goal.read"]
    with pytest.raises(ValueError, match="already registered by goals"):
        register_table(_table("feedback", {"goal.read": same_rule}))
    assert OWNERS["goal.read"] == "goals"


def test_a_contradicting_rule_an_unknown_relation_or_an_undeclared_action_is_refused():
    register_table(TABLES["goals"])
    with pytest.raises(ValueError, match="another rule"):
        register_table(_table("goals", {"goal.update": ActionRule("goal", ("admin",))}))
    with pytest.raises(ValueError, match="unknown relation"):
        register_table(_table("toy", {"toy.poke": ActionRule("toy", ("friend_of_a_friend",))}))
    with pytest.raises(ValueError, match=r"declares no action 'goal\.explode'"):
        register_table(TABLES["goals"], only=("goal.explode",))
    assert "toy.poke" not in RULES and "goal.explode" not in RULES
    assert RULES["goal.update"] == rule_of(TABLES["goals"].rules["goal.update"])


def test_client_scopes_come_with_their_actions_only():
    probe = ("import chassis.access.policy as p; from contracts.access import COMPLIANCE; "
             "p.register_table(COMPLIANCE, only=('dsr.request',)); print(sorted(p.CLIENT_SCOPES)); "
             "p.register_table(COMPLIANCE); print(sorted(p.CLIENT_SCOPES))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "['audit.read', 'person.lookup']"]
