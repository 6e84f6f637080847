"""CPU of one `team_board` call (the "my team" dashboard's feedback half), in-process, on PostgreSQL.

Seeds a company of managers with 20 reports each and a quarter of activity in 2026-Q4 (monthly check-ins, weekly
reports, key events, coaching touches and notes, zero-activity flags), then times `board.team_board` for one
manager: CPU per call (time.process_time, this process only: the use case's Python, the driver, the ORM) and wall
time, and optionally a cProfile of it. The database's own CPU is not counted (it is another process).

    .venv/bin/python services/feedback/bench/board_profile.py [--calls 500] [--profile] [--keep]
"""
from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.access import apply_org_event
from chassis.migrations import upgrade
from chassis.testing.infra import PgManager, test_pg_url
from chassis.uow import Store
from contracts import Actor, Envelope
from contracts import feedback as c
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
from feedback import access, errors
from feedback import models as m
from feedback.domain.calendar import month_key, week_key
from feedback.repositories import FeedbackUnitOfWork
from feedback.settings import FeedbackSettings
from feedback.usecases import board, checkins, coaching, common, sweeps

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # today, 2026-Q4


def per_part_board(uow: FeedbackUnitOfWork, actor: Actor, manager: str) -> c.TeamBoardView:
    """The board as it was read before (one ORM query per part, whole rows loaded): the same-run reference."""
    with uow:
        common.require(uow, actor, "feedback.team.read", access.of(access.TEAM, manager), "manager_id")
        on = common.today(uow)
        team = common.team_of(uow, manager)
        last_week = week_key(on - timedelta(days=7))
        reported = {r.person_id for r in uow.reports.for_people(team, "weekly", [last_week])}
        flagged = sorted(uow.session.scalars(select(m.ZeroActivity).where(m.ZeroActivity.person_id.in_(team))),
                         key=lambda z: z.person_id)
        due = uow.checkins.due_for(manager, on)
        cadence = coaching.compute(uow, manager, month_key(on))
        return c.TeamBoardView(
            manager_id=manager,
            checkins_due=[c.BoardCheckinDue(checkin_id=r.id, person_id=r.person_id, due_by=r.due_by,
                                            overdue=on > r.due_by) for r in due],
            missing_reports=c.BoardMissingReports(period=last_week, people=[p for p in team if p not in reported]),
            zero_activity=[c.BoardZeroActivity(person_id=z.person_id, weeks=z.weeks, detected_on=z.detected_on,
                                               last_valid_on=z.last_valid_on) for z in flagged],
            coaching_cadence=cadence,
        )


