"""Problem documents in the caller's language: `Accept-Language` (q-values honoured) picks zh-CN or en, English
by default and for any language the catalogue lacks. Titles are translated by problem code, field messages by
their kind (`gateway.i18n.catalogue`); field names are API names and never change. A message of no known kind (a
service's own sentence) is left as it was written.
"""
from __future__ import annotations

import json
import re
from typing import Any

from chassis.errors import PROBLEM_BASE
from gateway.i18n.catalogue import DEFAULT, LANGUAGES, MESSAGE_KINDS, TITLES

_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?))?\s*")


def _supported(tag: str) -> str | None:
    """The catalogue language a language range asks for: `zh`, `zh-CN`, `zh-Hans-CN` -> zh-CN; `en-GB` -> en."""
    primary = tag.split("-", 1)[0].lower()
    for language in LANGUAGES:
        if language.split("-", 1)[0].lower() == primary:
            return language
    return None


def negotiate(header: str | None) -> str:
    """The language to answer in: the supported language with the highest q-value (the first listed on a tie);
    `*` means the default; anything unparseable or unsupported falls back to the default (en)."""
    best, best_q = DEFAULT, 0.0
    for part in (header or "").split(",")[:32]:  # a header of a thousand ranges gets no more attention than 32
        match = _RANGE.fullmatch(part)
        if match is None:
            continue
        tag, q = match.group(1), float(match.group(2)) if match.group(2) else 1.0
        language = DEFAULT if tag == "*" else _supported(tag)
        if language is not None and q > best_q:
            best, best_q = language, q
    return best


def message(text: str, language: str) -> str:
    """A field message in `language`, when it is of a kind the catalogue knows."""
    if language == DEFAULT:
        return text
    for kind in MESSAGE_KINDS:
        match = kind.pattern.fullmatch(text)
        if match is not None:
            return kind.text[language].format(**match.groupdict())
    return text


def title(code: str, fallback: str, language: str) -> str:
    return TITLES.get(code, {}).get(language, fallback)


def localise(document: dict[str, Any], language: str) -> dict[str, Any]:
    """The problem document with its title and field messages in `language` (field names, codes and ids as they
    were). The detail, when it only restates the field messages (`field: message; ...`), is restated in turn."""
    if language == DEFAULT:
        return document
    out = dict(document)
    code = str(document.get("type", "")).removeprefix(PROBLEM_BASE)
    out["title"] = title(code, str(document.get("title", "")), language)
    errors = document.get("errors")
    if isinstance(errors, list):
        restated = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors[:5] if isinstance(e, dict))
        out["errors"] = [{**e, "message": message(e["message"], language)}
                         if isinstance(e, dict) and isinstance(e.get("message"), str) else e for e in errors]
        if errors and document.get("detail") == restated:
            out["detail"] = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in out["errors"][:5]
                                      if isinstance(e, dict))
    elif document.get("detail") == document.get("title"):
        out["detail"] = out["title"]
    return out


def localise_body(body: bytes, language: str) -> bytes | None:
    """A problem document's bytes in `language`, or None when they are not a problem document."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    return json.dumps(localise(document, language), separators=(",", ":"), ensure_ascii=False).encode()
