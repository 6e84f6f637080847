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
    result = Decimal(value)
    if not result.is_finite():
        raise InvalidInput(field, "must be a finite number")
    return result


def fits_places(value: Decimal, places: int) -> bool:
    """True when ``value`` is exactly representable with ``places`` decimal places.

    Works on the digit tuple rather than quantize(), which would round or overflow the context
    precision for very large values.
    """
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only
    surplus = -places - exponent
    return surplus <= 0 or not any(digits[-surplus:])


def to_units(value: Decimal, places: int) -> int:
    """The exact integer ``value * 10**places``; ``value`` must fit ``places``."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits))) if digits else 0
    shift = exponent + places
    scaled: int = magnitude * 10**shift if shift >= 0 else magnitude // 10**-shift  # int ** negative is a float
    return -scaled if sign else scaled


def from_units(units: int, places: int) -> Decimal:
    """Inverse of to_units, exact (string construction never rounds)."""
    return Decimal(f"{units}E-{places}") if places else Decimal(units)


def clamp01(value: Decimal) -> Decimal:
    return min(ONE, max(ZERO, value))
