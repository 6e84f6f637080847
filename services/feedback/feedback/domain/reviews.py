"""Review cycles (part 2): the state tables, scores against a scale, the pinned rating formula with explicit
handling of missing components, and the calibration distribution. Plain rules, no database or framework.

The state tables are data (like OrangeHRM's workflow table): `CYCLE_FLOW` is the cycle's only path, and
`PERSON_ACTIONS` says, per action, in which cycle stages and from which person states it is allowed, the state it
leads to and which role takes it. `transition(...)` reads them; nothing else decides."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from feedback.domain import rating_formula
from feedback.domain.errors import InvalidInput, NotAllowed

# -- the cycle ----------------------------------------------------------------------------------------------------

CYCLE_FLOW: tuple[str, ...] = ("draft", "self_review", "manager_review", "calibration", "finalized", "published")
DEADLINE_STAGES: tuple[str, ...] = ("self_review", "manager_review", "calibration")


def next_stage(stage: str) -> str:
    """The one stage after `stage`: a cycle never skips one (422 naming `stage` at the end)."""
    if stage not in CYCLE_FLOW:
        raise InvalidInput("stage", f"unknown stage {stage!r}")
    index = CYCLE_FLOW.index(stage)
    if index + 1 >= len(CYCLE_FLOW):
        raise NotAllowed(f"a {stage} cycle has no next stage", field="stage")
    return CYCLE_FLOW[index + 1]


def check_deadlines(deadlines: Mapping[str, date]) -> None:
    """Deadlines per stage, in stage order (self review ends before the manager review, ...)."""
    unknown = set(deadlines) - set(DEADLINE_STAGES)
    if unknown:
        raise InvalidInput(f"deadlines.{sorted(unknown)[0]}", f"deadlines are for {', '.join(DEADLINE_STAGES)}")
    dated = [(s, deadlines[s]) for s in DEADLINE_STAGES if s in deadlines]
    for (earlier, a), (later, b) in pairwise(dated):
        if b < a:
            raise InvalidInput(f"deadlines.{later}", f"ends before {earlier} ({a})")


def is_late(stage: str, deadlines: Mapping[str, date], on: date) -> bool:
    due = deadlines.get(stage)
    return due is not None and on > due


# -- a person in the cycle -----------------------------------------------------------------------------------------

PERSON_STATES: tuple[str, ...] = ("not_started", "self_submitted", "manager_submitted", "calibrated", "finalized",
                                  "acknowledged")
# every finalized rating went through these (a self review is optional: missing, it is a missing component)
REQUIRED_BEFORE_FINAL: tuple[str, ...] = ("manager_submitted", "calibrated")
CLOSED = frozenset({"finalized", "acknowledged"})  # only an amendment changes anything after this


@dataclass(frozen=True, slots=True)
class Action:
    stages: tuple[str, ...]  # cycle stages in which it may happen
    from_states: tuple[str, ...]
    to_state: str | None  # None: the person's state stays
    role: str  # self | manager | peer | calibrator | hr | appeal


# fmt: off
PERSON_ACTIONS: dict[str, Action] = {
    "submit_self":    Action(("self_review",), ("not_started", "self_submitted"), "self_submitted", "self"),
    "submit_manager": Action(("manager_review",), ("not_started", "self_submitted", "manager_submitted"),
                             "manager_submitted", "manager"),
    "submit_peer":    Action(("self_review", "manager_review"), ("not_started", "self_submitted",
                                                                 "manager_submitted"), None, "peer"),
    "calibrate":      Action(("calibration",), ("manager_submitted", "calibrated"), "calibrated", "calibrator"),
    "finalize":       Action(("calibration",), ("calibrated",), "finalized", "hr"),
    "acknowledge":    Action(("published",), ("finalized",), "acknowledged", "self"),
    "amend":          Action(("finalized", "published"), ("finalized", "acknowledged"), None, "appeal"),
}
# fmt: on
# when the company allows it, the manager may review while the self review window is still open
EARLY_MANAGER = Action(("self_review", "manager_review"), PERSON_ACTIONS["submit_manager"].from_states,
                       "manager_submitted", "manager")


def action(name: str, *, manager_waits_for_self: bool = True) -> Action:
    if name == "submit_manager" and not manager_waits_for_self:
        return EARLY_MANAGER
    return PERSON_ACTIONS[name]


def transition(name: str, stage: str, state: str, role: str, *, manager_waits_for_self: bool = True) -> str:
    """The person's state after `name`, or NotAllowed naming what forbids it (stage, state or actor)."""
    found = action(name, manager_waits_for_self=manager_waits_for_self)
    if role != found.role:
        raise NotAllowed(f"{name} is for the {found.role}, not the {role}", field="actor")
    if stage not in found.stages:
        raise NotAllowed(f"{name} is not open while the cycle is in {stage} (only in {', '.join(found.stages)})",
                         field="stage")
    if state not in found.from_states:
        raise NotAllowed(f"{name} is not possible for a review that is {state}", field="state")
    return found.to_state or state


