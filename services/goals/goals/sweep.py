"""The daily colour sweep: one set-based UPDATE per open cycle that recolours every goal whose colour changed.

For goal g with (rolled-up) progress p on day d, N = the cycle's red_after_weeks, lag = 7N days (the rule of
domain/status.py and domain/goal.py, multiplied through so that NUMERIC compares exactly):

    p >= 1                                         -> green
    d > due                                        -> red
    a measured KPI                                 -> the band of its latest value (kpi_band)
    linear schedule, span = due - start, e = clamp(d - start, 0, span):
        p * span >= e                              -> green
        p * span <= e - lag                        -> red
    milestone schedule, the piece (d0, f0) -> (d1, f1) that holds the day (schedule_segments):
        p * (d1 - d0) >= f0 * (d1 - d0) + (f1 - f0) * (d - d0)        -> green    (before the start: green)
        the same at d - lag (the first piece extended backwards
        before the start; 1 from the due date on), with <=          -> red
    otherwise                                      -> yellow

Only rows whose colour changes are written (RETURNING feeds the status history, the events and the reviews),
so a sweep that runs twice on one day changes nothing the second time.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, Integer, and_, case, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from goals.models import Goal, ScheduleSegment

GREEN, YELLOW, RED = "green", "yellow", "red"


class days_between(FunctionElement):
    """Whole days from `b` to `a` (a - b) for two DATE expressions."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    a, b = list(element.clauses)
    return f"({compiler.process(a, **kw)} - {compiler.process(b, **kw)})"


@compiles(days_between)
def _days_default(element, compiler, **kw):
    a, b = list(element.clauses)
    return (f"CAST(julianday({compiler.process(a, **kw)}) - julianday({compiler.process(b, **kw)}) "
            f"AS INTEGER)")


def _day(value: date) -> ColumnElement:
    # a typed bind, not a CAST: SQLite would CAST '2027-03-02' AS DATE to the number 2027
    return literal(value, Date())


def colour_expression(on: date, red_after_weeks: int):
    """(the CASE expression, the FROM clause it needs) for goals on day `on`."""
    g = Goal.__table__
    today = _day(on)
    red_day = _day(on - timedelta(days=7 * red_after_weeks))
    lag = 7 * red_after_weeks

    span = days_between(g.c.due_on, g.c.start_on)
    since_start = days_between(today, g.c.start_on)
    elapsed = case((since_start < 0, 0), (since_start > span, span), else_=since_start)

    now_piece = aliased(ScheduleSegment.__table__, name="now_piece")
    lag_piece = aliased(ScheduleSegment.__table__, name="lag_piece")

    def on_piece(piece, day):
        width = days_between(piece.c.to_on, piece.c.from_on)
        progressed = days_between(day, piece.c.from_on)
        return g.c.progress * width, piece.c.from_fraction * width + (piece.c.to_fraction - piece.c.from_fraction) \
            * progressed

    now_left, now_right = on_piece(now_piece, today)
    lag_left, lag_right = on_piece(lag_piece, red_day)
    milestones = g.c.schedule == "milestones"

    colour = case(
        (g.c.progress >= 1, GREEN),
        (today > g.c.due_on, RED),
        (g.c.kpi_band.is_not(None), g.c.kpi_band),
        (and_(~milestones, g.c.progress * span >= elapsed), GREEN),
        (and_(~milestones, g.c.progress * span <= elapsed - lag), RED),
        (~milestones, YELLOW),
        (today < g.c.start_on, GREEN),
        (and_(now_piece.c.seq.is_not(None), now_left >= now_right), GREEN),
        (red_day >= g.c.due_on, RED),
        (and_(lag_piece.c.seq.is_not(None), lag_left <= lag_right), RED),
        else_=YELLOW,
    )
    source = (
        g.outerjoin(now_piece, and_(milestones, now_piece.c.goal_id == g.c.id, now_piece.c.from_on <= today,
                                    today < now_piece.c.to_on))
        .outerjoin(lag_piece, and_(milestones, lag_piece.c.goal_id == g.c.id,
                                   or_(lag_piece.c.from_on <= red_day, lag_piece.c.seq == 0),
                                   red_day < lag_piece.c.to_on))
    )
    return colour, source


def evaluated(cycle_id: str, on: date, red_after_weeks: int):
    """SELECT id, colour before, colour after for every goal of a cycle (also the comparison test's input)."""
    g = Goal.__table__
    colour, source = colour_expression(on, red_after_weeks)
    return (select(g.c.id.label("goal_id"), g.c.colour.label("before"), colour.label("after"))
            .select_from(source).where(g.c.cycle_id == cycle_id))


def recolour(cycle_id: str, on: date, red_after_weeks: int, *, returning: bool = True):
    """UPDATE ... FROM (evaluated) SET colour WHERE it changed, RETURNING what changed (PostgreSQL; SQLite's
    RETURNING cannot read the FROM clause, so there `changes` reads them first, in the same transaction)."""
    g = Goal.__table__
    fresh = evaluated(cycle_id, on, red_after_weeks).subquery("fresh")
    stmt = (update(g).where(g.c.id == fresh.c.goal_id, g.c.colour != fresh.c.after)
            .values(colour=fresh.c.after, colour_since=_day(on)))
    if returning:
        stmt = stmt.returning(g.c.id, fresh.c.before, fresh.c.after, g.c.progress, g.c.cycle_id,
                              g.c.responsible_id, g.c.owner_kind, g.c.owner_id)
    return stmt


def changes(cycle_id: str, on: date, red_after_weeks: int):
    """The rows `recolour` would change, with what it returns."""
    g = Goal.__table__
    fresh = evaluated(cycle_id, on, red_after_weeks).subquery("fresh")
    return (select(g.c.id, fresh.c.before, fresh.c.after, g.c.progress, g.c.cycle_id, g.c.responsible_id,
                   g.c.owner_kind, g.c.owner_id)
            .join(fresh, fresh.c.goal_id == g.c.id).where(g.c.colour != fresh.c.after))
