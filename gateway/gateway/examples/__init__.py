"""Real examples for the OpenAPI document, written once: each area's requests (`gateway.examples.<area>`, zh-CN
and en text, the demo organisation's ids from `gateway.demo`) run in order as one scenario against a seeded suite;
`recorded.json` keeps what the suite answered. The document shows each operation's request and its recorded
answer, and gateway/tests/test_gateway_examples.py sends every request again, as is, to a fresh suite.

A request names what an earlier step made by reference — `${create_cycle.id}`, `${create_goal.key_results.0.id}`
— resolved when recording; the recording holds the ids of that run, and a replay maps them onto the new run's.
A step is named by its operation id; a second call of the same operation (a review cycle advances stage by stage)
is named on its own (`name=`): the replay sends it, the document shows the operation's own step.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "recorded.json"
_REF = re.compile(r"\$\{([a-z_]+)\.([A-Za-z0-9_.]+)\}")
# an id the server made (a UUID, a hex key): the demo's own ids (E1003, U-PLAT) are the same in every run, and two
# answers listing people in another order must not map one person onto another
_MADE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,64}")


@dataclass(frozen=True)
class Step:
    operation_id: str
    actor: str  # the demo person (or "root", the bootstrap administrator) who sends it
    en: str  # what the example shows, in English
    zh: str  # and in Chinese
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # If-Match, where the operation requires it
    name: str = ""  # for another call of an operation already shown: [a-z_]+, what `${name.…}` refers to

    @property
    def key(self) -> str:
        return self.name or self.operation_id


def scenario() -> list[Step]:
    """Every area's steps, in the order they run (later steps use what earlier ones made)."""
    from gateway.examples import compliance, feedback, goals, incentives, meta, notifications

    return [*meta.STEPS, *compliance.STEPS, *goals.STEPS, *feedback.STEPS, *compliance.APPEALS,
            *notifications.STEPS, *incentives.STEPS, *compliance.CLOSING]


def _lookup(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def resolve(value: Any, answers: dict[str, Any]) -> Any:
    """`value` with every `${step.path}` replaced by that step's recorded answer's value."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(answers[whole.group(1)], whole.group(2))
        return _REF.sub(lambda m: str(_lookup(answers[m.group(1)], m.group(2))), value)
    if isinstance(value, dict):
        return {resolve(key, answers): resolve(item, answers) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, answers) for item in value]
    return value


def made_ids(recorded: Any, actual: Any, found: dict[str, str] | None = None) -> dict[str, str]:
    """Recorded id -> the id the same answer carries in this run (keys `id` and `*_id`, side by side). The first
    answer naming an id (the one that made it) decides; list items are paired by what they say besides made ids
    (Wang Fang's check-in with Wang Fang's), so a list in another order maps nothing onto the wrong record."""
    found = {} if found is None else found
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in recorded.items():
            if key not in actual:
                continue
            if (key == "id" or key.endswith("_id")) and isinstance(value, str) and isinstance(actual[key], str):
                if value != actual[key] and _MADE.fullmatch(value):
                    found.setdefault(value, actual[key])
            else:
                made_ids(value, actual[key], found)
    elif isinstance(recorded, list) and isinstance(actual, list):
        remaining = list(actual)
        for one in recorded:
            if not remaining:
                break
            other = max(remaining, key=lambda item: _likeness(one, item))  # ties: the first, i.e. the same place
            remaining.remove(other)
            made_ids(one, other, found)
    return found


def _likeness(one: Any, other: Any) -> int:
    """How many plain values (not made ids) two list items share."""
    if not (isinstance(one, dict) and isinstance(other, dict)):
        return 0
    return sum(1 for key, value in one.items()
               if isinstance(value, str | int | float | bool) and other.get(key) == value
               and not (isinstance(value, str) and _MADE.fullmatch(value)))


def rename(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {ids.get(key, key): rename(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [rename(item, ids) for item in value]
    return value


@cache
def replay() -> dict[str, dict[str, Any]]:
    """step key -> {operation_id, actor, en, zh, path, query, body, status, response}: every step, in order."""
    if not RECORDED.exists():
        return {}
    return {key: {"operation_id": key, **example}
            for key, example in json.loads(RECORDED.read_text(encoding="utf-8")).items()}


@cache
def recorded() -> dict[str, dict[str, Any]]:
    """operation id -> its documented example (the step named by the operation id), in scenario order."""
    return {key: example for key, example in replay().items() if key == example["operation_id"]}


def annotate(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The OpenAPI document with each recorded example on its operation: the request body, the path and query
    parameters, and the answer."""
    by_id = {operation.get("operationId"): operation for operations in document.get("paths", {}).values()
             for operation in operations.values() if isinstance(operation, dict)}
    for operation_id, example in recorded().items():
        operation = by_id.get(operation_id)
        if operation is None:
            continue
        title = f"{example['zh']} / {example['en']}"
        if example.get("body") is not None and "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            media["examples"] = {"demo": {"summary": title, "value": example["body"]}}
        given = {("path", k): v for k, v in example.get("path", {}).items()}
        given |= {("query", k): v for k, v in example.get("query", {}).items()}
        given |= {("header", k): v for k, v in example.get("headers", {}).items()}
        for parameter in operation.get("parameters", []):
            value = given.get((parameter.get("in"), parameter.get("name")))
            if value is not None:
                parameter["example"] = value
        answer = operation["responses"].get(str(example["status"]))
        if answer is not None and "content" in answer:
            answer["content"]["application/json"]["examples"] = {"demo": {"summary": title,
                                                                          "value": example["response"]}}
    return document
