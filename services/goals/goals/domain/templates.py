"""Assessment models: an indicator library, job-family templates, instantiation and scoring.

An indicator defines what is measured (code, direction, unit, default target and thresholds) and
how a measured value turns into points (``ScoringRule``). A template lists indicators with weights
totalling 100 for one job family, and may declare per-person custom fields (e.g.
``night_shift_coefficient``) that formula indicators use. A formula indicator computes its value
from the other indicators of the template and the custom fields, e.g.
``base_score * night_shift_coefficient + min(patent_count * 2, 10)``.

Points per indicator, each item's weighted points and the weighted total are rounded half-up to 2
decimals (the total from the exact weighted points, so it may differ by a cent from the sum of the rounded
items).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from goals.domain import formula as formulas
from goals.domain.decimals import HUNDRED, ZERO, to_decimal
from goals.domain.errors import Conflict, DomainError, FormulaError, InvalidInput
from goals.domain.goal import GoalKind
from goals.domain.progress import Direction, Thresholds, check_thresholds, kpi_ratio, target_met
from goals.domain.status import Colour, kpi_colour
from goals.domain.weights import check_weights

CENT = Decimal("0.01")

# Codes double as formula variable names, hence identifier-shaped.
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ScoringKind(StrEnum):
    LINEAR = "linear"
    BANDED = "banded"
    BINARY = "binary"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoringRule(_Model):
    """linear: points = min(cap, 100 x attainment ratio), so cap > 100 rewards overachievement;
    banded: points of the value's colour band; binary: 100 if the target is met, else 0."""

    kind: ScoringKind = ScoringKind.LINEAR
    cap: Decimal = Field(default=HUNDRED, ge=0, le=1000)
    green_points: Decimal = Field(default=HUNDRED, ge=0, le=1000)
    yellow_points: Decimal = Field(default=Decimal(60), ge=0, le=1000)
    red_points: Decimal = Field(default=ZERO, ge=0, le=1000)


