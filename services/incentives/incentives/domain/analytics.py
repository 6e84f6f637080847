"""Rating analytics: the distribution of ratings against the target, leniency/severity per manager, and
rotation detection (轮流坐庄: the top rating taken in turns to keep the peace).

Rotation detection, the statistic (per group of people rated by one manager, over K >= min_cycles cycles):

  awards       the (cycle, person) pairs that got a top rating (labels in `top`, default S and A)
  percentile   of the person's goal attainment in the group that cycle (0 the lowest, 1 the highest)
  shortfall    U = the mean over awards of (1 - percentile): 0 when every top rating went to the best result
               of its cycle, about 0.5 when top ratings ignore results (an unknown attainment counts as 1 - 0.5)
  explained    (evidence only) an award whose percentile is >= 2/3, the top third of the group
  turns        R = the share of consecutive cycle pairs (c, c+1), both with awards, whose top-rated people are
               disjoint: the crown passed on. A consistent high performer keeps it (R = 0)
  score        U x R, in [0, 1]; flagged when score >= threshold (default 0.3) with at least 3 awards over at
               least 3 cycles

An honest team whose top changes because attainment changes has R high but U low; a consistent star has U low
and R low; a team taking turns regardless of results has both high. The evidence lists every award with the
attainment behind it. Tested on generated data (tests/unit/test_analytics.py prints precision and recall).
"""
from __future__ import annotations

import itertools
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

DEFAULT_TOP = ("S", "A")
DEFAULT_THRESHOLD = 0.3
EXPLAINED_PERCENTILE = 2 / 3


class Rated(NamedTuple):  # a tuple: built by the hundred thousand
    group: str  # the manager who rated (or a unit)
    cycle: str  # cycles sort chronologically by their key (e.g. "2024", "2025"; or a start date prefix)
    person: str
    label: str
    attainment: float | None  # goal attainment (the goals component of the rating, 0..1+), None if unknown


class Award(NamedTuple):
    cycle: str
    person: str
    label: str
    attainment: float | None
    percentile: float | None
    explained: bool


@dataclass(frozen=True)
class GroupScore:
    group: str
    cycles: tuple[str, ...]
    awards: tuple[Award, ...]
    shortfall: float
    unexplained_share: float
    turn_rate: float
    score: float
    flagged: bool


def _percentiles(rows: Sequence[Rated]) -> dict[str, float | None]:
    """person -> share of the others in the group-cycle with attainment <= theirs (None when unknown)."""
    known = sorted(r.attainment for r in rows if r.attainment is not None)
    return {r.person: None if r.attainment is None else percentile(bisect_right(known, r.attainment), len(known))
            for r in rows}


def score_group(group: str, rows: Iterable[Rated], *, top: Sequence[str] = DEFAULT_TOP,
                threshold: float = DEFAULT_THRESHOLD, min_cycles: int = 3, min_awards: int = 3) -> GroupScore:
    by_cycle: dict[str, list[Rated]] = defaultdict(list)
    for row in rows:
        by_cycle[row.cycle].append(row)
    cycles = tuple(sorted(by_cycle))
    top_set = frozenset(top)
    awards: list[Award] = []
    for cycle in cycles:
        members = by_cycle[cycle]
        pct = _percentiles(members)
        awards += [award(cycle, r.person, r.label, r.attainment, pct[r.person])
                   for r in sorted(members, key=lambda r: r.person) if r.label in top_set]
    return score_awards(group, cycles, awards, threshold=threshold, min_cycles=min_cycles, min_awards=min_awards)


def percentile(at_or_below: int, known: int) -> float:
    """The share of the others in the group-cycle with attainment <= this one's: `at_or_below` counts the known
    attainments <= it (itself included), `known` all the known ones (what a window count gives in SQL)."""
    return 1.0 if known <= 1 else (at_or_below - 1) / (known - 1)


def award(cycle: str, person: str, label: str, attainment: float | None, percentile: float | None) -> Award:
    return Award(cycle, person, label, attainment, percentile,
                 percentile is not None and percentile >= EXPLAINED_PERCENTILE - 1e-9)


