"""Bonus rules: a pool's rating -> multiplier table and bonus formula, process rewards on indicator thresholds,
and the per-person proposal that explains every line (the rule, its input values, its result).

A proposal's lines:
  - the rated bonus: the pool's formula (default `base * multiplier`) with `base` the target bonus of the
    person's grade, `multiplier` the table's value for their rating label, `score` the rating's score;
  - one line per cash process reward the person earned in the pool's period (the rule's condition and amount,
    with the indicator values that met it).
The total is the sum of the lines. A proposal is tied to one version of one rating; an amended rating makes a new
version of the proposal (the old one is superseded), and the same rating version never makes two.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from incentives.domain import rules
from incentives.domain.errors import InvalidInput, NotAllowed

CENT = Decimal("0.01")
MAX_MULTIPLIER = Decimal(10)
BONUS_INPUTS = ("base", "multiplier", "score")
DEFAULT_FORMULA = "base * multiplier"
Period = Literal["week", "month"]
Reward = Literal["cash", "points"]
OverrunPolicy = Literal["refuse", "warn"]


def plain(value: Decimal) -> str:
    """A value as a person reads it in an explanation: 6, 0.3 (not 6.000000, 0.300000)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: object, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidInput(field, "must be a finite number")
    return number


def multiplier_table(table: Mapping[str, object], *, field: str = "multipliers") -> dict[str, Decimal]:
    """Rating label -> multiplier in [0, 10]; at least one label."""
    if not table:
        raise InvalidInput(field, "a multiplier table needs at least one rating")
    out = {}
    for label, value in table.items():
        number = _decimal(value, f"{field}.{label}")
        if not Decimal(0) <= number <= MAX_MULTIPLIER:
            raise InvalidInput(f"{field}.{label}", f"a multiplier is between 0 and {MAX_MULTIPLIER}")
        out[label] = number
    return out


def check_bonus_formula(expression: str, *, field: str = "formula") -> None:
    rules.check(expression, BONUS_INPUTS, field=field, expect="number")


@dataclass(frozen=True)
class ProcessRule:
    """`condition` (boolean) over a person's indicator values for one week or month; `amount` (number) paid
    when it holds, in cash (a bonus line) or points (the ledger)."""

    code: str
    name: str
    period: Period
    condition: str
    amount: str
    reward: Reward = "cash"

    def check(self) -> None:
        # Inputs are whatever indicators the events bring: names are free, syntax and types are not.
        rules.check(self.condition, rules_names(self.condition), field="condition", expect="boolean")
        rules.check(self.amount, rules_names(self.amount), field="amount", expect="number")
        if self.period not in ("week", "month"):
            raise InvalidInput("period", "week or month")

    @property
    def inputs(self) -> list[str]:
        return _inputs(self.condition, self.amount)


@lru_cache(maxsize=1024)
def _inputs(condition: str, amount: str) -> list[str]:
    return sorted(set(rules.names_in(condition)) | set(rules.names_in(amount)))


def rules_names(expression: str) -> list[str]:
    """Names used by an expression, or none when it does not even parse (check() then reports where)."""
    try:
        return rules.names_in(expression)
    except InvalidInput:
        return []


@dataclass(frozen=True)
class Outcome:
    earned: bool
    amount: Decimal
    inputs: dict[str, Decimal]
    missing: tuple[str, ...] = ()


def evaluate_process_rule(rule: ProcessRule, values: Mapping[str, Decimal]) -> Outcome:
    """Whether a person earned the reward for one period, and how much. An input the events never brought
    means the condition cannot be shown to hold: not earned (and the outcome says which input was missing)."""
    needed = rule.inputs
    used = {name: values[name] for name in needed if name in values}
    missing = tuple(name for name in needed if name not in values)
    if missing:
        return Outcome(False, Decimal(0), used, missing)
    known = frozenset(needed)
    if not rules.compiled(rule.condition, known)(used):
        return Outcome(False, Decimal(0), used)
    amount = rules.compiled(rule.amount, known)(used)
    assert isinstance(amount, Decimal)
    if amount < 0:
        raise InvalidInput("amount", f"rule {rule.code} computed a negative amount {amount}")
    return Outcome(True, money(amount) if rule.reward == "cash" else amount.to_integral_value(ROUND_HALF_UP), used)


