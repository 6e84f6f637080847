"""Goal weights: a person's goals in one cycle total exactly 100.00.

Each weight is a Decimal in (0, 100] with at most two decimals; the total is compared exactly,
so 33.33 + 33.33 + 33.33 fails (99.99) and the error says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from goals.domain.decimals import HUNDRED, ZERO, fits_places, to_decimal
from goals.domain.errors import DomainError, InvalidInput, WeightTotalError

TOTAL = HUNDRED


def check_weights(weights: Mapping[str, Decimal], *, field: str = "weights") -> None:
    """Raise unless ``weights`` (goal id -> weight) is a valid set of one person's goal weights.

    A malformed single weight raises InvalidInput at ``{field}.{goal_id}``; a wrong total raises
    WeightTotalError naming every goal (sorted) and the actual total.
    """
    total = ZERO
    for goal_id, raw in weights.items():
        where = f"{field}.{goal_id}"
        weight = to_decimal(raw, where)
        if not ZERO < weight <= TOTAL:
            raise InvalidInput(where, f"weight must be greater than 0 and at most 100, got {weight}", ids=[goal_id])
        if not fits_places(weight, 2):
            raise InvalidInput(where, f"weight must have at most 2 decimals, got {weight}", ids=[goal_id])
        total += weight
    if total != TOTAL:
        raise WeightTotalError(total.quantize(Decimal("0.01")), sorted(weights), field=field)


def weight_violations(rows: Iterable[tuple[str, str, Decimal]]) -> dict[str, DomainError]:
    """Check every person at once: rows are ``(owner id, goal id, weight)``.

    Returns owner id -> error for each owner whose weights are invalid (empty when all are fine),
    e.g. to refuse locking a cycle and list every person who must fix their weights.
    """
    by_owner: dict[str, dict[str, Decimal]] = {}
    for owner_id, goal_id, weight in rows:
        by_owner.setdefault(owner_id, {})[goal_id] = weight
    errors: dict[str, DomainError] = {}
    for owner_id, weights in sorted(by_owner.items()):
        try:
            check_weights(weights, field=f"weights.{owner_id}")
        except DomainError as error:
            errors[owner_id] = error
    return errors


def check_weights_so_far(weights: Mapping[str, Decimal], *, field: str = "weights", adding: Decimal = ZERO) -> None:
    """While a person's goals are still being set: each weight in [0, 100] with at most 2 decimals (0 = not
    weighed yet) and a total, with ``adding`` for goals about to be created, of at most 100. The exact total
    is required by ``check_weights`` (when weights are set together, when a proposal changes them, and
    before a cycle locks)."""
    total = to_decimal(adding, "weight")
    for goal_id, raw in weights.items():
        where = f"{field}.{goal_id}"
        weight = to_decimal(raw, where)
        if not ZERO <= weight <= TOTAL or not fits_places(weight, 2):
            raise InvalidInput(where, f"weight must be from 0 to 100 with at most 2 decimals, got {weight}",
                               ids=[goal_id])
        total += weight
    if total > TOTAL:
        raise WeightTotalError(total.quantize(Decimal("0.01")), sorted(weights), field=field,
                               rule="would total more than 100.00")
