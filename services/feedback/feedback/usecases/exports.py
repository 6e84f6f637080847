"""Exports: score cards (each person's review scores), ratings and participation, a page at a time in person order
(keyset on person id), for the gateway to stream into CSV/XLSX.

Who sees what is the JSON reads' rule: HR of a unit (feedback.unit.read) exports that unit's subtree; company HR
(feedback.company.manage) the whole company; anyone else only their own row, and of that only what their review
form shows them (the manager's scores and the rating once the cycle is published). Each page is one short read
of `limit` rows plus one grouped read for the page's peers or reports: memory stays flat at any size.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from contracts import bulk as b
from contracts.actor import Actor
from feedback import access
from feedback import models as m
from feedback.domain import reports as report_rules
from feedback.domain import reviews as rules
from feedback.domain.errors import InvalidInput
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import active, load, require, subject_of, today
from feedback.usecases.reports import expected_weeks

SCORECARD_COLUMNS = ["person_id", "manager_id", "org_unit_id", "grade", "state", "self_score", "self_late",
                     "manager_score", "manager_late", "peers_answered", "peer_score", "rating_label",
                     "rating_score", "acknowledged_at"]
RATING_COLUMNS = ["person_id", "org_unit_id", "label", "score", "formula_version", "approval_status", "version"]
PARTICIPATION_COLUMNS = ["person_id", "org_unit_id", "manager_id", "month", "expected", "submitted", "rate"]


class Scope:
    """Whose rows a caller exports: `units` (a unit's subtree), everyone (both None), or only `own`."""

    def __init__(self, units: list[str] | None = None, own: str | None = None) -> None:
        self.units, self.own = units, own


def export_scope(uow: Uow, actor: Actor | None, org_unit_id: str | None) -> Scope:
    if org_unit_id is not None:
        if uow.access.index.unit(org_unit_id) is None:
            raise InvalidInput("org_unit_id", f"no org unit {org_unit_id!r} in the directory")
        require(uow, actor, "feedback.unit.read", access.unit(org_unit_id), "org_unit_id")
        return Scope(units=list(uow.access.index.units_within(org_unit_id)))
    if uow.access.can(actor, "feedback.company.manage", access.company()):
        return Scope()
    return Scope(own=subject_of(actor))


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _where(model: Any, scope: Scope, cursor: str | None) -> list[Any]:
    where = []
    if scope.units is not None:
        where.append(model.org_unit_id.in_(scope.units))
    if scope.own is not None:
        where.append(model.person_id == scope.own)
    if cursor:
        where.append(model.person_id > cursor)
    return where


def _page(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    more = len(rows) > limit
    page = rows[:limit]
    return page, (page[-1].person_id if more and page else None)


def _average(items: list[dict[str, Any]] | None) -> Decimal | None:
    return None if items is None else rules.average(Decimal(str(i["score"])) for i in items)


def export_scorecards(uow: Uow, actor: Actor | None, query: b.ExportPage) -> b.ExportRows:
    with uow:
        cycle = load(uow, m.ReviewCycle, query.cycle_id, "cycle_id")
        scope = export_scope(uow, actor, query.org_unit_id)
        published = cycle.stage == "published"
        found = list(uow.session.scalars(select(m.Review).where(m.Review.cycle_id == cycle.id,
                                                                 *_where(m.Review, scope, query.cursor))
                                         .order_by(m.Review.person_id).limit(query.limit + 1)))
        page, cursor = _page(found, query.limit)
        ids = [r.id for r in page]
        peers: dict[str, list[Decimal]] = {i: [] for i in ids}
        for review_id, average in uow.session.execute(select(m.PeerAnswer.review_id, m.PeerAnswer.average)
                                                      .where(m.PeerAnswer.review_id.in_(ids))):
            peers[review_id].append(Decimal(average))
        ratings = {r.review_id: r for r in uow.session.scalars(select(m.Rating).where(m.Rating.review_id.in_(ids)))}
        rows = []
        for r in page:
            shown = published or r.person_id != scope.own  # the person's own form hides these until published
            rating = ratings.get(r.id) if shown else None
            manager = _average(r.manager_items) if shown else None
            rows.append([r.person_id, r.manager_id, r.org_unit_id, r.grade, r.state, _number(_average(r.self_items)),
                         r.self_late, _number(manager), r.manager_late if shown else None, len(peers[r.id]),
                         _number(rules.peer_component(peers[r.id], cycle.peer_minimum)),
                         None if rating is None else rating.label, None if rating is None else str(rating.score),
                         None if r.acknowledged_at is None else r.acknowledged_at.isoformat()])
        return b.ExportRows(columns=SCORECARD_COLUMNS, rows=rows, next_cursor=cursor)


def export_ratings(uow: Uow, actor: Actor | None, query: b.ExportPage) -> b.ExportRows:
    with uow:
        cycle = load(uow, m.ReviewCycle, query.cycle_id, "cycle_id")
        scope = export_scope(uow, actor, query.org_unit_id)
        if scope.own is not None and cycle.stage != "published":
            return b.ExportRows(columns=RATING_COLUMNS, rows=[], next_cursor=None)  # not theirs to see yet
        found = list(uow.session.scalars(select(m.Rating).where(m.Rating.cycle_id == cycle.id,
                                                                 *_where(m.Rating, scope, query.cursor))
                                         .order_by(m.Rating.person_id).limit(query.limit + 1)))
        page, cursor = _page(found, query.limit)
        rows = [[r.person_id, r.org_unit_id, r.label, str(r.score), r.formula_version,
                 (r.approval or {}).get("status", "none"), r.version] for r in page]
        return b.ExportRows(columns=RATING_COLUMNS, rows=rows, next_cursor=cursor)


def export_participation(uow: Uow, actor: Actor | None, query: b.ParticipationExportPage) -> b.ExportRows:
    """One row a current member of the directory: weekly reports expected in the month (its weeks begun by today)
    and submitted, and the rate, as the participation read counts them."""
    with uow:
        scope = export_scope(uow, actor, query.org_unit_id)
        index = uow.access.index
        units = None if scope.units is None else set(scope.units)
        people = sorted(pid for pid, p in index.people.items()
                        if (scope.own is None or pid == scope.own) and (units is None or p.org_unit_id in units)
                        and (not query.cursor or pid > query.cursor) and active(index, pid))
        page = people[:query.limit]
        cursor = page[-1] if len(people) > query.limit else None
        weeks = expected_weeks(query.month, today(uow))
        counts: dict[str, int] = {}
        if weeks and page:
            counts = dict(uow.session.execute(
                select(m.Report.person_id, func.count())
                .where(m.Report.kind == "weekly", m.Report.period.in_(weeks), m.Report.person_id.in_(page))
                .group_by(m.Report.person_id)).all())
        rows = []
        for pid in page:
            person = index.person(pid)
            submitted = min(counts.get(pid, 0), len(weeks))
            rows.append([pid, None if person is None else person.org_unit_id,
                         None if person is None else person.manager_id, query.month, len(weeks), submitted,
                         str(report_rules.rate(submitted, len(weeks)))])
        return b.ExportRows(columns=PARTICIPATION_COLUMNS, rows=rows, next_cursor=cursor)