# -- scales and scores ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Band:
    label: str
    minimum: Decimal  # the lowest score that earns the label


@dataclass(frozen=True, slots=True)
class Scale:
    low: Decimal
    high: Decimal
    bands: tuple[Band, ...]  # highest first

    @classmethod
    def build(cls, low: Decimal, high: Decimal, bands: Iterable[tuple[str, Decimal]]) -> Scale:
        if low >= high:
            raise InvalidInput("scale.high", "must be above scale.low")
        ordered = tuple(sorted((Band(label, Decimal(m)) for label, m in bands), key=lambda b: -b.minimum))
        labels = [b.label for b in ordered]
        if len(set(labels)) != len(labels):
            raise InvalidInput("scale.bands", "a label appears twice")
        if not ordered or ordered[-1].minimum > low:
            raise InvalidInput("scale.bands", f"the lowest band must start at or below {low}")
        for band in ordered:
            if band.minimum > high:
                raise InvalidInput(f"scale.bands.{band.label}", f"starts above the scale's top ({high})")
        return cls(Decimal(low), Decimal(high), ordered)

    def label_for(self, score: Decimal) -> str:
        for band in self.bands:
            if score >= band.minimum:
                return band.label
        return self.bands[-1].label

    def check_score(self, score: Decimal, field: str) -> None:
        if not (self.low <= score <= self.high):
            raise InvalidInput(field, f"{score} is outside the scale {self.low}..{self.high}")


def check_items(scale: Scale, items: Sequence[tuple[str, Decimal]], field: str = "items") -> None:
    codes = [code for code, _ in items]
    if len(set(codes)) != len(codes):
        raise InvalidInput(field, "an item is scored twice")
    for i, (_, score) in enumerate(items):
        scale.check_score(score, f"{field}[{i}].score")


def average(scores: Iterable[Decimal]) -> Decimal | None:
    found = list(scores)
    return None if not found else sum(found, Decimal(0)) / len(found)


def peer_component(answers: Sequence[Decimal], minimum: int) -> Decimal | None:
    """Peers count only with at least `minimum` answers (fewer would expose the few who answered)."""
    return average(answers) if len(answers) >= minimum else None


# -- the rating formula ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RatingFormula:
    """A pinned version: the expression over component scores, each component's weight and whether it may be
    missing. A missing optional component takes the weighted mean of the present ones (so it is neutral: it
    neither lifts nor drags the score), and `has_<name>` is 0 for it, for formulas that want to say more."""

    expression: str
    weights: Mapping[str, Decimal]
    required: frozenset[str]

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(self.weights) | frozenset(f"has_{name}" for name in self.weights)

    def check(self) -> None:
        if not self.weights:
            raise InvalidInput("formula.components", "at least one component")
        for name, weight in self.weights.items():
            if weight < 0:
                raise InvalidInput(f"formula.components.{name}.weight", "must not be negative")
        unknown = self.required - set(self.weights)
        if unknown:
            raise InvalidInput("formula.required", f"not a component: {sorted(unknown)[0]}")
        rating_formula.check(self.expression, self.variables, field="formula.expression")


