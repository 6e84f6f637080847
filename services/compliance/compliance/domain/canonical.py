"""Canonical JSON: the exact bytes that audit hashes and checkpoint signatures are computed over.

The rules are part of the audit log's format; changing any of them invalidates every stored hash.

1. Objects: keys must be strings; members are sorted by key in Unicode code point order
   (Python's `str` ordering; note RFC 8785 sorts by UTF-16 code units, which differs only for
   keys containing characters outside the Basic Multilingual Plane).
2. No insignificant whitespace: separators are "," and ":".
3. Text is UTF-8 and not \\u-escaped, except what JSON requires (quote, backslash and the control
   characters U+0000-U+001F, written as Python's json module writes them). Unpaired surrogates are
   rejected.
4. Integers are decimal digits; true, false and null as in JSON.
5. Floats: NaN and infinities are rejected. A float with an integral value is written as that
   integer (1.0 → 1, 1e22 → 10000000000000000000000); any other float uses Python's shortest
   round-trip repr (0.1, 1e-07).
6. Decimals are written as JSON *strings* in plain notation without exponent or trailing zeros
   (Decimal("1.50") → "1.5", Decimal("1E+3") → "1000", Decimal("-0") → "0"); NaN, infinities and
   exponents beyond ±1000 are rejected. Strings, because a JSON column decoded with binary floats
   would otherwise change them.
7. datetime must be timezone-aware; it is converted to UTC and written "YYYY-MM-DDTHH:MM:SS.ffffffZ"
   (always six fractional digits). date is "YYYY-MM-DD". A naive datetime is rejected: its instant is
   unknown.
8. UUID → lowercase hyphenated string; Enum → its value (normalised again); tuple → array.
9. Anything else (sets, bytes, arbitrary objects) is rejected rather than guessed at.

Property the audit log relies on: a JSON round trip does not change the bytes, i.e.
canonical_json(json.loads(canonical_json(x))) == canonical_json(x), so entries read back from a
JSON database column verify without re-running `normalise`.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from enum import Enum
from typing import Any

from compliance.domain.errors import InvalidInput

_Path = tuple[str | int, ...]

MAX_DECIMAL_EXPONENT = 1000
# One encoder instance: json.dumps(**options) would build a new encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_text(moment: datetime) -> str:
    """Rule 7 for one datetime: "2024-05-01T08:00:00.000000Z"."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidInput("datetime must be timezone-aware")
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def decimal_text(value: Decimal) -> str:
    """Rule 6 for one Decimal."""
    if not value.is_finite():
        raise InvalidInput("decimal must be finite")
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:  # plain notation of 1E+999999 is a megabyte
        raise InvalidInput(f"decimal exponent beyond ±{MAX_DECIMAL_EXPONENT}")
    # normalize() rounds to the context precision; a context as wide as the number keeps every digit.
    exact = Context(prec=len(value.as_tuple().digits), Emax=MAX_EMAX, Emin=MIN_EMIN)
    return format(value.normalize(exact), "f")


def normalise(value: Any, path: _Path = ()) -> Any:
    """Return the JSON-native value (dict, list, str, int, float, bool, None) the rules above define."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise InvalidInput.at(path, f"object keys must be strings, not {type(key).__name__}")
                key = str.__str__(key)
            result[key] = normalise(item, (*path, key))
        return result
    if kind is list or kind is tuple:
        return [normalise(item, (*path, index)) for index, item in enumerate(value)]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput.at(path, "numbers must be finite")
        return int(value) if value.is_integer() else float(value)
    if isinstance(value, Decimal):
        try:
            return decimal_text(value)
        except InvalidInput as error:
            raise InvalidInput.at(path, error.message) from None
    if isinstance(value, datetime):
        try:
            return utc_text(value)
        except InvalidInput:
            raise InvalidInput.at(path, "datetime must be timezone-aware") from None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return normalise(value.value, path)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise InvalidInput.at(path, f"{kind.__name__} has no canonical JSON form")


def encode_normalised(value: Any) -> bytes:
    """Canonical bytes of a value that is already JSON-native (the output of `normalise`).

    The fast path for verification: no Python-level walk. Raises TypeError/ValueError when the value
    is not JSON-native after all, and UnicodeEncodeError for unpaired surrogates.
    """
    return _ENCODER.encode(value).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes of any value the rules accept; InvalidInput otherwise."""
    try:
        return encode_normalised(normalise(value))
    except UnicodeEncodeError:
        raise InvalidInput("text must not contain unpaired surrogates") from None