def score_awards(group: str, cycles: Sequence[str], awards: Sequence[Award], *, threshold: float = DEFAULT_THRESHOLD,
                 min_cycles: int = 3, min_awards: int = 3) -> GroupScore:
    """The statistic from a group's top ratings alone (`awards`, in cycle order) and the cycles it was rated in
    (sorted): what the database hands over for whole companies instead of every rating."""
    won: dict[str, set[str]] = defaultdict(set)
    for a in awards:
        won[a.cycle].add(a.person)
    winners = [won.get(cycle, set()) for cycle in cycles]
    unexplained = sum(1 for a in awards if not a.explained) / len(awards) if awards else 0.0
    shortfall = (sum(1 - (a.percentile if a.percentile is not None else 0.5) for a in awards) / len(awards)
                 if awards else 0.0)
    pairs = [(a, b) for a, b in itertools.pairwise(winners) if a and b]
    turns = sum(1 for a, b in pairs if not (a & b)) / len(pairs) if pairs else 0.0
    score = shortfall * turns
    flagged = len(cycles) >= min_cycles and len(awards) >= min_awards and score >= threshold
    return GroupScore(group, tuple(cycles), tuple(awards), round(shortfall, 4), round(unexplained, 4),
                      round(turns, 4), round(score, 4), flagged)


def detect_rotation(rows: Iterable[Rated], **options: Any) -> list[GroupScore]:
    """Every group's score, highest first."""
    groups: dict[str, list[Rated]] = defaultdict(list)
    for row in rows:
        groups[row.group].append(row)
    scored = [score_group(group, members, **options) for group, members in groups.items()]
    return sorted(scored, key=lambda s: (-s.score, s.group))


def precision_recall(flagged: Iterable[str], truth: Iterable[str]) -> tuple[float, float]:
    flagged, truth = set(flagged), set(truth)
    hits = len(flagged & truth)
    return (hits / len(flagged) if flagged else 1.0, hits / len(truth) if truth else 1.0)


# -- distribution and leniency ------------------------------------------------------------------------------

def distribution(labels: Iterable[str], target: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    """Per label: count, actual share and the target share (shares as Decimals with 4 places)."""
    counts: dict[str, int] = defaultdict(int)
    total = 0
    for label in labels:
        counts[label] += 1
        total += 1
    out = []
    for label in sorted(set(counts) | set(target)):
        share = Decimal(counts[label]) / Decimal(total) if total else Decimal(0)
        out.append({"label": label, "count": counts[label], "share": share.quantize(Decimal("0.0001")),
                    "target": Decimal(target.get(label, 0)).quantize(Decimal("0.0001"))})
    return out


@dataclass(frozen=True)
class Leniency:
    manager: str
    people: int
    given: float | None  # mean of the manager's own scores (the "manager" component)
    final: float  # mean of the calibrated final scores
    attainment: float | None  # mean goal attainment of the team
    bias: float | None  # given - final: > 0 lenient, < 0 severe


def leniency(rows: Iterable[tuple[str, float | None, float, float | None]]) -> list[Leniency]:
    """rows: (manager, manager's score, final score, attainment) -> per manager, most lenient first."""
    by: dict[str, list[tuple[float | None, float, float | None]]] = defaultdict(list)
    for manager, given, final, attainment in rows:
        by[manager].append((given, final, attainment))
    out = []
    for manager, items in by.items():
        givens = [g for g, _, _ in items if g is not None]
        attained = [a for _, _, a in items if a is not None]
        final = sum(f for _, f, _ in items) / len(items)
        paired = [(g, f) for g, f, _ in items if g is not None]
        bias = sum(g - f for g, f in paired) / len(paired) if paired else None
        out.append(Leniency(manager, len(items), sum(givens) / len(givens) if givens else None, final,
                            sum(attained) / len(attained) if attained else None, bias))
    return sorted(out, key=lambda x: -(x.bias if x.bias is not None else float("-inf")))