@dataclass(frozen=True, slots=True)
class Rating:
    score: Decimal
    label: str
    components: tuple[tuple[str, Decimal | None, Decimal], ...]  # name, score (None: missing), weight

    @property
    def missing(self) -> list[str]:
        return [name for name, score, _ in self.components if score is None]


QUANTUM = Decimal("0.01")


def rate(formula: RatingFormula, scale: Scale, scores: Mapping[str, Decimal | None]) -> Rating:
    """The rating from the component scores; a missing required component is a NotAllowed naming it."""
    present = {name: value for name in formula.weights if (value := scores.get(name)) is not None}
    for name in sorted(formula.required):
        if name not in present:
            raise NotAllowed(f"the {name} component is missing and the formula requires it", field=name)
    if not present:
        raise NotAllowed("no component has a score", field="components")
    weight = sum((formula.weights[n] for n in present), Decimal(0))
    neutral = (sum((formula.weights[n] * v for n, v in present.items()), Decimal(0)) / weight if weight
               else sum(present.values(), Decimal(0)) / len(present))  # present is never empty here
    values: dict[str, Decimal] = {}
    for name in formula.weights:
        values[name] = present.get(name, neutral)
        values[f"has_{name}"] = Decimal(1 if name in present else 0)
    raw = rating_formula.compiled(formula.expression, formula.variables)(values)
    score = min(scale.high, max(scale.low, raw)).quantize(QUANTUM, rounding=ROUND_HALF_UP)
    components = tuple((name, present.get(name), formula.weights[name]) for name in formula.weights)
    return Rating(score, scale.label_for(score), components)


# -- calibration -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Deviation:
    group: str
    target: Decimal
    actual: Decimal


def distribution(labels: Iterable[str], groups: Mapping[str, Sequence[str]]) -> dict[str, Decimal]:
    """The share of ratings in each target group (a group is a set of labels: top = S+A, ...)."""
    found = list(labels)
    total = len(found)
    return {group: (Decimal(sum(1 for x in found if x in members)) / total if total else Decimal(0))
            for group, members in groups.items()}


def deviations(labels: Iterable[str], groups: Mapping[str, Sequence[str]], target: Mapping[str, Decimal],
               tolerance: Decimal) -> list[Deviation]:
    """Groups whose share is off the target by more than `tolerance` (a fraction, e.g. 0.05)."""
    actual = distribution(labels, groups)
    return [Deviation(group, target[group], actual[group]) for group in groups
            if abs(actual[group] - target[group]) > tolerance]


def check_target(groups: Mapping[str, Sequence[str]], target: Mapping[str, Decimal], labels: Iterable[str]) -> None:
    known = set(labels)
    if set(groups) != set(target):
        raise InvalidInput("distribution.target", "one target share per group")
    if sum(target.values(), Decimal(0)) != 1:
        raise InvalidInput("distribution.target", "the shares add up to 1")
    seen: set[str] = set()
    for group, members in groups.items():
        for label in members:
            if label not in known:
                raise InvalidInput(f"distribution.groups.{group}", f"{label} is not a label of the scale")
            if label in seen:
                raise InvalidInput(f"distribution.groups.{group}", f"{label} is in two groups")
            seen.add(label)
    if seen != known:
        raise InvalidInput("distribution.groups", f"every label in one group (missing {sorted(known - seen)})")


def check_reason(reason: str | None, field: str = "reason") -> str:
    if reason is None or not reason.strip():
        raise InvalidInput(field, "a rating change needs a reason")
    return reason.strip()
