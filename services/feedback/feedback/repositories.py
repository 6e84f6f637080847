"""Repositories: how the use cases load and store feedback data (SQLAlchemy 2, one session per unit of work;
`lock=True` takes the row lock a read-modify-write needs). Set-based queries for the team views and sweeps."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from chassis.access.guard import AccessUnitOfWork  # the module itself: the package exports lazily (Any to mypy)
from feedback import models as m
from feedback.settings import FeedbackSettings

CHUNK = 5000


def _chunks(ids: Sequence[str]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


Row = TypeVar("Row", bound=m.Base)


class Repository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, model: type[Row], key: object, *, lock: bool = False) -> Row | None:
        stmt = select(model).where(*(col == value for col, value in zip(
            model.__table__.primary_key.columns, key if isinstance(key, tuple) else (key,), strict=True)))
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def add(self, *rows) -> None:
        self.session.add_all(rows)


class CheckinRepository(Repository):
    def existing_pairs(self, month: str) -> set[tuple[str, str]]:
        return set(self.session.execute(select(m.Checkin.manager_id, m.Checkin.person_id)
                                        .where(m.Checkin.month == month)).tuples())

    def points(self, checkin_id: str) -> list[m.CheckinPoint]:
        return list(self.session.scalars(select(m.CheckinPoint).where(m.CheckinPoint.checkin_id == checkin_id)
                                         .order_by(m.CheckinPoint.id)))

    def page(self, *, month: str | None = None, person_id: str | None = None, manager_id: str | None = None,
             state: str | None = None, after: str | None = None, limit: int = 50) -> list[m.Checkin]:
        stmt = select(m.Checkin)
        for column, value in ((m.Checkin.month, month), (m.Checkin.person_id, person_id),
                              (m.Checkin.manager_id, manager_id), (m.Checkin.state, state)):
            if value is not None:
                stmt = stmt.where(column == value)
        if after is not None:
            stmt = stmt.where(m.Checkin.id > after)
        return list(self.session.scalars(stmt.order_by(m.Checkin.id).limit(limit)))

    def newly_overdue(self, today: date) -> list[m.Checkin]:
        return list(self.session.scalars(select(m.Checkin).where(
            m.Checkin.state == "scheduled", m.Checkin.due_by < today, m.Checkin.overdue_flagged_on.is_(None))
            .with_for_update()))

    def due_for(self, manager_id: str, today: date) -> list[m.Checkin]:
        """A manager's check-ins not yet held whose window has opened (due now or overdue)."""
        return list(self.session.scalars(select(m.Checkin).where(
            m.Checkin.manager_id == manager_id, m.Checkin.state == "scheduled", m.Checkin.due_from <= today)
            .order_by(m.Checkin.due_by, m.Checkin.person_id)))


class ReportRepository(Repository):
    def find(self, person_id: str, kind: str, period: str, *, lock: bool = False) -> m.Report | None:
        stmt = select(m.Report).where(m.Report.person_id == person_id, m.Report.kind == kind,
                                      m.Report.period == period)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def for_people(self, people: Sequence[str], kind: str, periods: Sequence[str]) -> list[m.Report]:
        out: list[m.Report] = []
        for chunk in _chunks(list(people)):
            out += self.session.scalars(select(m.Report).where(m.Report.kind == kind,
                                                               m.Report.period.in_(list(periods)),
                                                               m.Report.person_id.in_(chunk)))
        return out

    def summary_rows(self, people: Sequence[str], kind: str, period: str) -> list[tuple]:
        """(person, done, blockers, goal ids) of the period's reports: plain rows, no ORM objects."""
        out: list[tuple] = []
        for chunk in _chunks(list(people)):
            out += self.session.execute(select(m.Report.person_id, m.Report.done, m.Report.blockers,
                                               m.Report.goal_ids).where(
                m.Report.kind == kind, m.Report.period == period, m.Report.person_id.in_(chunk))).all()
        return out

    def blocker_history(self, people: Sequence[str], kind: str, periods: Sequence[str]) -> list[tuple]:
        """(person, period, blockers) of earlier periods, for the people who report blockers now."""
        out: list[tuple] = []
        for chunk in _chunks(list(people)):
            out += self.session.execute(select(m.Report.person_id, m.Report.period, m.Report.blockers).where(
                m.Report.kind == kind, m.Report.period.in_(list(periods)), m.Report.person_id.in_(chunk))).all()
        return out

    def submitted_counts(self, kind: str, periods: Sequence[str]) -> dict[str, int]:
        """person -> reports submitted in these periods (one GROUP BY over the period index)."""
        rows = self.session.execute(select(m.Report.person_id, func.count()).where(
            m.Report.kind == kind, m.Report.period.in_(list(periods))).group_by(m.Report.person_id))
        return dict(rows.all())


