"""AMQP consumers of registered clients: which broker user and queue a client gets, which routing keys on which
events exchange its `event_patterns` allow, and the same allowance as a regex for RabbitMQ's topic permissions.

The suite declares the queue and binds it; the client's user may only read that queue (chassis.brokerusers
`consumer_permissions`), so the bindings are the whole of what it can receive.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from notifications.domain.webhooks import check_pattern

# The producers whose exchanges a client may read (`<area>.events`), as the event types name them.
AREAS = ("goals", "compliance", "feedback", "incentives", "notifications")
PREFIX = "ext-"


@dataclass(frozen=True, order=True)
class Binding:
    exchange: str
    routing_key: str


def username(client_id: str) -> str:
    return f"{PREFIX}{client_id}"


def queue_name(client_id: str) -> str:
    return f"{PREFIX}{client_id}-events"


def _areas_of(words: list[str], areas: Iterable[str]) -> list[str]:
    """The producers whose types (`jixiao.<area>.…`) the pattern can match."""
    if not words or words[0] == "#":
        return list(areas)
    if words[0] not in ("jixiao", "*") or len(words) < 2:
        return []
    if words[1] in ("*", "#"):
        return list(areas)
    return [words[1]] if words[1] in areas else []


def bindings(patterns: Iterable[str], areas: Iterable[str] = AREAS) -> list[Binding]:
    """One binding per pattern and exchange it can match, sorted, without duplicates. A pattern that can match no
    event type of the suite binds nothing."""
    areas = tuple(areas)
    found: set[Binding] = set()
    for i, pattern in enumerate(patterns):
        check_pattern(pattern, f"event_patterns.{i}")
        for area in _areas_of(pattern.split("."), areas):
            found.add(Binding(f"{area}.events", pattern))
    return sorted(found)


def pattern_regex(pattern: str) -> str:
    """An AMQP topic pattern (`*` one word, `#` zero or more) as an anchored-free regex over routing keys."""
    words: list[str] = []
    for word in pattern.split("."):
        if not (word == "#" and words and words[-1] == "#"):
            words.append(word)
    out, lead = "", True  # lead: the next token starts the key (no dot before it)
    for i, word in enumerate(words):
        if word == "#":
            if lead and i == len(words) - 1:
                out += r"(?:[^.]+(?:\.[^.]+)*)?"
            elif lead:
                out += r"(?:[^.]+\.)*"
            else:
                out += r"(?:\.[^.]+)*"
            continue
        token = "[^.]+" if word == "*" else re.escape(word)
        out += token if lead else r"\." + token
        lead = False
    return out


def topic_permissions(found: Iterable[Binding], areas: Iterable[str] = AREAS) -> dict[str, str]:
    """Per events exchange, the routing keys the client may read (`^$`: none). Every exchange is listed so an
    update also takes back what a narrowed pattern list no longer allows."""
    per_exchange: dict[str, list[str]] = {f"{area}.events": [] for area in areas}
    for binding in found:
        per_exchange.setdefault(binding.exchange, []).append(pattern_regex(binding.routing_key))
    return {exchange: (f"^(?:{'|'.join(regexes)})$" if regexes else "^$")
            for exchange, regexes in sorted(per_exchange.items())}
