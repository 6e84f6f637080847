"""The three audit truncation attacks of issue 10 (#2), held where they run against a real compliance and its own
PostgreSQL database (they need to stop the service, rewrite its tables as the database's owner could, and start it
again): services/compliance/tests/test_compliance_audit_witness.py. `make test` runs them; this module makes
`tests/security` name them, and fails if one is removed, renamed, or stops asserting that verify refuses the log.

- truncate the log and delete the checkpoints above the cut:
  test_truncating_the_log_and_its_checkpoints_is_caught
- edit an entry and move `anchor_sequence`/`anchor_hash` to it:
  test_moving_the_anchor_past_an_edited_entry_is_caught
- delete the entries after the last checkpoint:
  test_deleting_what_follows_the_last_checkpoint_is_caught
- and entries after the newest witnessed checkpoint are reported "unwitnessed", not "ok":
  test_entries_after_the_newest_witnessed_checkpoint_are_reported_unwitnessed
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

WITNESS_TESTS = Path(__file__).resolve().parents[2] / "services/compliance/tests/test_compliance_audit_witness.py"
ATTACKS = {
    "test_truncating_the_log_and_its_checkpoints_is_caught": ('DELETE FROM compliance_audit_checkpoints',
                                                              'not report["ok"]'),
    "test_moving_the_anchor_past_an_edited_entry_is_caught": ("anchor_sequence", 'not report["ok"]'),
    "test_deleting_what_follows_the_last_checkpoint_is_caught": ("DELETE FROM compliance_audit_entries",
                                                                 'not report["ok"]'),
    "test_entries_after_the_newest_witnessed_checkpoint_are_reported_unwitnessed": ('"unwitnessed"',),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_truncation_attack_has_its_test(name):
    tree = ast.parse(WITNESS_TESTS.read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert name in functions, f"{name} is gone from {WITNESS_TESTS.name}"
    source = ast.get_source_segment(WITNESS_TESTS.read_text(), functions[name]) or ""
    for needle in ATTACKS[name]:
        assert needle in source, f"{name} no longer does or checks {needle!r}"
    skipping = ("skip", "skipif", "xfail")
    assert not any(skipping_mark in ast.dump(decorator) for decorator in functions[name].decorator_list
                   for skipping_mark in (f"attr='{mark}'" for mark in skipping)), f"{name} is skipped"
