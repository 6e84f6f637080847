"""The daily red/yellow/green sweep and the reviews (复盘) it opens."""
from __future__ import annotations

import zlib
from datetime import date

from sqlalchemy import func, select

from chassis.errors import Forbidden, NotFound, Unprocessable
from contracts import goals as c
from goals import models as m
from goals.access import person_resource, require
from goals.repositories import bulk_insert
from goals.sweep import changes, recolour
from goals.usecases.common import open_reviews
from goals.views import decode_cursor, encode_cursor, review_view

SWEEP_LOCK = zlib.crc32(b"jixiao-goals-sweep") & 0x7FFFFFFF


def run_sweep(uow, actor, on: date, *, once_a_day: bool = False) -> c.SweepResult | None:
    """Colour every goal of every running cycle as of `on`, in SQL, in one transaction with its history rows,
    events and reviews. `once_a_day` (the timer) skips a day already swept; an explicit run re-evaluates (and
    changes nothing when nothing moved)."""
    with uow:
        if actor is None or actor.kind not in ("service", "system"):
            require(uow, actor, "company.manage")
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(SWEEP_LOCK)))  # one sweep at a time, any replica
        done = session.get(m.SweepRun, on)
        if once_a_day and done is not None:
            return None
        started = uow.now()
        cycles = uow.cycles.swept()
        evaluated = session.scalar(select(func.count()).select_from(m.Goal)
                                   .where(m.Goal.cycle_id.in_([cy.id for cy in cycles]))) if cycles else 0
        changed = []
        postgres = session.get_bind().dialect.name == "postgresql"
        for cycle in cycles:
            if postgres:
                changed.extend(session.execute(recolour(cycle.id, on, cycle.red_after_weeks)).all())
            else:  # SQLite (one writer at a time): read what will change, then change it
                changed.extend(session.execute(changes(cycle.id, on, cycle.red_after_weeks)).all())
                session.execute(recolour(cycle.id, on, cycle.red_after_weeks, returning=False))
        if changed:
            now = uow.now()
            bulk_insert(session, m.StatusChange.__table__, [
                {"goal_id": row.id, "on": on, "before": row.before, "after": row.after, "progress": row.progress,
                 "at": now} for row in changed])
            uow.publish(*(c.GoalStatusChanged(goal_id=row.id, cycle_id=row.cycle_id,
                                              responsible_id=row.responsible_id, before=row.before, after=row.after,
                                              on=on, progress=row.progress) for row in changed))
        red = [(row.id, row.cycle_id, row.responsible_id) for row in changed if row.after == "red"]
        reviews = open_reviews(uow, red, on)
        finished = uow.now()
        if done is None:
            session.add(m.SweepRun(on=on, started_at=started, finished_at=finished, evaluated=evaluated,
                                   changed=len(changed)))
        else:
            done.finished_at, done.evaluated, done.changed = finished, evaluated, done.changed + len(changed)
        return c.SweepResult(on=on, evaluated=evaluated, changed=len(changed), turned_red=len(red),
                             reviews_opened=reviews)


def list_reviews(uow, actor, command: c.ListReviews) -> c.ReviewList:
    after = decode_cursor(command.cursor)
    with uow:
        rows = uow.reviews.page_for(actor.subject if actor else "", command.state, command.cycle_id,
                                    after[0] if after else None, command.limit + 1)
    more = len(rows) > command.limit
    rows = rows[:command.limit]
    return c.ReviewList(items=[review_view(r) for r in rows], next_cursor=encode_cursor(rows[-1].id) if more else None)


def complete_review(uow, actor, command: c.CompleteReview) -> c.ReviewView:
    with uow:
        review = uow.reviews.get(command.review_id, lock=True)
        if review is None:
            raise NotFound(f"no review {command.review_id}",
                           errors=[{"field": "review_id", "message": "no such review"}])
        if actor is None or actor.subject not in (review.owner_id, review.manager_id):
            reason = "only the goal's owner and their manager complete its review"
            uow.record_denial(actor, "review.complete", person_resource(review.owner_id), reason)
            raise Forbidden(reason)
        if review.state != "open":
            raise Unprocessable(f"review {review.id} is already completed",
                                errors=[{"field": "review_id", "message": "already completed"}])
        review.state, review.summary = "completed", command.summary
        review.completed_by, review.completed_at = actor.subject, uow.now()
        uow.publish(c.ReviewCompleted(review_id=review.id, goal_id=review.goal_id, completed_by=actor.subject,
                                      summary=review.summary))
        return review_view(review)