def weekly_lead_values(valid_leads: int, visits: int, opportunities: int, demo_conversions: int) -> dict[str, Decimal]:
    """The inputs one week of sales activity (feedback's leads.counted event) gives the rules. `demo_conversion`
    is the share of the week's new opportunities moved to the demo stage (0 when there were none)."""
    conversion = Decimal(demo_conversions) / Decimal(opportunities) if opportunities else Decimal(0)
    return {"valid_leads": Decimal(valid_leads), "visits": Decimal(visits),
            "opportunities": Decimal(opportunities), "demo_conversions": Decimal(demo_conversions),
            "demo_conversion": conversion.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)}


# -- the proposal --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    kind: Literal["rated_bonus", "process_reward"]
    rule: str  # the rule as written
    description: str
    inputs: dict[str, str]
    result: Decimal


@dataclass(frozen=True)
class EarnedReward:
    code: str
    name: str
    period: str
    condition: str
    amount_rule: str
    inputs: Mapping[str, Decimal]
    amount: Decimal


@dataclass(frozen=True)
class Proposal:
    lines: tuple[Line, ...]
    total: Decimal
    warnings: tuple[str, ...] = field(default=())


def target_bonus(grade: str | None, base_amounts: Mapping[str, Decimal], default: Decimal | None) -> Decimal:
    if grade is not None and grade in base_amounts:
        return base_amounts[grade]
    if default is None:
        raise InvalidInput("person_id", f"the pool has no target bonus for grade {grade!r} and no default")
    return default


def propose(*, grade: str | None, label: str, score: Decimal, base_amounts: Mapping[str, Decimal],
            default_base: Decimal | None, multipliers: Mapping[str, Decimal], formula: str,
            rewards: Iterable[EarnedReward] = ()) -> Proposal:
    base = target_bonus(grade, base_amounts, default_base)
    if label not in multipliers:
        raise InvalidInput(f"multipliers.{label}", f"the pool's multiplier table has no rating {label!r}")
    multiplier = multipliers[label]
    rated = rules.evaluate(formula, {"base": base, "multiplier": multiplier, "score": score})
    assert isinstance(rated, Decimal)
    rated = max(money(rated), Decimal(0))
    lines = [Line("rated_bonus", formula, f"target bonus of grade {grade or '(default)'} x rating {label}",
                  {"base": str(base), "grade": grade or "", "rating": label, "multiplier": str(multiplier),
                   "score": str(score)}, rated)]
    for reward in sorted(rewards, key=lambda r: (r.period, r.code)):
        lines.append(Line("process_reward", f"if {reward.condition} then {reward.amount_rule}",
                          f"{reward.name} ({reward.period})",
                          {"period": reward.period, **{k: plain(v) for k, v in reward.inputs.items()}}, reward.amount))
    return Proposal(tuple(lines), money(sum((line.result for line in lines), Decimal(0))))


# -- budgets ---------------------------------------------------------------------------------------------------

def budget_warning(budget: Decimal, committed: Decimal, amount: Decimal) -> str | None:
    """Before approval: a warning when this amount on top of what is committed (approved, or pending in the
    pool) exceeds the pool's budget."""
    if committed + amount > budget:
        return (f"over budget: {money(committed)} committed + {money(amount)} proposed > budget {money(budget)} "
                f"(by {money(committed + amount - budget)})")
    return None


def check_budget_at_approval(budget: Decimal, approved: Decimal, amount: Decimal, policy: OverrunPolicy) -> str | None:
    """At the final approval: with policy `refuse` an overrun stops it (nothing written); with `warn` it goes
    through with the warning."""
    warning = budget_warning(budget, approved, amount)
    if warning is not None and policy == "refuse":
        raise NotAllowed(f"approving would overrun the pool's budget: {warning}", field="budget")
    return warning
