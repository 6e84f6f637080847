"""The org directory as feedback sees it (chassis.access's read model, fed by compliance's events), and the
data-subject contract: export everything feedback holds about a person, and erase (pseudonymize) it on request.

The subject's export never names their 360 reviewers: requests about them appear as counts and aggregates only,
and the invitations and answer rows are not theirs to read."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chassis.access import Resource, apply_org_event
from contracts import compliance as dsr
from contracts.actor import Actor
from contracts.envelope import Envelope
from feedback import models as m
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.surveys import _view as survey_view

SERVICE = "feedback"


def apply_directory_event(uow: Uow, envelope: Envelope) -> None:
    with uow:
        apply_org_event(uow.session, envelope)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [{attr.key: _plain(getattr(row, attr.key)) for attr in sa_inspect(row).mapper.column_attrs}
            for row in rows]


def _subject_rows(session: Session, subject: str) -> dict[str, list[Any]]:
    """Rows about or by the subject that are theirs to read (never another person's private check-in point)."""
    checkins = list(session.scalars(select(m.Checkin).where(or_(m.Checkin.person_id == subject,
                                                                m.Checkin.manager_id == subject))))
    ids = [c.id for c in checkins]
    reviews = list(session.scalars(select(m.Review).where(or_(m.Review.person_id == subject,
                                                              m.Review.manager_id == subject))))
    ratings = list(session.scalars(select(m.Rating).where(m.Rating.person_id == subject)))
    points = list(session.scalars(select(m.CheckinPoint).where(
        or_(m.CheckinPoint.author_id == subject,
            m.CheckinPoint.checkin_id.in_(ids) & (m.CheckinPoint.visibility == "shared")))))
    return {
        "checkins": checkins,
        "checkin_points": points,
        "reports": list(session.scalars(select(m.Report).where(m.Report.person_id == subject))),
        "key_events": list(session.scalars(select(m.KeyEvent).where(or_(m.KeyEvent.person_id == subject,
                                                                        m.KeyEvent.recorded_by == subject)))),
        "opportunities": list(session.scalars(select(m.Opportunity).where(m.Opportunity.person_id == subject))),
        "visits": list(session.scalars(select(m.Visit).where(m.Visit.person_id == subject))),
        "zero_activity": list(session.scalars(select(m.ZeroActivity).where(m.ZeroActivity.person_id == subject))),
        "coaching_touches": list(session.scalars(select(m.CoachingTouch).where(
            or_(m.CoachingTouch.person_id == subject, m.CoachingTouch.manager_id == subject)))),
        "coaching_notes": list(session.scalars(select(m.CoachingNote).where(m.CoachingNote.manager_id == subject))),
        "customers_registered": list(session.scalars(select(m.Customer).where(m.Customer.registered_by == subject))),
        "praise": list(session.scalars(select(m.Praise).where(or_(m.Praise.person_id == subject,
                                                                  m.Praise.given_by == subject)))),
        # as a reviewer: that they were asked (and answered), not to whom their answer can be tied
        "survey_invitations": list(session.scalars(select(m.SurveyInvitation)
                                                   .where(m.SurveyInvitation.reviewer_id == subject))),
        # review cycles: their reviews (as the person or the manager), their ratings with every version, and the
        # reviews they were asked to give as a peer (not their answers: those are not linkable to them)
        "reviews": reviews,
        "ratings": ratings,
        "rating_versions": list(session.scalars(select(m.RatingVersion).where(
            m.RatingVersion.rating_id.in_([r.id for r in ratings])))),
        "review_peer_invitations": list(session.scalars(select(m.PeerInvitation)
                                                        .where(m.PeerInvitation.peer_id == subject))),
    }


def export_subject_data(uow: Uow, actor: Actor | None, command: dsr.ExportSubjectData) -> dsr.SubjectDataExport:
    with uow:
        resource = Resource("person", owner=command.subject)
        uow.access.require(actor, "dsr.request", resource)  # records a denial and answers 403
        rows = _subject_rows(uow.session, command.subject)
        records = {kind: _records(found) for kind, found in rows.items()}
        surveys = list(uow.session.scalars(select(m.Survey).where(m.Survey.subject_id == command.subject)))
        records["surveys_about_me"] = [survey_view(uow, s).model_dump(mode="json") for s in surveys]
    summary = "; ".join(f"{len(found)} {kind.replace('_', ' ')}" for kind, found in records.items())
    return dsr.SubjectDataExport(service=SERVICE, subject=command.subject, records=records, summary=summary)


def _held(holds: Iterable[dsr.HoldRef]) -> tuple[bool, dict[str, set[str]]]:
    everything, by_type = False, dict[str, set[str]]()
    for hold in holds:
        if hold.record_type is None and not hold.record_ids:
            everything = True
        elif hold.record_type is not None:
            by_type.setdefault(hold.record_type, set()).update(hold.record_ids or {"*"})
    return everything, by_type


_PERSON_COLUMNS = ("person_id", "manager_id", "author_id", "recorded_by", "given_by", "reviewer_id", "team_id",
                   "requested_by", "subject_id", "registered_by", "updated_by", "changed_by")
# free text the person wrote: (text columns, the column naming the writer)
_TEXT_OF = {m.CheckinPoint: (("text",), "author_id"), m.Report: (("done", "next_plan"), "person_id"),
            m.KeyEvent: (("response",), "person_id"), m.CoachingNote: (("notes",), "manager_id"),
            m.Praise: (("text",), "given_by"), m.Visit: (("notes",), "person_id")}


def erase_subject(uow: Uow, envelope: Envelope) -> None:
    """Pseudonymize a person: their id becomes the pseudonym everywhere, and free text they wrote is cleared;
    records under a legal hold stay as they are. Answers with feedback's erasure.completed, once."""
    request = dsr.ErasureRequested.model_validate(envelope.data)  # the handler's one type
    with uow:
        if SERVICE not in request.services:
            return
        everything, held = _held(request.holds)
        rows = _subject_rows(uow.session, request.person_id)
        rows["surveys"] = list(uow.session.scalars(select(m.Survey).where(
            or_(m.Survey.subject_id == request.person_id, m.Survey.requested_by == request.person_id))))
        person, alias = request.person_id, request.pseudonym
        kept, erased = [], 0
        for kind, found in rows.items():
            for row in found:
                key = "/".join(str(part) for part in sa_inspect(row).identity)
                if everything or "*" in held.get(kind, ()) or key in held.get(kind, set()):
                    kept.append(f"{kind}:{key}")
                    continue
                if _pseudonymize(uow.session, row, person, alias):
                    erased += 1
        uow.publish(dsr.erasure_completed_event(SERVICE).model_validate({  # a class made per service
            "request_id": request.request_id, "person_id": person, "erased_records": erased, "held_records": kept,
            "detail": "ids replaced by the pseudonym; free text written by the person cleared"}))


def _pseudonymize(session: Session, row: Any, person: str, alias: str) -> bool:
    changed = False
    texts = _TEXT_OF.get(type(row))
    if texts is not None and getattr(row, texts[1]) == person:
        for column in texts[0]:
            if getattr(row, column):
                setattr(row, column, None if column == "response" else "")
                changed = True
    if isinstance(row, m.Review):  # two writers: each clears only their own comment
        for column, writer in (("self_comment", "person_id"), ("manager_comment", "manager_id")):
            if getattr(row, writer) == person and getattr(row, column):
                setattr(row, column, "")
                changed = True
    if isinstance(row, m.SurveyInvitation | m.PeerInvitation):  # part of the key: the row goes (counts stay)
        session.delete(row)
        return True
    for column in _PERSON_COLUMNS:
        if hasattr(row, column) and getattr(row, column) == person:
            setattr(row, column, alias)
            changed = True
    return changed
