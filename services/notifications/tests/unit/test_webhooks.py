"""Webhook rules: topic patterns and coverage, signatures, retry delays, URLs, agreements."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from notifications.domain import webhooks
from notifications.domain.errors import PatternNotAllowed, UnsafeUrl

WORDS = st.sampled_from(["jixiao", "goals", "goal", "compliance", "appeal", "v1", "red"])
TYPES = st.lists(WORDS, min_size=1, max_size=6).map(".".join)
PATTERNS = st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=6).map(".".join)


def test_topic_patterns_match_like_amqp():
    assert webhooks.matches("jixiao.goals.#", "jixiao.goals.goal.created.v1")
    assert webhooks.matches("jixiao.*.goal.created.v1", "jixiao.goals.goal.created.v1")
    assert not webhooks.matches("jixiao.goals.*", "jixiao.goals.goal.created.v1")
    assert webhooks.matches("#", "jixiao.goals.goal.created.v1")


def test_a_subscription_must_stay_within_the_clients_patterns_naming_the_offending_entry():
    client = ["jixiao.goals.#", "jixiao.compliance.appeal.*.v1"]
    assert webhooks.allowed_patterns(["jixiao.goals.goal.*.v1", "jixiao.compliance.appeal.decided.v1"], client)
    for wanted, index in ((["jixiao.goals.#", "jixiao.compliance.#"], 1), (["#"], 0),
                          (["jixiao.compliance.*.*.v1"], 0), (["jixiao.goals.goal.created.v1", "Bad Pattern"], 1)):
        with pytest.raises(PatternNotAllowed) as refused:
            webhooks.allowed_patterns(wanted, client)
        assert refused.value.field == f"event_types.{index}"


@given(PATTERNS, PATTERNS, TYPES)
def test_coverage_is_sound_every_type_the_inner_pattern_matches_the_outer_matches(outer, inner, event_type):
    if webhooks.covers(outer, inner) and webhooks.matches(inner, event_type):
        assert webhooks.matches(outer, event_type)


@given(TYPES)
def test_a_concrete_type_is_covered_exactly_when_it_matches(event_type):
    for pattern in ("#", "jixiao.#", "*.goals.#", event_type):
        assert webhooks.covers(pattern, event_type) == webhooks.matches(pattern, event_type)


def test_signatures_verify_with_the_right_secret_body_and_a_fresh_timestamp():
    body = b'{"specversion":"1.0","id":"e1"}'
    now = int(time.time())
    headers = webhooks.signed_headers("whsec_abc", "d1", now, body)
    assert headers["webhook-id"] == "d1"
    assert webhooks.verify("whsec_abc", headers, body, now)
    assert not webhooks.verify("whsec_abd", headers, body, now)
    assert not webhooks.verify("whsec_abc", headers, body + b" ", now)
    assert not webhooks.verify("whsec_abc", headers, body, now + webhooks.REPLAY_WINDOW + 1)  # replayed later


@given(st.integers(1, 30), st.floats(0, 0.999))
def test_retry_delays_grow_exponentially_within_the_cap_with_bounded_jitter(attempt, jitter):
    delay = webhooks.retry_delay(attempt, 2.0, 3600.0, jitter)
    full = min(3600.0, 2.0 * 2 ** (attempt - 1))
    assert full / 2 <= delay <= full
    assert webhooks.retry_delay(attempt + 1, 2.0, 3600.0, 0.0) >= webhooks.retry_delay(attempt, 2.0, 3600.0, 0.0)
    assert webhooks.after_failure(attempt, 8) == ("dead" if attempt >= 8 else "retry")


def resolver(table):
    return lambda host: table[host]


def test_production_calls_only_public_https_addresses():
    resolve = resolver({"hooks.example.com": ["93.184.216.34"], "evil.example.com": ["93.184.216.34", "10.0.0.5"],
                        "metadata.example.com": ["169.254.169.254"], "v6.example.com": ["::1"]})
    assert webhooks.check_url("https://hooks.example.com/x", True, resolve)
    for url in ("https://evil.example.com/x", "https://metadata.example.com/", "https://v6.example.com/",
                "http://hooks.example.com/x", "https://user:pw@hooks.example.com/", "ftp://hooks.example.com/"):
        with pytest.raises(UnsafeUrl) as refused:
            webhooks.check_url(url, True, resolve)
        assert refused.value.field == "url"
    assert webhooks.check_url("http://127.0.0.1:8080/x", False, resolve)


@given(st.ip_addresses())
def test_no_private_loopback_or_link_local_address_is_ever_public(address):
    assume(address.is_private or address.is_loopback or address.is_link_local or address.is_reserved)
    assert not webhooks._public(str(address))


def test_a_lapsed_agreement_or_a_revoked_client_stops_delivery():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert webhooks.stop_reason("active", now + timedelta(days=30), now) is None
    assert webhooks.stop_reason("active", now - timedelta(days=1), now).startswith("data-processing agreement lapsed")
    assert webhooks.stop_reason("revoked", None, now) == "client revoked"


def test_a_failing_receiver_pauses_longer_after_each_failure_in_a_row_up_to_the_cap():
    assert [webhooks.circuit_pause(n, 2.0, 60.0, threshold=3) for n in range(1, 9)] == [
        None, None, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]


def test_registry_patterns_become_amqp_patterns():
    """compliance's registry: a trailing `*` is everything below; AMQP's `*` is one word."""
    assert webhooks.from_registry("jixiao.goals.*") == "jixiao.goals.#"
    assert webhooks.from_registry("jixiao.*.appeal.decided.v1") == "jixiao.*.appeal.decided.v1"
    assert webhooks.from_registry("jixiao.goals.goal.created.v1") == "jixiao.goals.goal.created.v1"
    assert webhooks.matches(webhooks.from_registry("jixiao.goals.*"), "jixiao.goals.goal.created.v1")
