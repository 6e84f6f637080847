"""Edge field types the marshmallow core does not have, with their OpenAPI shapes."""
from __future__ import annotations

import decimal
import re

from marshmallow import ValidationError, fields, validate

# Exact numbers arrive as JSON numbers or decimal strings and leave as strings ("12.50", or "0E-9" as Python
# writes a zero with nine places). The edge bounds their magnitude to what every service column can hold
# (NUMERIC(20, 6)): a 10^15 target is a typo, not a goal.
DECIMAL_PATTERN = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?$"
DECIMAL_LIMIT = 10**14
_DECIMAL = re.compile(DECIMAL_PATTERN)


class Exact(fields.Decimal):
    """A decimal: a JSON number or a decimal string ("12.50"), below 10^14 in magnitude."""

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool) or (isinstance(value, str) and not _DECIMAL.fullmatch(value)):
            raise self.make_error("invalid")
        number = super()._validated(value)
        if abs(number) >= decimal.Decimal(DECIMAL_LIMIT):
            raise ValidationError("must be below 10^14 in magnitude")
        return number


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


NO_NUL = "^[^\\u0000]*$"  # the edge refuses U+0000 anywhere (no database column can store it)


def openapi_attributes(self, field, ret, **kwargs) -> dict:
    """apispec attribute function: the OpenAPI shape of the gateway's own field types, and the edge's NUL rule
    on every string."""
    if isinstance(field, fields.String) and "pattern" not in ret:
        return {"pattern": NO_NUL}
    if not isinstance(field, Exact):
        return {}
    number: dict = {"type": "number", "exclusiveMinimum": -DECIMAL_LIMIT, "exclusiveMaximum": DECIMAL_LIMIT}
    for key in [key for key in ret if key.startswith("x-") and key[2:] in _BOUNDS]:
        del ret[key]  # apispec's spelling for non-numbers; the bounds go on the number shape instead
    for rule in field.validators:
        if isinstance(rule, validate.Range):
            if rule.min is not None:
                number.pop("exclusiveMinimum", None)
                number["minimum" if rule.min_inclusive else "exclusiveMinimum"] = float(rule.min)
            if rule.max is not None:
                number.pop("exclusiveMaximum", None)
                number["maximum" if rule.max_inclusive else "exclusiveMaximum"] = float(rule.max)
    shapes: list[dict] = [number, {"type": "string", "pattern": DECIMAL_PATTERN}]
    if field.allow_none:
        shapes.append({"type": "null"})
    return {"anyOf": shapes}
