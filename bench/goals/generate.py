"""Data generator for the goals benchmarks: an organisation and its goals, loaded with COPY.

    python bench/goals/generate.py postgresql+psycopg2://postgres@127.0.0.1:5432/mydb [--people 100000]

The database is migrated to head first (the service's own alembic migrations), then loaded:

- the org read model (chassis.access's tables, as compliance's events would fill them): one company of 10
  divisions x 10 departments x 10 teams (1,111 units); people spread evenly (10,000 per division with the
  default 100,000), each team led by its first member, who reports to the department head, who reports to the
  division head, who reports to the CEO; an HR account (`bench-hr`) with HR rights over the whole company;
- one open cycle of a year that is running now (it started 90 days before today), an org-unit goal per unit,
  and `--goals-per-person` goals per person (weights 10 each): 60 % KPIs (>=, <=, =; measured or not; some
  cumulative), 40 % OKRs with one key result, 10 % on milestone schedules (three milestones), progress and
  confidence spread so that all colours occur;
- colours as the sweep left them on the evening of AS_OF (31 days before today), decided while generating (the
  sweep's rule): the state the next daily sweep starts from, with no update churn in the tables. Every sweep the
  benchmark runs (AS_OF + 1 and today) is a real one in the current period, not a preview of a later day.
"""
from __future__ import annotations

import argparse
import io
import itertools
import json
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

# run as a script, this folder (called goals too) would hide the service package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

CYCLE_ID = "00000000-0000-4000-8000-000000002027"
# the current period: a sweep of a day after today would only be a preview (goals/usecases/status.py)
TODAY = datetime.now(UTC).date()
AS_OF = TODAY - timedelta(days=31)
CYCLE_START = AS_OF - timedelta(days=59)
CYCLE_END = CYCLE_START + timedelta(days=364)
NOW = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
HR = "bench-hr"
CEO = "bench-ceo"


def unit_ids() -> tuple[list[tuple[str, str | None, str]], list[str]]:
    """(units as (id, parent, name), team ids in order)."""
    units = [("co", None, "Company")]
    teams = []
    for d in range(10):
        division = f"div{d}"
        units.append((division, "co", f"Division {d}"))
        for p in range(10):
            department = f"{division}-dep{p}"
            units.append((department, division, f"Department {d}.{p}"))
            for t in range(10):
                team = f"{department}-team{t}"
                units.append((team, department, f"Team {d}.{p}.{t}"))
                teams.append(team)
    return units, teams