class ActivityRepository(Repository):
    def weekly_counts(self, week: str, start: datetime, end: datetime, person_id: str | None = None):
        """person -> (visits, valid leads) for the week; person -> (opportunities created, demos) in it."""
        stmt = select(m.Visit.person_id, m.Visit.valid, func.count()).where(m.Visit.week == week)
        opp = select(m.Opportunity.person_id, func.count()).where(m.Opportunity.created_at >= start,
                                                                  m.Opportunity.created_at < end)
        demo = select(m.Opportunity.person_id, func.count()).where(m.Opportunity.demo_at >= start,
                                                                   m.Opportunity.demo_at < end)
        if person_id is not None:
            stmt = stmt.where(m.Visit.person_id == person_id)
            opp = opp.where(m.Opportunity.person_id == person_id)
            demo = demo.where(m.Opportunity.person_id == person_id)
        counts: dict[str, list[int]] = {}
        for person, valid, n in self.session.execute(stmt.group_by(m.Visit.person_id, m.Visit.valid)):
            entry = counts.setdefault(person, [0, 0, 0, 0])
            entry[0] += n
            if valid:
                entry[1] += n
        for person, n in self.session.execute(opp.group_by(m.Opportunity.person_id)):
            counts.setdefault(person, [0, 0, 0, 0])[2] = n
        for person, n in self.session.execute(demo.group_by(m.Opportunity.person_id)):
            counts.setdefault(person, [0, 0, 0, 0])[3] = n
        return counts

    def last_valid(self) -> dict[str, date | None]:
        """Everyone who ever recorded a visit -> the day of their last valid one (None: never valid); one scan."""
        last = func.max(case((m.Visit.valid.is_(True), m.Visit.visited_at)))
        rows = self.session.execute(select(m.Visit.person_id, last).group_by(m.Visit.person_id))
        return {person: at.date() if isinstance(at, datetime) else at for person, at in rows}

    def opportunity_people(self) -> set[str]:
        return set(self.session.scalars(select(m.Opportunity.person_id).distinct()))

    def objection_tags(self, people: Sequence[str], start: datetime, end: datetime) -> list[list[str]]:
        out: list[list[str]] = []
        for chunk in _chunks(list(people)):
            out += self.session.scalars(select(m.Visit.objections).where(
                m.Visit.person_id.in_(chunk), and_(m.Visit.visited_at >= start, m.Visit.visited_at < end)))
        return out


class CoachingRepository(Repository):
    def touches_by_month(self, manager_id: str, start: date, end: date) -> dict[str, int]:
        rows = self.session.scalars(select(m.CoachingTouch.on).where(
            m.CoachingTouch.manager_id == manager_id, m.CoachingTouch.on >= start, m.CoachingTouch.on <= end))
        out: dict[str, int] = {}
        for on in rows:
            key = f"{on.year:04d}-{on.month:02d}"
            out[key] = out.get(key, 0) + 1
        return out

    def checkins_held_by_month(self, manager_id: str, start: date, end: date) -> dict[str, int]:
        out: dict[str, int] = {}
        for on in self.session.scalars(select(m.Checkin.held_on).where(
                m.Checkin.manager_id == manager_id, m.Checkin.held_on >= start, m.Checkin.held_on <= end)):
            key = f"{on.year:04d}-{on.month:02d}"
            out[key] = out.get(key, 0) + 1
        return out

    def checkins_overdue(self, manager_id: str, month: str) -> int:
        return self.session.scalar(select(func.count()).select_from(m.Checkin).where(
            m.Checkin.manager_id == manager_id, m.Checkin.month == month,
            m.Checkin.overdue_flagged_on.is_not(None))) or 0

    def notes_in(self, manager_id: str, weeks: Sequence[str]) -> int:
        return self.session.scalar(select(func.count()).select_from(m.CoachingNote).where(
            m.CoachingNote.manager_id == manager_id, m.CoachingNote.week.in_(list(weeks)))) or 0

    def managers_with_touches(self, start: date, end: date) -> set[str]:
        return set(self.session.scalars(select(m.CoachingTouch.manager_id).where(
            m.CoachingTouch.on >= start, m.CoachingTouch.on <= end).distinct()))


BOARD_DUE, BOARD_REPORTED, BOARD_ZERO = "due", "reported", "zero"
BOARD_TOUCH, BOARD_HELD, BOARD_OVERDUE, BOARD_NOTES = "touch", "held", "overdue", "notes"


