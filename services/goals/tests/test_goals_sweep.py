"""The set-based SQL colour sweep against the domain's Python reference, on varied data (linear and milestone
schedules, measured / unmeasured / cumulative KPIs, progress exactly on the boundaries, days before the start,
on and after the due date, several red_after_weeks); and the daily timer sweeping once a day."""
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from chassis.db import create_db_engine
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_get
from goals import models as m
from goals.domain.goal import Goal as DomainGoal
from goals.domain.goal import GoalKind, goal_status
from goals.domain.progress import Direction, Kpi, Thresholds, kpi_attainment
from goals.domain.status import Milestone, Schedule, schedule_status
from goals.domain.tree import Owner, OwnerKind
from goals.rules import kpi_band, segments_of, stored_progress
from goals.sweep import evaluated

GOALS_CONFIG = {"GOALS_SWEEP_CHECK_SECONDS": 0.2}
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def timer_ticks(s) -> float:
    """How many times the daily_sweep timer has fired (from the service's Prometheus metrics)."""
    status, body = http_get(s.containers["goals"], "/metrics")
    assert status == 200
    for line in body.splitlines():
        if line.startswith("jixiao_entrypoint_duration_seconds_count") and 'entrypoint="daily_sweep"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def gauge(s, sample: str) -> float | None:
    """One sample of the service's /metrics, e.g. 'jixiao_goal_reviews_open{service="goals"}'."""
    status, body = http_get(s.containers["goals"], "/metrics")
    assert status == 200
    for line in body.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def reference(goal: dict, milestones, on: date, weeks: int) -> str:
    """The domain's answer (domain.goal.goal_status / domain.status.schedule_status)."""
    schedule = Schedule(goal["start_on"], goal["due_on"], tuple(Milestone(d, f) for d, f in milestones))
    if goal["kind"] == "kpi" and goal["actual"] is not None:
        kpi = Kpi("k", Direction(goal["direction"]), goal["target"], "", Thresholds(goal["green"], goal["yellow"]),
                  goal["actual"], cumulative=goal["cumulative"])
        if not goal["cumulative"]:
            domain = DomainGoal(goal["id"], goal["cycle_id"], Owner(OwnerKind.PERSON, "p"), "t", GoalKind.KPI,
                                Decimal(0), schedule, kpi=kpi)
            return goal_status(domain, on, weeks).colour.value
    return schedule_status(schedule, goal["progress"], on, weeks).colour.value


def random_goal(rng: random.Random, cycle_id: str, weeks: int) -> tuple[dict, list]:
    start = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 60))
    span = rng.choice([100, 125, 200, 250, 364, 37])
    due = start + timedelta(days=span)
    milestones = []
    if rng.random() < 0.4:
        days = sorted(rng.sample(range(0, span), rng.randint(1, 4)))
        fractions = sorted(Decimal(rng.randrange(0, 1000)) / 1000 for _ in days)
        milestones = [(start + timedelta(days=d), f) for d, f in zip(days, fractions, strict=True)]
        if rng.random() < 0.2:
            milestones[0] = (start, milestones[0][1])  # a milestone on the start day
    goal = {"id": str(uuid.uuid4()), "cycle_id": cycle_id, "start_on": start, "due_on": due, "kind": "okr",
            "direction": None, "target": None, "green": None, "yellow": None, "actual": None, "cumulative": False,
            "schedule": "milestones" if milestones else "linear"}
    roll = rng.random()
    if roll < 0.35:
        direction = rng.choice([">=", "<=", "="])
        target = Decimal(rng.choice([0, 2, 90, 100]))
        green, yellow = {">=": (target, target * Decimal("0.8")), "<=": (target, target * Decimal("1.5") + 1),
                         "=": (Decimal(1), Decimal(3))}[direction]
        actual = None if rng.random() < 0.3 else Decimal(rng.randrange(0, 200))
        goal.update(kind="kpi", direction=direction, target=target, green=green, yellow=yellow, actual=actual,
                    cumulative=direction == ">=" and rng.random() < 0.3)
        progress = Decimal(0) if actual is None else stored_progress(kpi_attainment(Direction(direction), target,
                                                                                     actual))
    else:
        # progress anywhere, or exactly on a boundary of some day (expected, or the red floor)
        pick = rng.random()
        if pick < 0.5:
            progress = Decimal(rng.randrange(0, 1_000_000_001)) / Decimal(1_000_000_000)
        elif pick < 0.8 and span in (100, 125, 200, 250):
            progress = Decimal(rng.randrange(0, span + 1)) / span  # exact in 9 decimals: elapsed / span
        else:
            progress = Decimal(rng.choice([0, 1]))
    goal["progress"] = progress
    return goal, milestones


def row_of(goal: dict) -> dict:
    model = type("G", (), {**goal})
    return {**goal, "owner_kind": "person", "owner_id": "p", "responsible_id": "p", "org_unit_id": None,
            "title": "t", "description": "", "weight": Decimal(0), "unit": "", "kpi_band": kpi_band(model),
            "own_progress": goal["progress"], "confidence": None, "colour": "green",
            "colour_since": date(2027, 1, 1), "resources_needed": [], "indicator_code": None, "template_code": None,
            "computed": False, "scoring": None, "created_by": "p", "created_at": NOW, "updated_at": NOW, "version": 1}


