"""Exact-number helpers shared by the domain modules.

Targets, weights and money are Decimal; floats are refused at the domain boundary because binary
fractions would make totals like 100.00 fail by an invisible epsilon.
"""

from __future__ import annotations

from decimal import Decimal

from goals.domain.errors import InvalidInput

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def to_decimal(value: object, field: str) -> Decimal:
    """Return ``value`` as a finite Decimal; accepts Decimal and int (not bool, not float)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise InvalidInput(field, f"must be a Decimal or an integer, got {type(value).__name__}")
    result = value if type(value) is Decimal else Decimal(value)
    if not result.is_finite():
        raise InvalidInput(field, "must be a finite number")
    return result


# beyond this many digits from the decimal point, the integer ratio of a value would be a huge number: the digit
# tuple instead (a value like 1E+100000000 must not allocate a billion digits)
_RATIO_DIGITS = 4000


def fits_places(value: Decimal, places: int) -> bool:
    """True when ``value`` is exactly representable with ``places`` decimal places.

    Exact rational arithmetic (the value's integer ratio, 2-4x faster than the digit tuple on the 10,000
    children of an allocation) rather than quantize(), which would round or overflow the context precision for
    very large values.
    """
    if abs(value.adjusted()) > _RATIO_DIGITS:
        _, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite values only
        surplus = -places - exponent
        return surplus <= 0 or not any(digits[-surplus:])
    numerator, denominator = value.as_integer_ratio()
    scale: int = 10**places  # int ** int is Any to mypy (a negative exponent gives a float); places >= 0 here
    return numerator * scale % denominator == 0


def to_units(value: Decimal, places: int) -> int:
    """The exact integer ``value * 10**places``; ``value`` must fit ``places`` (else the magnitude is truncated)."""
    if abs(value.adjusted()) > _RATIO_DIGITS:
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        magnitude = int("".join(map(str, digits))) if digits else 0
        shift = exponent + places
        scaled: int = magnitude * 10**shift if shift >= 0 else magnitude // 10**-shift  # int ** negative: a float
        return -scaled if sign else scaled
    numerator, denominator = value.as_integer_ratio()
    scaled = abs(numerator) * 10**places // denominator
    return -scaled if numerator < 0 else scaled


def from_units(units: int, places: int) -> Decimal:
    """Inverse of to_units, exact (string construction never rounds)."""
    return Decimal(f"{units}E-{places}") if places else Decimal(units)


def clamp01(value: Decimal) -> Decimal:
    return min(ONE, max(ZERO, value))