def _board_statement():
    """The board's seven lookups as one UNION ALL of (tag, person, ref, day, day2, n), built once (its bind
    parameters are the board's inputs; building the expression per call cost more CPU than running it)."""
    # short aliases: a shorter text to send, and to scan where chassis.lazy_begin checks a read
    ck, rp, za = (m.Checkin.__table__.alias("k").c, m.Report.__table__.alias("r").c,
                  m.ZeroActivity.__table__.alias("z").c)
    ct, cn = m.CoachingTouch.__table__.alias("t").c, m.CoachingNote.__table__.alias("n").c
    no_text, no_day, no_n = cast(null(), String), cast(null(), Date), cast(null(), Integer)  # typed for the UNION
    manager, team = bindparam("manager", type_=String), bindparam("team", expanding=True, type_=String)
    first, last = bindparam("first", type_=Date), bindparam("last", type_=Date)

    def tag(name: str):
        return literal_column(f"'{name}'", String)

    return union_all(
        select(tag(BOARD_DUE), ck.person_id, ck.id, ck.due_by, no_day, no_n).where(
            ck.manager_id == manager, ck.state == "scheduled", ck.due_from <= bindparam("today", type_=Date)),
        select(tag(BOARD_REPORTED), rp.person_id, no_text, no_day, no_day, no_n).where(
            rp.kind == "weekly", rp.period == bindparam("week", type_=String), rp.person_id.in_(team)),
        select(tag(BOARD_ZERO), za.person_id, no_text, za.detected_on, za.last_valid_on, za.weeks).where(
            za.person_id.in_(team)),
        select(tag(BOARD_TOUCH), no_text, no_text, ct.on, no_day, no_n).where(
            ct.manager_id == manager, ct.on >= first, ct.on <= last),
        select(tag(BOARD_HELD), no_text, no_text, ck.held_on, no_day, no_n).where(
            ck.manager_id == manager, ck.held_on >= first, ck.held_on <= last),
        select(tag(BOARD_OVERDUE), no_text, no_text, no_day, no_day, func.count()).where(
            ck.manager_id == manager, ck.month == bindparam("month", type_=String),
            ck.overdue_flagged_on.is_not(None)),
        select(tag(BOARD_NOTES), no_text, no_text, no_day, no_day, func.count()).where(
            cn.manager_id == manager, cn.week.in_(bindparam("weeks", expanding=True, type_=String))),
    )


BOARD_STATEMENT = _board_statement()


class BoardRepository(Repository):
    """The "my team" board in one round trip: seven indexed lookups as one UNION ALL of plain columns (no ORM
    entities: loading whole Report and Checkin rows, JSON columns and all, was most of the board's CPU).

    Every part is a lookup on an index: check-ins due (ix_checkins_open), last week's reports of the team (the
    reports' unique (person, kind, period)), zero-activity flags (primary key), coaching touches
    (ix_coaching_manager), check-ins held (ix_checkins_held) and overdue this month (ix_checkins_manager), weekly
    notes (unique (manager, week)). Each reads one manager's rows of a window, so no aggregate is kept for it."""

    def rows(self, manager_id: str, team: Sequence[str], today: date, week: str, window: tuple[date, date],
             month: str, weeks: Sequence[str]) -> list[tuple]:
        """(tag, person, ref, day, day2, n) rows; see BOARD_* for the tags and `feedback.usecases.board`."""
        params = {"manager": manager_id, "team": list(team), "today": today, "week": week, "first": window[0],
                  "last": window[1], "month": month, "weeks": list(weeks)}
        return list(self.session.connection().execute(BOARD_STATEMENT, params).tuples())


class SurveyRepository(Repository):
    def invitation(self, survey_id: str, reviewer_id: str, *, lock: bool = False) -> m.SurveyInvitation | None:
        return self.get(m.SurveyInvitation, (survey_id, reviewer_id), lock=lock)

    def answers(self, survey_id: str) -> list[m.SurveyAnswer]:
        return list(self.session.scalars(select(m.SurveyAnswer).where(m.SurveyAnswer.survey_id == survey_id)))

    def due_to_close(self, today: date) -> list[m.Survey]:
        return list(self.session.scalars(select(m.Survey).where(m.Survey.state == "open",
                                                                m.Survey.closes_on < today).with_for_update()))


class SweepRepository(Repository):
    def claim(self, kind: str, key: str, at: datetime) -> bool:
        """True the first time (kind, key) is claimed in this database."""
        if self.get(m.SweepRun, (kind, key)) is not None:
            return False
        self.session.add(m.SweepRun(kind=kind, key=key, at=at))
        self.session.flush()
        return True


class FeedbackUnitOfWork(AccessUnitOfWork):
    """The feedback unit of work: `uow.access` (chassis.access) and the repositories."""

    settings: FeedbackSettings | None = None  # set by the service (and by tests)

    def open(self, session: Session) -> None:
        super().open(session)
        self.repo = Repository(session)
        self.checkins = CheckinRepository(session)
        self.reports = ReportRepository(session)
        self.activity = ActivityRepository(session)
        self.coaching = CoachingRepository(session)
        self.board = BoardRepository(session)
        self.surveys = SurveyRepository(session)
        self.sweeps = SweepRepository(session)
