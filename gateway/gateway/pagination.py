"""Cursor pagination for every list: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

The cursor is opaque to clients. It wraps either the service's own cursor (a service that pages itself takes a
limit and a cursor and answers its items and a next cursor, under names `Paging` gives), or, for a service that
answers a whole short list, an offset the gateway pages with. Wrapping means a forged or mangled cursor is refused
here as a 400, never handed to a service.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.problems import invalid

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,1000}$"  # what encode_cursor writes: unpadded base64url
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Paging:
    """How one list RPC pages. `by_service=False`: it answers everything and the gateway slices."""

    by_service: bool = True
    items: str = "items"  # the result key holding the items
    cursor: str = "cursor"  # the payload field taking the service's cursor
    limit: str = "limit"  # the payload field taking the page size


SERVICE = Paging()
GATEWAY = Paging(by_service=False)


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, by_service: bool) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        state = None
    if by_service:
        valid = isinstance(state, dict) and len(state) == 1 and isinstance(state.get("s"), (str, int)) \
            and not isinstance(state.get("s"), bool)
    else:
        valid = isinstance(state, dict) and len(state) == 1 and type(state.get("o")) is int and state["o"] >= 0
    if not valid:
        raise invalid("cursor", "not a cursor this list gave out", "query")
    return state


class Page:
    def __init__(self, paging: Paging, limit: int, cursor: str | None):
        self.paging = paging
        self.limit = limit
        self.state = decode_cursor(cursor, paging.by_service) if cursor else {}
        self.next_cursor: str | None = None

    @classmethod
    def from_query(cls, paging: Paging, query: dict[str, Any]) -> Page:
        """Takes `limit` and `cursor` out of the validated query (what remains are filters)."""
        return cls(paging, int(query.pop("limit", DEFAULT_LIMIT)), query.pop("cursor", None))

    def fetch(self, call: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """`call(extra)` runs the list RPC with `extra` added to its payload; answers the page envelope (and any
        other member of the service's answer, such as a board's aggregates)."""
        paging = self.paging
        if paging.by_service:
            extra: dict[str, Any] = {paging.limit: self.limit}
            if self.state:
                extra[paging.cursor] = self.state["s"]
            result = call(extra)
            items = list(result.get(paging.items) or [])
            upstream = result.get("next_cursor")
            self.next_cursor = encode_cursor({"s": upstream}) if upstream is not None else None
        else:
            result = call({})
            if not isinstance(result, dict):
                result = {paging.items: result}
            everything = list(result.get(paging.items) or [])
            offset = self.state.get("o", 0)
            items = everything[offset:offset + self.limit]
            end = offset + len(items)
            self.next_cursor = encode_cursor({"o": end}) if end < len(everything) else None
        rest = {key: value for key, value in result.items() if key not in (paging.items, "next_cursor")}
        return {**rest, "items": items, "next_cursor": self.next_cursor}
