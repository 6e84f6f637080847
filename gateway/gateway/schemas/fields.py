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
INTEGER_DIGITS = 14  # below 10^14
FRACTION_DIGITS = 20
_DECIMAL = re.compile(DECIMAL_PATTERN)


class Exact(fields.Decimal):
    """A decimal: a JSON number or a decimal string ("12.50"), below 10^14 in magnitude; a string with at most
    `decimal_places` places and `max_digits` digits when the contract says so (its pattern states them)."""

    def __init__(self, *, decimal_places: int | None = None, max_digits: int | None = None, **kwargs):
        super().__init__(as_string=True, **kwargs)
        self.decimal_places, self.max_digits = decimal_places, max_digits

    def _validated(self, value):
        if isinstance(value, bool) or (isinstance(value, str) and not _DECIMAL.fullmatch(value)):
            raise self.make_error("invalid")
        number = super()._validated(value)
        if abs(number) >= decimal.Decimal(DECIMAL_LIMIT):
            raise ValidationError("must be below 10^14 in magnitude")
        if not isinstance(value, str):  # a JSON number's places are not stated (a binary float has none of its
            return number  # own): the service counts them, and refuses with the document's 422
        digits, exponent = _digits(number)
        if self.decimal_places is not None and -exponent > self.decimal_places:
            raise ValidationError(f"at most {self.decimal_places} decimal places")
        if self.max_digits is not None and digits > self.max_digits:
            raise ValidationError(f"at most {self.max_digits} digits in total")
        return number


def _digits(number: decimal.Decimal) -> tuple[int, int]:
    """(digits, exponent) as pydantic counts them: trailing zeros of the fraction do not count."""
    _, mantissa, exponent = number.normalize().as_tuple() if number else (0, (0,), 0)
    assert isinstance(exponent, int)  # finite: checked above
    exponent = min(exponent, 0)
    return max(len(mantissa), -exponent) if exponent < 0 else len(mantissa) + exponent, exponent


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


NO_NUL = "^[^\\u0000]*$"  # the edge refuses U+0000 anywhere (no database column can store it)


def _whole(limit: int, zero: bool = True) -> str | None:
    """A regex for the whole numbers 0 (or 1, `zero=False`) .. limit-1, without leading zeros; None: none."""
    top = str(limit - 1)
    start = 0 if zero else 1
    if limit - 1 < start:
        return None
    if len(top) == 1:
        return f"[{start}-{top}]"
    parts = ["0"] if zero else []
    parts.append(f"[1-9][0-9]{{0,{len(top) - 2}}}")  # every shorter number
    for i, digit in enumerate(top):  # top's length: top's prefix, one digit below top's, then anything
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(top) - i - 1
            parts.append(top[:i] + f"[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(top)
    return "(" + "|".join(parts) + ")"


def decimal_string_pattern(low: float | None, high: float | None, low_inclusive: bool = True,
                           high_inclusive: bool = True, places: int | None = None,
                           max_digits: int | None = None) -> str:
    """The decimal strings the edge and the contract accept: below 10^14, within whole-number bounds, with at most
    `places` places and `max_digits` digits (as a regex a client can generate from). Exponents (`0E-9`, which
    Python writes for a zero with nine places) only where no places are counted."""
    fraction = min(FRACTION_DIGITS, places if places is not None else FRACTION_DIGITS)
    whole_digits = INTEGER_DIGITS
    if max_digits is not None:
        fraction = min(fraction, max_digits // 2) if places is None else fraction
        whole_digits = max(1, min(whole_digits, max_digits - fraction))
    frac = f"(\\.[0-9]{{1,{fraction}}})?" if fraction else ""
    zeros = f"(\\.0{{1,{fraction}}})?" if fraction else ""

    def magnitude(limit: float | None, inclusive: bool, above_zero: bool = False) -> str:
        """0 <= x (0 < x with `above_zero`) and x <= limit (x < limit unless `inclusive`); no limit: below
        10^whole_digits."""
        if limit is None or limit >= 10**whole_digits:
            whole = f"[1-9][0-9]{{0,{whole_digits - 1}}}" if above_zero else f"[0-9]{{1,{whole_digits}}}"
            parts = [whole + frac]
        else:
            whole = _whole(int(limit), zero=not above_zero)
            parts = [whole + frac] if whole else []
            if inclusive:
                parts.append(f"{int(limit)}{zeros}")
        if above_zero and fraction:
            parts.append(f"0\\.[0-9]{{0,{fraction - 1}}}[1-9]")
        return "(" + "|".join(parts) + ")"

    if low is not None and low > 0:
        raise ValueError("positive lower bounds are not stated as a pattern")  # none in the contracts yet
    above_zero = low == 0 and not low_inclusive
    shapes = [magnitude(high, high_inclusive, above_zero)]
    if low is None or low < 0:
        shapes.append("-" + magnitude(None if low is None else -low, low_inclusive))
    # exponents only where nothing counts places and a zero is allowed ("0E-9" is zero)
    exponent = "([eE]-[0-9]{1,2})?" if places is None and max_digits is None and not above_zero else ""
    return "^(" + "|".join(shapes) + ")" + exponent + "$"


def openapi_attributes(self, field, ret, **kwargs) -> dict:
    """apispec attribute function: the OpenAPI shape of the gateway's own field types, and the edge's NUL rule
    on every string."""
    if isinstance(field, fields.String) and "pattern" not in ret:
        return {"pattern": NO_NUL}
    if not isinstance(field, Exact):
        return {}
    for key in [key for key in ret if key.startswith("x-") and key[2:] in _BOUNDS]:
        del ret[key]  # apispec's spelling for non-numbers; the bounds go on the shapes instead
    low = high = None
    low_inclusive = high_inclusive = True
    for rule in field.validators:
        if isinstance(rule, validate.Range):
            low, high, low_inclusive, high_inclusive = rule.min, rule.max, rule.min_inclusive, rule.max_inclusive
    # places are stated on the string only: no schema states them on a JSON number (multipleOf 0.01 is itself a
    # binary fraction), so a number with more places than the contract's is the service's 422
    number: dict = {"type": "number", "exclusiveMinimum": -DECIMAL_LIMIT, "exclusiveMaximum": DECIMAL_LIMIT}
    if field.max_digits is not None and field.max_digits - (field.decimal_places or 0) < INTEGER_DIGITS:
        whole = 10 ** (field.max_digits - (field.decimal_places or 0))
        number["exclusiveMinimum"], number["exclusiveMaximum"] = -whole, whole
    if low is not None:
        number.pop("exclusiveMinimum", None)
        number["minimum" if low_inclusive else "exclusiveMinimum"] = float(low)
    if high is not None:
        number.pop("exclusiveMaximum", None)
        number["maximum" if high_inclusive else "exclusiveMaximum"] = float(high)
    pattern = decimal_string_pattern(low, high, low_inclusive, high_inclusive, field.decimal_places,
                                     field.max_digits)
    shapes: list[dict] = [number, {"type": "string", "pattern": pattern}]
    if field.allow_none:
        shapes.append({"type": "null"})
    return {"anyOf": shapes}
