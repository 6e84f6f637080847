from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from compliance.domain.clients import (
    HASH_SCHEME,
    Client,
    ClientStatus,
    ParsedKey,
    check_client,
    client_allows_event,
    issue_api_key,
    matches_event,
    parse_api_key,
    verify_api_key,
)
from compliance.domain.errors import InvalidInput

NOW = datetime(2024, 5, 1, 9, tzinfo=UTC)
CLIENT = Client(
    id="payroll-sync",
    name="Payroll sync",
    scopes=frozenset({"goals:read", "incentives.bonus:read"}),
    event_patterns=("jixiao.incentives.*", "jixiao.*.review.finalized.v1"),
    dpa_ref="DPA-2024-017",
    dpa_expires=date(2024, 12, 31),
)


def test_check_client_allows_held_scopes():
    decision = check_client(CLIENT, NOW, "goals:read")
    assert decision.allowed
    assert decision.reason == "client payroll-sync holds scope goals:read"


@pytest.mark.parametrize(
    ("client", "now", "scope", "reason"),
    [
        (CLIENT, NOW, "goals:write", "client payroll-sync lacks scope goals:write"),
        (replace(CLIENT, status=ClientStatus.REVOKED), NOW, "goals:read", "client payroll-sync is revoked"),
        (CLIENT, datetime(2025, 1, 1, tzinfo=UTC), "goals:read", "DPA-2024-017 expired on 2024-12-31"),
    ],
)
def test_check_client_refusals(client, now, scope, reason):
    decision = check_client(client, now, scope)
    assert not decision.allowed
    assert reason in decision.reason


def test_the_agreement_is_valid_through_its_last_day_in_utc():
    assert check_client(CLIENT, datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "goals:read").allowed
    shanghai_new_year = datetime(2025, 1, 1, 7, 59, tzinfo=timezone(timedelta(hours=8)))
    assert check_client(CLIENT, shanghai_new_year, "goals:read").allowed


def test_status_loaded_as_a_plain_string_works():
    assert check_client(replace(CLIENT, status="active"), NOW, "goals:read").allowed
    assert not check_client(replace(CLIENT, status="revoked"), NOW, "goals:read").allowed


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"scopes": frozenset({"Goals"})}, ("scopes",)),
        ({"event_patterns": ("jixiao.goals.*", "jixiao..x")}, ("event_patterns", 1)),
        ({"event_patterns": ("jixiao.go*",)}, ("event_patterns", 0)),
        ({"dpa_ref": " "}, ("dpa_ref",)),
    ],
)
def test_client_validation(changes, path):
    with pytest.raises(InvalidInput) as raised:
        replace(CLIENT, **changes)
    assert raised.value.errors[0].path == path


@pytest.mark.parametrize(
    ("pattern", "event_type", "matches"),
    [
        ("jixiao.goals.*", "jixiao.goals.goal.progressed.v1", True),
        ("jixiao.goals.*", "jixiao.goals.x", True),
        ("jixiao.goals.*", "jixiao.goals", False),
        ("jixiao.goals.*", "jixiao.goalsx.goal.created.v1", False),
        ("jixiao.*.review.finalized.v1", "jixiao.feedback.review.finalized.v1", True),
        ("jixiao.*.review.finalized.v1", "jixiao.a.b.review.finalized.v1", False),
        ("jixiao.goals.goal.created.v1", "jixiao.goals.goal.created.v1", True),
        ("jixiao.goals.goal.created.v1", "jixiao.goals.goal.created.v2", False),
        ("*", "anything.at.all", True),
    ],
)
def test_event_patterns(pattern, event_type, matches):
    assert matches_event(pattern, event_type) is matches


def test_client_allows_event_only_while_active():
    assert client_allows_event(CLIENT, "jixiao.incentives.bonus.proposed.v1")
    assert not client_allows_event(CLIENT, "jixiao.goals.goal.created.v1")
    assert not client_allows_event(replace(CLIENT, status=ClientStatus.REVOKED), "jixiao.incentives.bonus.proposed.v1")


def test_issued_keys_round_trip_and_store_no_secret():
    plaintext, record = issue_api_key("payroll-sync")
    assert plaintext.startswith("jx_live_")
    parsed = parse_api_key(plaintext)
    assert parsed.key_id == record.key_id
    assert parsed.secret not in repr(record)
    assert record.scheme == HASH_SCHEME
    assert verify_api_key(parsed, record)
    assert not verify_api_key(ParsedKey(parsed.environment, parsed.key_id, "A" * 43), record)
    assert not verify_api_key(ParsedKey("test", parsed.key_id, parsed.secret), record)
    other_plaintext, other = issue_api_key("payroll-sync")
    assert other_plaintext != plaintext
    assert not verify_api_key(parsed, other)


def test_test_environment_keys():
    plaintext, record = issue_api_key("sandbox", "test")
    assert plaintext.startswith("jx_test_")
    assert record.environment == "test"
    with pytest.raises(InvalidInput):
        issue_api_key("sandbox", "staging")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "jx_live_",
        "sk_live_0123456789ab_" + "a" * 43,
        "jx_live_0123456789AB_" + "a" * 43,
        "jx_live_0123456789ab_" + "a" * 42,
    ],
)
def test_malformed_keys_are_rejected_before_any_lookup(text):
    with pytest.raises(InvalidInput):
        parse_api_key(text)


def test_unknown_hash_schemes_are_refused():
    plaintext, record = issue_api_key("payroll-sync")
    with pytest.raises(InvalidInput):
        verify_api_key(parse_api_key(plaintext), replace(record, scheme="md5"))
