"""Test vhosts that killed runs leave behind are dropped by the next test session: a name says when it was made,
and a vhost older than a few hours (or named the old way, without its age) is stale; a fresh one, which a run going
on beside this one may be using, is kept."""
from __future__ import annotations

import subprocess
import time

import pytest

from chassis.testing import infra


def test_a_vhost_name_carries_its_age():
    now = time.time()
    fresh, old = infra.vhost_name(now - 60), infra.vhost_name(now - 7 * 3600)
    assert fresh.startswith("jx-test-") and fresh != infra.vhost_name(now - 60)
    assert not infra.vhost_is_stale(fresh, now)
    assert infra.vhost_is_stale(old, now)
    assert infra.vhost_is_stale("jx-test-0123456789ab", now)  # the old form, from before names carried their age
    for other in ("/", "name", "jixiao", "jx-test-", "jx-test-zzzzzzzz-00000000", "jx-bench-0123456789ab"):
        assert not infra.vhost_is_stale(other, now)


def _vhosts(ctl: str) -> set[str]:
    listed = subprocess.run([ctl, "list_vhosts", "-q", "name"], capture_output=True, text=True, timeout=120)
    return set(listed.stdout.split())


def test_the_sweep_drops_stale_test_vhosts_and_keeps_fresh_ones(vhosts):
    if not vhosts.ctl:
        pytest.skip("needs rabbitmqctl beside the broker")
    now = time.time()
    old, legacy, fresh = infra.vhost_name(now - 7 * 3600), "jx-test-" + "5eed" * 3, infra.vhost_name(now)
    for name in (old, legacy, fresh):
        subprocess.run([vhosts.ctl, "add_vhost", name], check=True, capture_output=True, timeout=120)
    sweeper = infra.VhostManager(vhosts.amqp_uri)
    try:
        sweeper.sweep_stale()
        sweeper.close()  # waits for the drops it started
        left = _vhosts(vhosts.ctl)
        assert old not in left and legacy not in left
        assert fresh in left
    finally:
        subprocess.run([vhosts.ctl, "delete_vhost", fresh], capture_output=True, timeout=120)
