"""Light reports (done / blockers / next): which period a report is for and until when it is editable; team
summaries (who has not reported, blockers first, repeated blockers, grouped by goal); participation rates."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from feedback.domain.calendar import week_key, week_start
from feedback.domain.errors import InvalidInput

MAX_EXTRA_FIELDS = 3


def period_bounds(kind: str, period: str) -> tuple[date, date]:
    if kind == "weekly":
        if "-W" not in period:
            raise InvalidInput("period", "a weekly report names an ISO week (2026-W49)")
        start = week_start(period, "period")
        return start, start + timedelta(days=6)
    try:
        day = date.fromisoformat(period)
    except ValueError:
        raise InvalidInput("period", "a daily report names a date (2026-12-02)") from None
    return day, day


def check_open(kind: str, period: str, today: date, grace_days: int) -> tuple[date, date]:
    """A report may be written from its period's first day until `grace_days` after its last."""
    start, end = period_bounds(kind, period)
    if start > today:
        raise InvalidInput("period", f"{period} has not started")
    if today > end + timedelta(days=grace_days):
        raise InvalidInput("period", f"{period} is closed (editable until {end + timedelta(days=grace_days)})")
    return start, end


def check_extra(extra: Mapping[str, str], allowed: Sequence[str]) -> None:
    for name in extra:
        if name not in allowed:
            raise InvalidInput(f"extra.{name}", "not a field of the team's report template")


def previous_period(kind: str, period: str) -> str:
    start, _ = period_bounds(kind, period)
    if kind == "weekly":
        return week_key(start - timedelta(days=7))
    return (start - timedelta(days=1)).isoformat()


_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)


def blocker_key(text: str) -> str:
    """Two blockers are the same when they read the same ignoring case, spaces and punctuation."""
    return _SPACE.sub("", text.casefold())


@dataclass(frozen=True)
class Report:
    person_id: str
    period: str
    done: str = ""
    blockers: tuple[str, ...] = ()
    goal_ids: tuple[str, ...] = ()


@dataclass
class Summary:
    team_size: int
    reported: int
    missing: list[str]
    blockers: list[tuple[str, str, tuple[str, ...], int]]  # person, text, goals, repeated periods
    by_goal: list[tuple[str | None, list[str], list[str]]] = field(default_factory=list)


def summarize(team: Iterable[str], reports: Iterable[Report], history: Mapping[str, Sequence[set[str]]]
              ) -> Summary:
    """`history[person]`: the blocker keys of that person's earlier periods, newest first (for repeats)."""
    team = sorted(set(team))
    members = set(team)
    reports = [r for r in reports if r.person_id in members]
    reported = {r.person_id for r in reports}
    blockers = []
    groups: dict[str | None, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for report in sorted(reports, key=lambda r: r.person_id):
        earlier = history.get(report.person_id, ())
        for text in report.blockers:
            key = blocker_key(text)
            repeated = 1
            for keys in earlier:
                if key not in keys:
                    break
                repeated += 1
            blockers.append((report.person_id, text, report.goal_ids, repeated))
        for goal in report.goal_ids or (None,):
            people, done = groups[goal]
            people.append(report.person_id)
            if report.done:
                done.append(report.done)
    blockers.sort(key=lambda b: (-b[3], b[0]))
    by_goal = sorted(((g, p, d) for g, (p, d) in groups.items()), key=lambda x: (x[0] is None, x[0] or ""))
    return Summary(len(team), len(reported), [p for p in team if p not in reported], blockers, by_goal)


def rate(submitted: int, expected: int) -> Decimal:
    """submitted / expected in [0, 1], 4 decimals; 0 expected is rate 0 (nothing was asked)."""
    if expected <= 0:
        return Decimal(0)
    return (Decimal(min(submitted, expected)) / Decimal(expected)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
