"""The 9-box talent review (人才盘点九宫格): performance (the finalized rating) x potential (assessed by the
manager against a rubric, calibrated by HR) -> one of nine categories, the movement across cycles, and the
decisions each box supports.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from incentives.domain.errors import InvalidInput

Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")
# the rating label -> performance level (company setting; this is the default for an S/A/B/C/D scale)
DEFAULT_PERFORMANCE: dict[str, Level] = {"S": "high", "A": "high", "B": "medium", "C": "low", "D": "low"}
RUBRIC = ("learning_agility", "drive", "leadership", "scope")  # each scored 1..5 by the manager


@dataclass(frozen=True)
class Box:
    code: str
    name: str
    zh: str
    decisions: tuple[str, ...]  # what a box supports: idp, promotion_nomination, exit_plan, retain


# (performance, potential) -> box
BOXES: dict[tuple[str, str], Box] = {
    ("high", "high"): Box("star", "Star", "明星", ("promotion_nomination", "idp")),
    ("medium", "high"): Box("high_potential", "High potential", "潜力之星", ("idp", "promotion_nomination")),
    ("low", "high"): Box("enigma", "To be observed", "待观察", ("idp",)),
    ("high", "medium"): Box("high_performer", "High performer", "绩效骨干", ("idp", "retain")),
    ("medium", "medium"): Box("core_player", "Core player", "中坚力量", ("idp",)),
    ("low", "medium"): Box("inconsistent", "Needs improvement", "待提升", ("idp",)),
    ("high", "low"): Box("trusted_professional", "Trusted professional", "专业骨干", ("retain",)),
    ("medium", "low"): Box("effective", "Effective", "基本胜任", ("idp",)),
    ("low", "low"): Box("needs_exit", "Needs exit", "需淘汰", ("exit_plan",)),
}


def performance_level(label: str, mapping: Mapping[str, str] = DEFAULT_PERFORMANCE) -> Level:
    level = mapping.get(label)
    if level not in LEVELS:
        raise InvalidInput("rating", f"no performance level for rating {label!r}")
    return level


def potential_from_rubric(scores: Mapping[str, int]) -> Level:
    """The manager's rubric (each item 1..5) -> potential: mean >= 4 high, >= 2.5 medium, else low."""
    missing = [item for item in RUBRIC if item not in scores]
    if missing:
        raise InvalidInput(f"rubric.{missing[0]}", "every rubric item is scored")
    for item, score in scores.items():
        if item not in RUBRIC:
            raise InvalidInput(f"rubric.{item}", f"not a rubric item (items: {', '.join(RUBRIC)})")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidInput(f"rubric.{item}", "a score from 1 to 5")
    mean = sum(scores.values()) / len(scores)
    return "high" if mean >= 4 else "medium" if mean >= 2.5 else "low"


def place(performance: Level, potential: Level) -> Box:
    return BOXES[(performance, potential)]


def place_many(rows: Iterable[tuple[str, str, str]], mapping: Mapping[str, str] = DEFAULT_PERFORMANCE
               ) -> list[tuple[str, Box]]:
    """(person, rating label, potential) -> (person, box), for a whole population at once."""
    boxes = BOXES
    return [(person, boxes[(mapping[label], potential)]) for person, label, potential in rows]


def movement(before: Box | None, after: Box) -> str:
    """up / down / same / new, by the grid's diagonal (performance + potential ranks)."""
    if before is None:
        return "new"
    rank = {box.code: LEVELS.index(p) + LEVELS.index(q) for (p, q), box in BOXES.items()}
    delta = rank[after.code] - rank[before.code]
    return "up" if delta > 0 else "down" if delta < 0 else "same"