def test_the_sql_sweep_agrees_with_the_domain_on_varied_data(pg_database):
    engine = create_db_engine(pg_database("goals"))
    rng = random.Random(20271)
    cycles = {}
    with Session(engine) as session:
        for weeks in (1, 2, 3, 6):
            cycle_id = str(uuid.uuid4())
            cycles[cycle_id] = weeks
            session.execute(insert(m.Cycle.__table__).values(
                id=cycle_id, name="c", period="year", starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31),
                state="open", red_after_weeks=weeks, opened_at=NOW, created_at=NOW, updated_at=NOW, version=1))
        goals, pieces, schedules = [], [], {}
        for _ in range(2400):
            cycle_id = rng.choice(list(cycles))
            goal, milestones = random_goal(rng, cycle_id, cycles[cycle_id])
            goals.append(goal)
            schedules[goal["id"]] = milestones
            if milestones:
                schedule = Schedule(goal["start_on"], goal["due_on"], tuple(Milestone(d, f) for d, f in milestones))
                pieces += [{"goal_id": goal["id"], "seq": i, "from_on": a, "to_on": b, "from_fraction": fa,
                            "to_fraction": fb} for i, (a, b, fa, fb) in enumerate(segments_of(schedule))]
        session.execute(insert(m.Goal.__table__), [row_of(g) for g in goals])
        session.execute(insert(m.ScheduleSegment.__table__), pieces)
        session.commit()
        by_id = {g["id"]: g for g in goals}
        days = [date(2026, 12, 20), date(2027, 1, 1), date(2027, 1, 9), date(2027, 1, 15)]
        days += [date(2027, 1, 1) + timedelta(days=rng.randrange(0, 420)) for _ in range(16)]
        compared = disagreements = 0
        colours = set()
        for on in days:
            for cycle_id, weeks in cycles.items():
                for row in session.execute(evaluated(cycle_id, on, weeks)):
                    goal = by_id[row.goal_id]
                    expected = reference(goal, schedules[goal["id"]], on, weeks)
                    compared += 1
                    colours.add(row.after)
                    if row.after != expected:
                        disagreements += 1
                        assert row.after == expected, (on, weeks, goal, schedules[goal["id"]])
    engine.dispose()
    assert compared == 2400 * len(days) and disagreements == 0
    assert colours == {"green", "yellow", "red"}


def test_the_daily_timer_sweeps_once_a_day(goals_service):
    s = goals_service
    today = datetime.now(UTC).date()
    with Session(s.engine) as session:
        cycle_id = str(uuid.uuid4())
        session.execute(insert(m.Cycle.__table__).values(
            id=cycle_id, name="running", period="year", starts_on=today - timedelta(days=200),
            ends_on=today + timedelta(days=165), state="open", red_after_weeks=2, opened_at=NOW, created_at=NOW,
            updated_at=NOW, version=1))
        goal = {"id": str(uuid.uuid4()), "cycle_id": cycle_id, "start_on": today - timedelta(days=200),
                "due_on": today + timedelta(days=165), "kind": "okr", "direction": None, "target": None,
                "green": None, "yellow": None, "actual": None, "cumulative": False, "schedule": "linear",
                "progress": Decimal(0)}
        session.execute(insert(m.Goal.__table__), [row_of(goal)])  # green yesterday, no progress since
        session.commit()
    wait_for(lambda: s.scalar("select count(*) from sweep_runs where \"on\" = :d", d=today) == 1,
             message="the timer swept today")
    wait_for(lambda: s.scalar("select colour from goals where id = :g", g=goal["id"]) == "red")
    finished = s.scalar("select finished_at from sweep_runs where \"on\" = :d", d=today)
    ticks = s.scalar("select count(*) from status_changes where goal_id = :g", g=goal["id"])
    assert s.scalar("select count(*) from reviews where goal_id = :g and state = 'open'", g=goal["id"]) == 1
    ran = timer_ticks(s)
    wait_for(lambda: timer_ticks(s) >= ran + 3, message="three more ticks")  # the day is done: nothing runs again
    assert s.scalar("select finished_at from sweep_runs where \"on\" = :d", d=today) == finished
    assert s.scalar("select count(*) from status_changes where goal_id = :g", g=goal["id"]) == ticks == 1
    with Session(s.engine) as session:
        assert session.scalar(select(m.Goal.colour_since).where(m.Goal.id == goal["id"])) == today
    # the operators' gauges, from the read models the sweep moved in its transaction
    wait_for(lambda: gauge(s, 'jixiao_goals_by_colour{colour="red",service="goals"}') == 1.0,
             message="one red goal on /metrics")
    assert gauge(s, 'jixiao_goals_by_colour{colour="green",service="goals"}') == 0.0
    assert gauge(s, 'jixiao_goal_reviews_open{service="goals"}') == 1.0