class Indicator(_Model):
    """One indicator of the library. ``green``/``yellow`` are set for the default ``target``;
    see ``thresholds_for`` for how they follow a person's own target. A ``cumulative`` KPI adds up
    over the period (see progress.Kpi)."""

    code: Code
    name: Text
    kind: GoalKind
    direction: Direction
    unit: Annotated[str, StringConstraints(max_length=32)]
    cumulative: bool = False
    target: Decimal | None = None
    green: Decimal | None = None
    yellow: Decimal | None = None
    scoring: ScoringRule = ScoringRule()
    formula: Annotated[str, StringConstraints(max_length=formulas.MAX_LENGTH)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        if (self.green is None) != (self.yellow is None):
            raise PydanticCustomError("thresholds", "give both green and yellow thresholds, or neither")
        if self.kind is GoalKind.KPI and self.green is None:
            raise PydanticCustomError("thresholds", "a KPI needs green and yellow thresholds")
        if self.thresholds is not None:
            try:
                check_thresholds(self.direction, self.thresholds)
            except InvalidInput as error:
                raise PydanticCustomError("thresholds", error.message) from error
        if self.scoring.kind is ScoringKind.BANDED and self.thresholds is None:
            raise PydanticCustomError("scoring", "banded scoring needs thresholds")
        if self.formula is not None:
            if self.kind is not GoalKind.KPI:
                raise PydanticCustomError("formula", "only KPI indicators can be computed by a formula")
            try:
                formulas.parse(self.formula)
            except FormulaError as error:
                raise PydanticCustomError("formula", str(error)) from error
        return self

    @property
    def thresholds(self) -> Thresholds | None:
        if self.green is None or self.yellow is None:
            return None
        return Thresholds(self.green, self.yellow)


def thresholds_for(indicator: Indicator, target: Decimal) -> Thresholds | None:
    """The indicator's thresholds for ``target``: for ">=" and "<=" they scale with the target
    (green 12 / yellow 9 for a default of 12 become 20 / 15 for a target of 20); for "=" they are
    tolerances and stay. Unscaled when either target is not positive (no meaningful ratio)."""
    thresholds = indicator.thresholds
    default = indicator.target
    if (
        thresholds is None
        or indicator.direction is Direction.EQUAL
        or default is None
        or default <= 0
        or target <= 0
        or target == default
    ):
        return thresholds
    return Thresholds(thresholds.green * target / default, thresholds.yellow * target / default)


class TemplateItem(_Model):
    indicator: Code
    weight: Decimal = Field(gt=0, le=100)
    target: Decimal | None = None


class Template(_Model):
    code: Code
    name: Text
    job_family: Text
    custom_fields: tuple[Code, ...] = ()
    items: tuple[TemplateItem, ...] = Field(min_length=1)


def build_library(indicators: Iterable[Indicator]) -> dict[str, Indicator]:
    """Indicator code -> indicator; codes must be unique."""
    library: dict[str, Indicator] = {}
    for i, indicator in enumerate(indicators):
        if indicator.code in library:
            raise InvalidInput(f"indicators[{i}].code", "duplicate indicator code", ids=[indicator.code])
        library[indicator.code] = indicator
    return library


def _formula_order(template: Template, library: Mapping[str, Indicator]) -> list[str]:
    """Codes of the template's formula indicators, each after the formulas it depends on."""
    codes = [item.indicator for item in template.items]
    computed = {code for code in codes if library[code].formula is not None}
    depends: dict[str, set[str]] = {}
    for i, item in enumerate(template.items):
        text = library[item.indicator].formula
        if text is None:
            continue
        known = (set(codes) - {item.indicator}) | set(template.custom_fields)
        try:
            parsed = formulas.parse(text)
            formulas.check(parsed, known)
        except FormulaError as error:
            raise FormulaError(error.message, error.position, field=f"items[{i}].formula") from error
        depends[item.indicator] = set(parsed.variables & computed)
    order: list[str] = []
    ready = sorted(code for code, needs in depends.items() if not needs)
    remaining = {code: set(needs) for code, needs in depends.items() if needs}
    while ready:
        code = ready.pop(0)
        order.append(code)
        for other, needs in list(remaining.items()):
            needs.discard(code)
            if not needs:
                del remaining[other]
                ready.append(other)
    if remaining:
        raise InvalidInput("items", "formula indicators depend on each other in a loop", ids=sorted(remaining))
    return order


def validate_template(template: Template, library: Mapping[str, Indicator]) -> None:
    """Raise unless the template's indicators exist, appear once, weigh 100 in total, its custom
    fields do not shadow indicator codes, and its formulas only use known names without loops."""
    seen: set[str] = set()
    for i, item in enumerate(template.items):
        if item.indicator not in library:
            raise InvalidInput(f"items[{i}].indicator", f"unknown indicator {item.indicator!r}", ids=[item.indicator])
        if item.indicator in seen:
            raise InvalidInput(f"items[{i}].indicator", "indicator listed twice", ids=[item.indicator])
        seen.add(item.indicator)
    if len(set(template.custom_fields)) != len(template.custom_fields):
        raise InvalidInput("custom_fields", "custom fields must be unique")
    shadowing = sorted(seen & set(template.custom_fields))
    if shadowing:
        raise InvalidInput("custom_fields", "custom fields must not reuse indicator codes", ids=shadowing)
    check_weights({item.indicator: item.weight for item in template.items}, field="items.weight")
    _formula_order(template, library)


@dataclass(frozen=True)
class Assignee:
    """A person to instantiate a template for, with per-person target overrides by indicator code."""

    person_id: str
    targets: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class GoalDraft:
    """A goal to create for a person. An OKR draft becomes an objective with one key result from 0
    to ``target``; a KPI draft a KPI goal with the indicator's direction and thresholds."""

    owner_id: str
    indicator_code: str
    title: str
    kind: GoalKind
    weight: Decimal
    direction: Direction
    target: Decimal
    unit: str
    thresholds: Thresholds | None
    scoring: ScoringRule
    formula: str | None
    cumulative: bool = False


@dataclass(frozen=True)
class Instantiation:
    """Per-person result of instantiate_all: drafts, or the error that stopped this person."""

    person_id: str
    drafts: tuple[GoalDraft, ...] = ()
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _target(
    item: TemplateItem, indicator: Indicator, overrides: Mapping[str, Decimal], ids: Sequence[str] = ()
) -> Decimal:
    """The person's override, else the template's target, else the indicator's default."""
    if item.indicator in overrides:
        return to_decimal(overrides[item.indicator], f"targets.{item.indicator}")
    for target in (item.target, indicator.target):
        if target is not None:
            return target
    raise InvalidInput(f"targets.{item.indicator}", "has no default target: give one for this person", ids=ids)


def _instantiate(template: Template, library: Mapping[str, Indicator], assignee: Assignee) -> tuple[GoalDraft, ...]:
    unknown = sorted(set(assignee.targets) - {item.indicator for item in template.items})
    if unknown:
        raise InvalidInput(f"targets.{unknown[0]}", "is not an indicator of this template", ids=[assignee.person_id])
    drafts = []
    for item in template.items:
        indicator = library[item.indicator]
        target = _target(item, indicator, assignee.targets, [assignee.person_id])
        drafts.append(
            GoalDraft(
                owner_id=assignee.person_id,
                indicator_code=indicator.code,
                title=indicator.name,
                kind=indicator.kind,
                weight=item.weight,
                direction=indicator.direction,
                target=target,
                unit=indicator.unit,
                thresholds=thresholds_for(indicator, target),
                scoring=indicator.scoring,
                formula=indicator.formula,
                cumulative=indicator.cumulative,
            )
        )
    return tuple(drafts)


def instantiate(template: Template, library: Mapping[str, Indicator], assignee: Assignee) -> tuple[GoalDraft, ...]:
    """Goal drafts of ``template`` for one person (raises for an invalid template or assignee)."""
    validate_template(template, library)
    return _instantiate(template, library, assignee)


def instantiate_all(
    template: Template, library: Mapping[str, Indicator], assignees: Sequence[Assignee]
) -> list[Instantiation]:
    """Instantiate for many people; one person's problem does not stop the others.

    A broken template raises (it would fail everyone); per-person problems (a missing or unknown
    target, a person listed twice) come back as that person's ``error``.
    """
    validate_template(template, library)
    results = []
    seen: set[str] = set()
    # a person's drafts depend on the person only through their target overrides: the drafts are made once per
    # distinct overrides (usually once for everyone) and given to each person as theirs
    made: dict[tuple[tuple[str, Decimal], ...], tuple[GoalDraft, ...]] = {}
    for assignee in assignees:
        if assignee.person_id in seen:
            error = Conflict("person listed twice", field="person_id", ids=[assignee.person_id])
            results.append(Instantiation(assignee.person_id, error=error))
            continue
        seen.add(assignee.person_id)
        overrides = tuple(sorted(assignee.targets.items()))
        drafts = made.get(overrides)
        if drafts is not None:
            results.append(Instantiation(assignee.person_id, tuple(replace(d, owner_id=assignee.person_id)
                                                                   for d in drafts)))
            continue
        try:
            drafts = _instantiate(template, library, assignee)
        except DomainError as error:  # named for this person: not remembered
            results.append(Instantiation(assignee.person_id, error=error))
            continue
        made[overrides] = drafts
        results.append(Instantiation(assignee.person_id, drafts))
    return results


def score(rule: ScoringRule, indicator: Indicator, target: Decimal, actual: Decimal) -> Decimal:
    """Points (rounded to 2 decimals) for a measured value of ``indicator`` against ``target``."""
    if rule.kind is ScoringKind.LINEAR:
        points = min(rule.cap, HUNDRED * kpi_ratio(indicator.direction, target, actual))
    elif rule.kind is ScoringKind.BINARY:
        points = HUNDRED if target_met(indicator.direction, target, actual) else ZERO
    else:
        thresholds = thresholds_for(indicator, target)
        assert thresholds is not None  # banded scoring requires thresholds (Indicator validation)
        colour = kpi_colour(indicator.direction, target, thresholds, actual)
        points = {Colour.GREEN: rule.green_points, Colour.YELLOW: rule.yellow_points, Colour.RED: rule.red_points}[
            colour
        ]
    return points.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ItemScore:
    indicator_code: str
    value: Decimal | None  # None: no measured value yet (missing)
    target: Decimal
    points: Decimal
    weight: Decimal
    weighted_points: Decimal
    missing: bool = False


@dataclass(frozen=True)
class ScoreCard:
    items: tuple[ItemScore, ...]
    total: Decimal


def score_card(
    template: Template,
    library: Mapping[str, Indicator],
    values: Mapping[str, Decimal],
    fields: Mapping[str, Decimal] | None = None,
    targets: Mapping[str, Decimal] | None = None,
    *,
    partial: bool = False,
) -> ScoreCard:
    """Score one person: measured ``values`` by indicator code (formula indicators are computed),
    the person's custom ``fields`` and optional per-person ``targets``.

    Total = sum(points x weight / 100), rounded to 2 decimals. A missing measured value raises, unless
    ``partial``: then the item (and any formula reading it) is marked missing with 0 points, so the rest of
    the card can be seen. Missing custom fields always raise: the template requires them.
    """
    validate_template(template, library)
    fields = fields or {}
    targets = targets or {}
    known: dict[str, Decimal] = {}
    for name in template.custom_fields:
        if name not in fields:
            raise InvalidInput(f"fields.{name}", "is required by the template")
        known[name] = to_decimal(fields[name], f"fields.{name}")
    missing: set[str] = set()
    for item in template.items:
        if library[item.indicator].formula is None:
            if item.indicator not in values or values[item.indicator] is None:
                if not partial:
                    raise InvalidInput(f"values.{item.indicator}", "no measured value")
                missing.add(item.indicator)
                continue
            known[item.indicator] = to_decimal(values[item.indicator], f"values.{item.indicator}")
    for code in _formula_order(template, library):
        text = library[code].formula
        assert text is not None
        parsed = formulas.parse(text)
        if parsed.variables & missing:
            missing.add(code)  # reads a value that is missing
            continue
        # Only what the template declares is visible, so a formula cannot read a stray value.
        try:
            result = formulas.evaluate(parsed, known)
        except FormulaError as error:
            raise type(error)(error.message, error.position, field=f"values.{code}") from error
        assert isinstance(result, Decimal)  # checked to be a number by _formula_order
        known[code] = result
    items = []
    total = ZERO
    for item in template.items:
        indicator = library[item.indicator]
        target = _target(item, indicator, targets)
        if item.indicator in missing:
            items.append(ItemScore(item.indicator, None, target, ZERO.quantize(CENT), item.weight,
                                   ZERO.quantize(CENT), missing=True))
            continue
        points = score(indicator.scoring, indicator, target, known[item.indicator])
        weighted = points * item.weight / HUNDRED
        total += weighted
        items.append(ItemScore(item.indicator, known[item.indicator], target, points, item.weight,
                               weighted.quantize(CENT, rounding=ROUND_HALF_UP)))
    return ScoreCard(tuple(items), total.quantize(CENT, rounding=ROUND_HALF_UP))
