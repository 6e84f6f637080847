"""AMQP consumer rules: which exchanges a client's patterns bind, and the topic-permission regex that allows
exactly the routing keys the AMQP pattern matches."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.domain import consumers, webhooks
from notifications.domain.errors import PatternNotAllowed

WORDS = st.sampled_from(["jixiao", "goals", "goal", "compliance", "appeal", "v1", "red"])
TYPES = st.lists(WORDS, min_size=1, max_size=6).map(".".join)
PATTERNS = st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=6).map(".".join)


def test_a_pattern_binds_the_exchanges_of_the_producers_it_can_match():
    B = consumers.Binding
    assert consumers.bindings(["jixiao.goals.#"]) == [B("goals.events", "jixiao.goals.#")]
    assert consumers.bindings(["jixiao.goals.goal.*.v1", "jixiao.goals.#", "jixiao.goals.#"]) == [
        B("goals.events", "jixiao.goals.#"), B("goals.events", "jixiao.goals.goal.*.v1")]
    assert {b.exchange for b in consumers.bindings(["jixiao.*.appeal.decided.v1"])} == {
        f"{area}.events" for area in consumers.AREAS}
    assert len(consumers.bindings(["#"])) == len(consumers.AREAS)
    assert consumers.bindings(["jixiao.payroll.#", "other.goals.#"]) == []  # no producer of the suite
    with pytest.raises(PatternNotAllowed) as refused:
        consumers.bindings(["jixiao.goals.#", "Bad Pattern"])
    assert refused.value.field == "event_patterns.1"


def test_names_are_the_clients_own():
    assert consumers.username("crm-1") == "ext-crm-1"
    assert consumers.queue_name("crm-1") == "ext-crm-1-events"


@given(PATTERNS, TYPES)
def test_the_topic_regex_allows_exactly_what_the_amqp_pattern_matches(pattern, routing_key):
    regex = f"^(?:{consumers.pattern_regex(pattern)})$"
    assert bool(re.match(regex, routing_key)) == webhooks.matches(pattern, routing_key)


def test_topic_permissions_list_every_exchange_and_read_nothing_where_nothing_is_bound():
    found = consumers.bindings(["jixiao.goals.goal.*.v1", "jixiao.compliance.appeal.decided.v1"])
    topics = consumers.topic_permissions(found)
    assert set(topics) == {f"{area}.events" for area in consumers.AREAS}
    assert topics["feedback.events"] == "^$" and topics["notifications.events"] == "^$"
    assert re.match(topics["goals.events"], "jixiao.goals.goal.created.v1")
    assert not re.match(topics["goals.events"], "jixiao.goals.cycle.created.v1")
    assert re.match(topics["compliance.events"], "jixiao.compliance.appeal.decided.v1")
    assert not re.match(topics["compliance.events"], "jixiao.compliance.grants.changed.v1")
