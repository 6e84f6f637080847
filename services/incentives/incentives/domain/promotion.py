"""Promotion tracks (技术序列与管理序列分开评审): technical and management sequences with their own levels and
criteria, nominations by the manager or by oneself, the evidence pack, and decisions with reasons by the panel of
the sequence (nobody decides their own nomination or one they made)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from incentives.domain.errors import InvalidInput, NotAllowed

SequenceName = Literal["technical", "management"]
LEVELS: dict[str, tuple[str, ...]] = {
    "technical": ("T1", "T2", "T3", "T4", "T5", "T6"),
    "management": ("M1", "M2", "M3", "M4", "M5"),
}


@dataclass(frozen=True)
class Criteria:
    """What a nominee for a level of a sequence must show: the last `cycles` finalized ratings all among `ratings`,
    and a mean goal attainment of at least `min_attainment` (percent) over them."""

    ratings: tuple[str, ...] = ("S", "A")
    cycles: int = 2
    min_attainment: float = 80.0


DEFAULT_CRITERIA = {"technical": Criteria(("S", "A"), 2, 80.0), "management": Criteria(("S", "A"), 2, 85.0)}


def check_level(sequence: str, level: str) -> None:
    if level not in LEVELS.get(sequence, ()):
        raise InvalidInput("target_level", f"the {sequence} sequence has levels {', '.join(LEVELS[sequence])}")


@dataclass(frozen=True)
class RatedCycle:
    review_cycle_id: str
    label: str
    attainment: float | None


def criteria_met(criteria: Criteria, history: Sequence[RatedCycle]) -> list[tuple[str, bool, str]]:
    """Each criterion, whether the evidence meets it, and what the evidence shows (newest cycles last)."""
    recent = list(history)[-criteria.cycles:]
    labels = [h.label for h in recent]
    enough = len(recent) >= criteria.cycles
    attained = [h.attainment for h in recent if h.attainment is not None]
    mean = sum(attained) / len(attained) if attained else None
    return [
        (f"{criteria.cycles} finalized ratings", enough, f"{len(history)} on record"),
        (f"ratings among {'/'.join(criteria.ratings)}", enough and all(label in criteria.ratings for label in labels),
         "/".join(labels) or "none"),
        (f"mean goal attainment >= {criteria.min_attainment:g}", mean is not None and mean >= criteria.min_attainment,
         "unknown" if mean is None else f"{mean:.1f}"),
    ]


def may_decide(panel: Mapping[str, Sequence[str]], sequence: str, reviewer: str, nominee: str,
               nominated_by: str) -> None:
    if reviewer not in panel.get(sequence, ()):
        raise NotAllowed(f"{reviewer} is not on the {sequence} panel", field="actor_id")
    if reviewer in (nominee, nominated_by):
        raise NotAllowed("nobody decides their own nomination or one they made", field="actor_id")


def check_override(outcome: str, unmet: Sequence[str], override: bool) -> None:
    """A promotion with criteria unmet is the panel's exception: refused unless it says so (`override_criteria`),
    so that nobody is promoted past the criteria by a click made without looking. Not promoting needs no override."""
    if outcome == "promoted" and unmet and not override:
        raise NotAllowed(f"criteria not met: {'; '.join(unmet)}. To promote anyway, set override_criteria and give "
                         "the reason", field="override_criteria")


def overridden(outcome: str, unmet: Sequence[str]) -> list[str]:
    """The criteria a promotion went past (empty unless promoted with some unmet)."""
    return list(unmet) if outcome == "promoted" else []