def people_of(count: int, teams: list[str]) -> list[tuple[str, str, str | None]]:
    """(person id, unit, manager): evenly spread, first of a team leads it, leads report up the units."""
    per_team = max(4, count // len(teams))  # room for a division head, a department head and a team lead
    people = [(CEO, "co", None)]
    heads: dict[str, str] = {"co": CEO}
    index = 0
    for team in teams:
        department, division = team.rsplit("-", 1)[0], team.split("-", 1)[0]
        members = [f"p{index + i:06d}" for i in range(per_team)]
        index += per_team
        if division not in heads:
            heads[division] = members[0]
            people.append((members[0], division, CEO))
            members = members[1:]
        if department not in heads:
            heads[department] = members[0]
            people.append((members[0], department, heads[division]))
            members = members[1:]
        lead, rest = members[0], members[1:]
        people.append((lead, team, heads[department]))
        people.extend((person, team, lead) for person in rest)
    return people


def _copy(raw, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples; None is NULL) into table, 50,000 at a time."""
    count = 0
    buffer = io.StringIO()

    def flush():
        from psycopg2 import extensions

        buffer.seek(0)
        green = extensions.get_wait_callback()  # eventlet's: COPY needs a blocking connection
        extensions.set_wait_callback(None)
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", buffer)
        finally:
            extensions.set_wait_callback(green)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v).replace("\t", " ") for v in row))
        buffer.write("\n")
        count += 1
        if count % 50_000 == 0:
            flush()
    flush()
    return count


GOAL_COLUMNS = ["id", "cycle_id", "parent_id", "owner_kind", "owner_id", "responsible_id", "org_unit_id", "title",
                "description", "kind", "weight", "start_on", "due_on", "schedule", "direction", "target", "unit",
                "green", "yellow", "actual", "cumulative", "kpi_band", "own_progress", "progress", "confidence",
                "colour", "colour_since", "resources_needed", "indicator_code", "template_code", "computed",
                "scoring", "created_by", "created_at", "updated_at", "version"]


def colour_on(progress: Decimal, band: str | None, points=(), on: date = AS_OF, weeks: int = 2) -> str:
    """The sweep's rule (goals/sweep.py) for a goal of the generated cycle: whole days on a linear schedule,
    the domain's schedule_status for milestones."""
    if progress >= 1:
        return "green"
    if on > CYCLE_END:
        return "red"
    if band is not None:
        return band
    if points:
        from goals.domain.status import Milestone, Schedule, schedule_status

        schedule = Schedule(CYCLE_START, CYCLE_END, tuple(Milestone(d, f) for d, f in points[1:-1]))
        return schedule_status(schedule, progress, on, weeks).colour.value
    span = (CYCLE_END - CYCLE_START).days
    elapsed = min(span, max(0, (on - CYCLE_START).days))
    if progress * span >= elapsed:
        return "green"
    return "red" if progress * span <= elapsed - 7 * weeks else "yellow"


def _goal(goal_id, parent, owner_kind, owner, responsible, unit, title, kind, weight, progress, schedule="linear",
          kpi=None, confidence=None, points=()):
    direction, target, green, yellow, actual, cumulative, band = kpi or (None, None, None, None, None, False, None)
    progress = Decimal(progress)
    return (goal_id, CYCLE_ID, parent, owner_kind, owner, responsible, unit, title, "", kind, weight, CYCLE_START,
            CYCLE_END, schedule, direction, target, "%" if kind == "kpi" else "", green, yellow, actual,
            "t" if cumulative else "f", band, progress, progress, confidence, colour_on(progress, band, points),
            AS_OF, "[]", None, None, "f", None, "bench", NOW.isoformat(), NOW.isoformat(), 1)


def _band(direction: str, target: Decimal, green: Decimal, yellow: Decimal, actual: Decimal) -> str:
    from goals.domain.progress import Direction, Thresholds
    from goals.domain.status import kpi_colour

    return kpi_colour(Direction(direction), target, Thresholds(green, yellow), actual).value


def generate(url: str, people_count: int = 100_000, goals_per_person: int = 10, seed: int = 2027) -> dict:
    from chassis.migrations import upgrade
    from goals import readmodels
    from goals.domain.progress import Direction, kpi_attainment
    from goals.rules import stored_progress

    started = time.perf_counter()
    upgrade("goals", url)
    rng = random.Random(seed)
    engine = create_engine(url)
    units, teams = unit_ids()
    people = people_of(people_count, teams)
    raw = engine.raw_connection()
    try:
        now = NOW.isoformat()
        _copy(raw, "chassis_org_units", ["org_unit_id", "version", "name", "parent_id", "removed", "updated_at"],
              ((u, 1, name, parent, "f", now) for u, parent, name in units))
        # the reporting lines' read model is filled set-based once the people are in (its row trigger would walk
        # each new person's managers one at a time), then kept by the trigger from here on
        with raw.cursor() as cursor:
            cursor.execute("ALTER TABLE chassis_org_people DISABLE TRIGGER rm_lines_people")
        _copy(raw, "chassis_org_people", ["person_id", "version", "name", "org_unit_id", "manager_id", "status",
                                          "erased", "updated_at"],
              ((p, 1, f"Person {p}", unit, manager, "active", "f", now) for p, unit, manager in people))
        with raw.cursor() as cursor:
            cursor.execute("ALTER TABLE chassis_org_people ENABLE TRIGGER rm_lines_people")
        _copy(raw, "chassis_org_grants", ["subject_id", "version", "grants", "updated_at"],
              [(HR, 1, json.dumps([{"role": "hr", "org_unit_id": "co"}]), now)])
        with raw.cursor() as cursor:
            cursor.execute("UPDATE chassis_org_meta SET generation = generation + 1")
            cursor.execute(
                "INSERT INTO cycles (id, name, period, starts_on, ends_on, state, red_after_weeks, opened_at, "
                "created_at, updated_at, version) VALUES (%s, 'running year', 'year', %s, %s, 'open', 2, %s, %s, %s, "
                "1)",
                (CYCLE_ID, CYCLE_START, CYCLE_END, NOW - timedelta(days=59), now, now))
        raw.commit()
        with engine.begin() as connection:
            readmodels.rebuild(connection, readmodels.LINE_TABLES)

        unit_goal = {u: str(uuid.uuid5(uuid.NAMESPACE_URL, f"unit-goal-{u}")) for u, _, _ in units}
        heads = {unit: p for p, unit, _ in people if p == CEO}
        for p, unit, _manager in people:
            heads.setdefault(unit, p)
        key_results, segments = [], []

        def unit_goals():
            for u, parent, name in units:
                yield _goal(unit_goal[u], unit_goal[parent] if parent else None, "org_unit", u, heads.get(u, CEO), u,
                            f"{name} objective", "okr", "0", "0")

        def person_goals():
            weight = f"{Decimal(100) / goals_per_person:.2f}"
            for p, unit, _ in people:
                for n in range(goals_per_person):
                    goal_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    parent = unit_goal[unit] if n == 0 else None
                    confidence = f"{rng.randint(300, 1000) / 1000:.3f}" if rng.random() < 0.5 else None
                    schedule = "milestones" if rng.random() < 0.1 else "linear"
                    points = []
                    if schedule == "milestones":
                        days = sorted(rng.sample(range(20, 350), 3))
                        points = [(CYCLE_START, Decimal(0))] + [
                            (CYCLE_START + timedelta(days=d), Decimal(f)) for d, f in
                            zip(days, sorted(Decimal(rng.randint(5, 95)) / 100 for _ in days), strict=True)]
                        points.append((CYCLE_END, Decimal(1)))
                        segments.extend((goal_id, i, a, b, fa, fb) for i, ((a, fa), (b, fb)) in
                                        enumerate(itertools.pairwise(points)))
                    if rng.random() < 0.6:
                        direction = rng.choices([">=", "<=", "="], [7, 2, 1])[0]
                        target = Decimal(100) if direction != "<=" else Decimal(4)
                        green, yellow = {">=": (Decimal(90), Decimal(75)), "<=": (Decimal(4), Decimal(6)),
                                         "=": (Decimal(1), Decimal(3))}[direction]
                        cumulative = direction == ">=" and rng.random() < 0.3
                        actual = None
                        if rng.random() < 0.7:
                            low, high = (0, 40) if cumulative else (60, 110) if direction != "<=" else (2, 8)
                            actual = Decimal(rng.randint(low, high))
                        progress = (stored_progress(kpi_attainment(Direction(direction), target, actual))
                                    if actual is not None else Decimal(0))
                        band = (None if actual is None or cumulative
                                else _band(direction, target, green, yellow, actual))
                        yield _goal(goal_id, parent, "person", p, p, unit, "KPI", "kpi", weight, progress, schedule,
                                    (direction, target, green, yellow, actual, cumulative, band), confidence, points)
                    else:
                        current = Decimal(rng.randint(0, 40))
                        key_results.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), goal_id, 0,
                                            "Key result", 0, 100, current, "", 1))
                        yield _goal(goal_id, parent, "person", p, p, unit, "Objective", "okr", weight,
                                    stored_progress(current / 100), schedule, confidence=confidence, points=points)

        goals = _copy(raw, "goals", GOAL_COLUMNS, unit_goals())
        goals += _copy(raw, "goals", GOAL_COLUMNS, person_goals())
        _copy(raw, "key_results", ["id", "goal_id", "position", "title", "start_value", "target", "current", "unit",
                                   "weight"], key_results)
        _copy(raw, "schedule_segments", ["goal_id", "seq", "from_on", "to_on", "from_fraction", "to_fraction"],
              segments)
        with raw.cursor() as cursor:  # the open review the evening's sweep left for every red goal (its red spell)
            cursor.execute(
                "INSERT INTO reviews (id, goal_id, cycle_id, owner_id, manager_id, opened_on, reason, state, summary, "
                "red_since, created_at) SELECT gen_random_uuid()::text, g.id, g.cycle_id, g.responsible_id, "
                "p.manager_id, g.colour_since, 'turned_red', 'open', '', g.colour_since, %s FROM goals g "
                "LEFT JOIN chassis_org_people p ON p.person_id = g.responsible_id WHERE g.colour = 'red'", (now,))
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"people": len(people), "units": len(units), "goals": goals, "key_results": len(key_results),
            "schedule_segments": len(segments), "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="SQLAlchemy URL of an empty PostgreSQL database")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--goals-per-person", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    print(json.dumps(generate(args.url, args.people, args.goals_per_person, args.seed), indent=2))


if __name__ == "__main__":
    main()