def seed(store: Store, managers: int, team: int, rng: random.Random) -> None:
    versions = itertools.count(1)
    events = [OrgUnitChanged(org_unit_id="co", version=next(versions), name="co", parent_id=None)]
    people = [("dir", None)] + [(f"m{i}", "dir") for i in range(managers)]
    people += [(f"m{i}-r{j}", f"m{i}") for i in range(managers) for j in range(team)]
    events += [PersonChanged(person_id=p, version=next(versions), name=p, org_unit_id="co", manager_id=mg)
               for p, mg in people]
    events.append(RoleGrantsChanged(subject_id="hr", version=next(versions),
                                    grants=[RoleGrant(role="hr", org_unit_id="co")]))
    with store.engine.begin() as conn:
        session = Session(conn)
        for event in events:
            apply_org_event(session, Envelope.wrap(event))
        session.flush()

    def uow(at: datetime, actor: Actor | None = None) -> FeedbackUnitOfWork:
        made = FeedbackUnitOfWork(store, actor=actor, clock=lambda: at)
        made.settings = FeedbackSettings()
        return made

    hr = Actor(subject="hr", kind="person")
    for month, at in (("2026-10", datetime(2026, 10, 2, tzinfo=UTC)), ("2026-11", datetime(2026, 11, 2, tzinfo=UTC)),
                      ("2026-12", datetime(2026, 12, 1, tzinfo=UTC))):
        checkins.schedule(uow(at, hr), hr, c.ScheduleCheckins(month=month))
    sweeps.run(uow(NOW))  # flags November's overdue check-ins, publishes cadence and participation
    reps = [p for p, mg in people if mg and mg != "dir"]
    rows: list[m.Base] = []
    with store.engine.begin() as conn:
        session = Session(conn)
        # most of October's check-ins were held; a few of November's
        for row in session.query(m.Checkin).filter(m.Checkin.month.in_(["2026-10", "2026-11"])):
            if rng.random() < (0.8 if row.month == "2026-10" else 0.3):
                row.state, row.held_on = "held", row.due_by - timedelta(days=rng.randint(0, 3))
        # weekly reports of the quarter's weeks (~85 % filed), key events, coaching touches and weekly notes
        week_starts = [date(2026, 9, 28) + timedelta(weeks=k) for k in range(10)]
        for person in reps:
            manager = person.split("-")[0]
            for start in week_starts:
                if rng.random() < 0.85:
                    rows.append(m.Report(id=str(uuid.uuid4()), person_id=person, manager_id=manager,
                                         team_id=manager, kind="weekly", period=week_key(start), period_start=start,
                                         done="拜访客户并推进方案 / visited customers", blockers=[], next_plan="跟进",
                                         goal_ids=["g-1"], extra={}, submitted_at=NOW, updated_at=NOW, version=1))
            for _ in range(rng.randint(0, 4)):
                rows.append(m.KeyEvent(id=str(uuid.uuid4()), person_id=person, recorded_by=manager,
                                       polarity=rng.choice(["positive", "negative"]), title="closed ACME",
                                       occurred_on=date(2026, 10, 1) + timedelta(days=rng.randint(0, 62)),
                                       evidence_text="签下合同 / signed", evidence_url=None, goal_id="g-1",
                                       response=None, recorded_at=NOW))
        for i in range(managers):
            for _ in range(rng.randint(5, 25)):
                on = date(2026, 7, 1) + timedelta(days=rng.randint(0, 155))
                rows.append(m.CoachingTouch(id=str(uuid.uuid4()), manager_id=f"m{i}",
                                            person_id=f"m{i}-r{rng.randrange(team)}", on=on, minutes=30,
                                            topic="pipeline", notes="", goal_id=None, created_at=NOW))
            for start in week_starts:
                if rng.random() < 0.6:
                    rows.append(m.CoachingNote(id=str(uuid.uuid4()), manager_id=f"m{i}", week=week_key(start),
                                               notes="谈了渠道策略", submitted_at=NOW))
        for person in rng.sample(reps, max(1, len(reps) // 15)):
            rows.append(m.ZeroActivity(person_id=person, manager_id=person.split("-")[0], weeks=8,
                                       last_valid_on=date(2026, 9, 28), detected_on=date(2026, 11, 30)))
        session.add_all(rows)
        session.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--team", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--url", help="an already seeded database (skips seeding)")
    args = parser.parse_args()
    errors.register()
    access.register()
    pg = PgManager(test_pg_url())
    name = f"jxb_feedback_board_{uuid.uuid4().hex[:8]}"
    url = args.url or pg.create(name)
    try:
        if not args.url:
            upgrade("feedback", url)
        store = Store.from_url(url, "feedback")
        if not args.url:
            seed(store, args.managers, args.team, random.Random(16))
        settings = FeedbackSettings()  # the service builds its settings once (feedback.service.settings_for)

        def uow(actor: Actor) -> FeedbackUnitOfWork:
            made = FeedbackUnitOfWork(store, actor=actor, clock=lambda: NOW)
            made.settings = settings
            return made

        # the same answer as the per-part reads, for every manager
        managers = [f"m{i}" for i in range(args.managers)] + ["dir"]
        for who in managers:
            actor = Actor(subject=who, kind="person")
            assert board.team_board(uow(actor), actor) == per_part_board(uow(actor), actor, who), who
        print(f"same answer as the per-part reads for {len(managers)} managers")
        who = f"m{min(7, args.managers - 1)}"  # a manager with 20 reports
        manager = Actor(subject=who, kind="person")
        view = board.team_board(uow(manager), manager)
        print(f"board of {who}: {len(view.checkins_due)} check-ins due, {len(view.missing_reports.people)} missing "
              f"reports ({view.missing_reports.period}), {len(view.zero_activity)} zero activity, "
              f"{view.coaching_cadence.touches} touches this month")
        variants = {"per-part (before)": lambda: per_part_board(uow(manager), manager, who),
                    "one round trip (now)": lambda: board.team_board(uow(manager), manager)}
        print(f"load average {os.getloadavg()}")
        measured: dict[str, float] = {}
        for _ in range(2):  # interleaved rounds: both see the same load
            for name, call in variants.items():
                for _ in range(30):
                    call().model_dump(mode="json")
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(args.calls):
                    call().model_dump(mode="json")  # what the RPC answers
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                measured[name] = min(measured.get(name, 1e9), cpu / args.calls * 1000)
                print(f"  {name}: {args.calls} calls, CPU {cpu / args.calls * 1000:.3f} ms/call, "
                      f"wall {wall / args.calls * 1000:.3f} ms/call")
        before, now = measured.values()
        print(f"CPU per call (best round): before {before:.3f} ms, now {now:.3f} ms, ratio {now / before:.2f}; "
              f"load average {os.getloadavg()}")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.calls):
                variants["one round trip (now)"]().model_dump(mode="json")
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BOARD_PROFILE_SORT", "cumulative")).print_stats(40)

        store.engine.dispose()
    finally:
        if not args.keep and not args.url:
            pg.drop(name)
        elif not args.url:
            print(f"kept {url}")


if __name__ == "__main__":
    main()
