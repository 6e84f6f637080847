"""Real examples for the OpenAPI document, written once: each area's requests (`gateway.examples.<area>`, zh-CN
and en text, the demo organisation's ids from `gateway.demo`) run in order as one scenario against a seeded suite;
`recorded.json` keeps what the suite answered. The document shows each operation's request and its recorded
answer, and gateway/tests/test_gateway_examples.py sends every request again, as is, to a fresh suite.

A request names what an earlier step made by reference — `${create_cycle.id}`, `${create_goal.key_results.0.id}`
— resolved when recording; the recording holds the ids of that run, and a replay maps them onto the new run's.
A step is named by its operation id; a second call of the same operation (a review cycle advances stage by stage)
is named on its own (`name=`): the replay sends it, the document shows the operation's own step.

Secrets the recording run was really given (an API key, a webhook secret, RabbitMQ credentials, a signed token)
and the test broker's vhost and address never reach the document: `REDACTIONS` below, the one place that lists
them, turns each into an obviously illustrative value of the same shape before recorded.json is written, and
`leaks` finds any that look live. No step sends such a value back (`secret_references` refuses the recording if
one would: a replay would send the placeholder, which the server would rightly refuse).
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

RECORDED = Path(__file__).parent / "recorded.json"
_REF = re.compile(r"\$\{([a-z_]+)\.([A-Za-z0-9_.]+)\}")
# an id the server made (a UUID, a hex key): the demo's own ids (E1003, U-PLAT) are the same in every run, and two
# answers listing people in another order must not map one person onto another
_MADE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,64}")


# -- secrets in examples -----------------------------------------------------------------------------------------

def _example_chars(length: int) -> str:
    """`length` characters that no one would take for a real secret."""
    return ("0123example" * (length // 11 + 1))[:length]


EXAMPLE_PASSWORD = "example-password-0123456789abcdef"  # noqa: S105 (the illustrative placeholder)
EXAMPLE_VHOST = "/jixiao"  # the suite's one vhost name (deploy/README.md)
EXAMPLE_BROKER = "rabbitmq.example.internal:5672"
_API_KEY = re.compile(r"(?P<head>jx_(?:live|test)_[0-9a-f]{12}_)(?P<secret>[A-Za-z0-9_-]+)")
_JWT = re.compile(r"(?P<head>eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.)(?P<signature>[A-Za-z0-9_-]+)")
_WEBHOOK_SECRET = re.compile(r"whsec_(?P<secret>[A-Za-z0-9_-]+)")


def _api_key(value: str) -> str:
    """jx_live_<key id>_<secret>: the key id stays (the answer's `key_id` names it), the secret is illustrative."""
    found = _API_KEY.fullmatch(value)
    return found["head"] + _example_chars(len(found["secret"])) if found else _example_chars(len(value))


def _webhook_secret(value: str) -> str:
    return "whsec_" + _example_chars(max(len(value) - len("whsec_"), 16))


def _password(value: str) -> str:
    return EXAMPLE_PASSWORD


def _vhost(value: str) -> str:
    return EXAMPLE_VHOST


def _amqp_uri(value: str) -> str:
    """amqp://<user>:<password>@<host>/<vhost>: the user stays, the rest is the illustrative broker."""
    user = urlsplit(value).username or "consumer"
    return f"amqp://{user}:{EXAMPLE_PASSWORD}@{EXAMPLE_BROKER}/{quote(EXAMPLE_VHOST, safe='')}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _signed_token(value: str) -> str:
    """A JWT keeps its header, subject and times (what the example explains); its issuer and audience are the
    gateway's defaults (what `make up`'s development login issues, not the test's), its id and signature are
    illustrative."""
    from gateway.settings import GatewaySettings

    found = _JWT.fullmatch(value)
    if found is None:
        return _example_chars(len(value))
    header, payload, _ = value.split(".")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return f"{header}.{_b64(b'{}')}.{_example_chars(len(found['signature']))}"
    defaults = GatewaySettings.model_fields
    claims |= {key: default for key, default in (("iss", defaults["jwt_issuer"].default),
                                                 ("aud", defaults["jwt_audience"].default),
                                                 ("jti", _example_chars(32))) if key in claims}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{body}.{_example_chars(len(found['signature']))}"


@dataclass(frozen=True)
class Redaction:
    field: str  # the JSON key, wherever it occurs in a recorded request or answer
    what: str
    redact: Callable[[str], str]


REDACTIONS: tuple[Redaction, ...] = (
    Redaction("api_key", "an issued API key (shown once to its client)", _api_key),
    Redaction("secret", "a webhook subscription's signing secret", _webhook_secret),
    Redaction("password", "an AMQP consumer's RabbitMQ password", _password),
    Redaction("amqp_uri", "an AMQP consumer's URI: password, the test broker's address and vhost", _amqp_uri),
    Redaction("vhost", "the recording run's own test vhost", _vhost),
    Redaction("access_token", "a signed token of the development login", _signed_token),
    Redaction("refresh_token", "a refresh token", _signed_token),
)
_REDACT = {redaction.field: redaction.redact for redaction in REDACTIONS}


def redact(value: Any) -> Any:
    """`value` with every REDACTIONS field's string turned illustrative (None, lists and numbers stay)."""
    if isinstance(value, dict):
        return {key: _REDACT[key](item) if key in _REDACT and isinstance(item, str) else redact(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


# what a live secret or the test environment looks like in a string
_LIVE = (
    ("an API key", _API_KEY, lambda found: found["secret"] != _example_chars(len(found["secret"]))),
    ("a webhook secret", _WEBHOOK_SECRET, lambda found: found["secret"] != _example_chars(len(found["secret"]))),
    ("a signed token", _JWT, lambda found: found["signature"] != _example_chars(len(found["signature"]))),
    ("a test vhost or database", re.compile(r"jx-test-|jxt_|jxb_"), lambda found: True),
    ("a local broker or database", re.compile(r"(?:amqp|postgresql\S*)://\S*@(?:127\.|localhost|\[::1\])"),
     lambda found: True),
)


def leaks(value: Any, at: str = "") -> list[str]:
    """Where `value` holds something that looks like a live secret or names the test environment: a string that
    matches one, or a REDACTIONS field whose value is not what `redact` makes of it."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _REDACT and isinstance(item, str) and _REDACT[key](item) != item:
                out.append(f"{at}.{key}: {item[:24]}... is not redacted")
            else:
                out += leaks(item, f"{at}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += leaks(item, f"{at}.{index}")
    elif isinstance(value, str):
        for what, pattern, live in _LIVE:
            if any(live(found) for found in pattern.finditer(value)):
                out.append(f"{at}: {value[:24]}... looks like {what}")
    return out


def secret_references(step: Step) -> list[str]:
    """The `${step.path}` references of a step's request that name a redacted field: the replay would send the
    placeholder where the server checks the secret."""
    text = json.dumps([step.path, step.query, step.body, step.headers], ensure_ascii=False)
    return [found.group(0) for found in _REF.finditer(text) if found.group(2).split(".")[-1] in _REDACT]


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
