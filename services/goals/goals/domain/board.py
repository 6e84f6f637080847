"""The goal board: per-goal rows combined into per-group aggregates (a group is an org unit, a
level of the tree, a team, whatever the caller keys rows by).

The repository computes the same thing in SQL; this is the reference the tests compare it to:

    SELECT group_key,
           COUNT(*),
           COUNT(*) FILTER (WHERE colour = 'green'),  -- likewise yellow, red
           ROUND(CASE WHEN SUM(weight) = 0 THEN AVG(progress)
                      ELSE SUM(weight * progress) / SUM(weight) END, 4),
           ROUND(AVG(confidence), 4)                  -- NULL confidences ignored; NULL when none
    FROM board_rows GROUP BY group_key

Numbers are rounded half-up to ``places`` decimals (4 by default), as PostgreSQL's ROUND does for
positive numerics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from goals.domain.decimals import ONE, ZERO
from goals.domain.progress import weighted_mean
from goals.domain.status import Colour


@dataclass(frozen=True)
class BoardRow:
    goal_id: str
    group: str
    colour: Colour
    progress: Decimal
    weight: Decimal
    confidence: Decimal | None = None


@dataclass(frozen=True)
class BoardAggregate:
    group: str
    count: int
    green: int
    yellow: int
    red: int
    weighted_progress: Decimal
    average_confidence: Decimal | None


def aggregate(rows: Iterable[BoardRow], places: int = 4) -> dict[str, BoardAggregate]:
    """Group key -> aggregate, in sorted key order."""
    groups: dict[str, list[BoardRow]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    quantum = Decimal(1).scaleb(-places)
    result = {}
    for key in sorted(groups):
        members = groups[key]
        colours = [Colour(r.colour) for r in members]
        pairs = [(r.weight, r.progress) for r in members]
        if not any(w for w, _ in pairs):
            pairs = [(ONE, p) for _, p in pairs]
        confidences = [r.confidence for r in members if r.confidence is not None]
        average = sum(confidences, ZERO) / len(confidences) if confidences else None
        result[key] = BoardAggregate(
            group=key,
            count=len(members),
            green=colours.count(Colour.GREEN),
            yellow=colours.count(Colour.YELLOW),
            red=colours.count(Colour.RED),
            weighted_progress=weighted_mean(pairs).quantize(quantum, rounding=ROUND_HALF_UP),
            average_confidence=None if average is None else average.quantize(quantum, rounding=ROUND_HALF_UP),
        )
    return result
