"""The daily red/yellow/green sweep and the reviews (复盘) it opens."""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, func, select

from chassis.errors import InvalidInput, Unprocessable
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, deny, person_resource, require
from goals.repositories import GoalsUnitOfWork, bulk_insert, table_of
from goals.sweep import changes, recolour
from goals.usecases.common import no_review, settle_colours, today, unreviewed_red
from goals.views import decode_cursor, encode_cursor, review_view

SWEEP_LOCK = zlib.crc32(b"jixiao-goals-sweep") & 0x7FFFFFFF


def run_sweep(uow: GoalsUnitOfWork, actor: Actor | None, on: date, *, once_a_day: bool = False) -> c.SweepResult | None:
    """Colour the goals of the running cycles whose span contains `on`, in SQL, in one transaction with their
    history rows, events and the consequences (`settle_colours`: reviews opened for red spells, reviews of
    recovered goals resolved). `on` must fall within an open cycle (else 400 naming `on`; the timer simply has
    nothing to do); a date after today is a preview: what would change, nothing written. `once_a_day` (the
    timer) skips a day already swept; an explicit run re-evaluates (and changes nothing when nothing moved)."""
    with uow:
        if actor is None or actor.kind not in ("service", "system"):
            require(uow, actor, "company.manage")
        cycles = [cy for cy in uow.cycles.swept() if cy.starts_on <= on <= cy.ends_on]
        if not cycles:
            if once_a_day:
                return None
            raise InvalidInput.field("on", f"{on.isoformat()} is not within the span of an open or locked cycle")
        if on > today(uow):
            return _preview(uow, cycles, on)
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(SWEEP_LOCK)))  # one sweep at a time, any replica
        done = session.get(m.SweepRun, on)
        if once_a_day and done is not None:
            return None
        started = uow.now()
        ids = [cy.id for cy in cycles]
        evaluated = session.scalar(select(func.count()).select_from(m.Goal).where(m.Goal.cycle_id.in_(ids))) or 0
        changed: list[Row[Any]] = []
        postgres = session.get_bind().dialect.name == "postgresql"
        for cycle in cycles:
            if postgres:
                changed.extend(session.execute(recolour(cycle.id, on, cycle.red_after_weeks)).all())
            else:  # SQLite (one writer at a time): read what will change, then change it
                changed.extend(session.execute(changes(cycle.id, on, cycle.red_after_weeks)).all())
                session.execute(recolour(cycle.id, on, cycle.red_after_weeks, returning=False))
        if changed:
            now = uow.now()
            bulk_insert(session, table_of(m.StatusChange), [
                {"goal_id": row.id, "on": on, "before": row.before, "after": row.after, "progress": row.progress,
                 "at": now} for row in changed])
            uow.publish(*(c.GoalStatusChanged(goal_id=row.id, cycle_id=row.cycle_id,
                                              responsible_id=row.responsible_id, before=row.before, after=row.after,
                                              on=on, progress=row.progress) for row in changed))
        turned_red = sum(1 for row in changed if row.after == "red")
        recovered = [row.id for row in changed if row.before == "red"]
        # the goals just turned red have no review for their new spell: the query finds them with any other
        # red goal left without one (created red, coloured before its cycle opened, ...)
        reviews, resolved = settle_colours(uow, unreviewed_red(uow, ids), recovered, on)
        finished = uow.now()
        if done is None:
            session.add(m.SweepRun(on=on, started_at=started, finished_at=finished, evaluated=evaluated,
                                   changed=len(changed)))
        else:
            done.finished_at, done.evaluated, done.changed = finished, evaluated, done.changed + len(changed)
        return c.SweepResult(on=on, evaluated=evaluated, changed=len(changed), turned_red=turned_red,
                             reviews_opened=reviews, reviews_resolved=resolved)


def _preview(uow: GoalsUnitOfWork, cycles: Sequence[m.Cycle], on: date) -> c.SweepResult:
    """What a sweep as of a later day would do, read only: nothing is written or published."""
    session = uow.session
    ids = [cy.id for cy in cycles]
    evaluated = session.scalar(select(func.count()).select_from(m.Goal).where(m.Goal.cycle_id.in_(ids)))
    changed = [row for cy in cycles for row in session.execute(changes(cy.id, on, cy.red_after_weeks)).all()]
    after = {row.id: row.after for row in changed}
    turned_red = sum(1 for row in changed if row.after == "red")
    still_unreviewed = sum(1 for g in unreviewed_red(uow, ids) if after.get(g.goal_id, "red") == "red")
    recovered = [row.id for row in changed if row.before == "red"]
    resolved = session.scalar(select(func.count()).select_from(m.Review).where(
        m.Review.goal_id.in_(recovered), m.Review.state == "open")) if recovered else 0
    return c.SweepResult(on=on, evaluated=evaluated, changed=len(changed), turned_red=turned_red,
                         reviews_opened=turned_red + still_unreviewed, reviews_resolved=resolved, preview=True)


def list_reviews(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListReviews) -> c.ReviewList:
    after = decode_cursor(command.cursor)
    with uow:
        rows = uow.reviews.page_for(actor.subject if actor else "", command.state, command.cycle_id,
                                    after[0] if after else None, command.limit + 1)
    more = len(rows) > command.limit
    rows = rows[:command.limit]
    return c.ReviewList(items=[review_view(r) for r in rows], next_cursor=encode_cursor(rows[-1].id) if more else None)


def complete_review(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CompleteReview) -> c.ReviewView:
    with uow:
        review = uow.reviews.get(command.review_id, lock=True)
        if review is None:
            raise no_review(command.review_id)
        if actor is None or actor.subject not in (review.owner_id, review.manager_id):
            goal = uow.goals.get(review.goal_id)
            deny(uow, actor, "review.complete", person_resource(review.owner_id) if goal is None else GoalRef.of(goal),
                 "only the goal's owner and their manager complete its review", missing=no_review(review.id))
        if review.state != "open":
            raise Unprocessable(f"review {review.id} is already completed",
                                errors=[{"field": "review_id", "message": "already completed"}])
        review.state, review.summary = "completed", command.summary
        review.completed_by, review.completed_at = actor.subject, uow.now()
        uow.publish(c.ReviewCompleted(review_id=review.id, goal_id=review.goal_id, completed_by=actor.subject,
                                      summary=review.summary))
        return review_view(review)

