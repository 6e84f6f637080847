"""Data-subject requests. Export: everything held about a person (contact details and preferences, their inbox,
the emails and text messages queued or sent to them with each delivery attempt). Erasure: the person's contact
details and preferences go, their inbox and queued messages are keyed by the pseudonym and nothing more is sent to
them. Answers `jixiao.notifications.erasure.completed.v1` when compliance lists this service among those expected
to answer."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, inspect, select, update

from chassis.access import Resource
from contracts import compliance as dsr
from contracts.actor import Actor
from contracts.envelope import Envelope
from notifications import models as m
from notifications.repositories import NotificationsUnitOfWork

SERVICE = "notifications"


def _record(row: object) -> dict[str, Any]:
    """A row as JSON-native values (dates as ISO text)."""
    out: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def export_subject_data(uow: NotificationsUnitOfWork, actor: Actor | None,
                        command: dsr.ExportSubjectData) -> dsr.SubjectDataExport:
    """Everything this service holds about `command.subject`, for compliance's export saga (or the person)."""
    with uow:
        resource = Resource("person", owner=command.subject)
        uow.access.require(actor, "dsr.request", resource)  # records a denial and answers 403
        session = uow.session
        subject = command.subject
        preferences = session.scalars(select(m.Preference).where(m.Preference.person_id == subject)).all()
        inbox = session.scalars(select(m.Notification).where(m.Notification.person_id == subject)
                                .order_by(m.Notification.seq)).all()
        outgoing = session.scalars(select(m.Outgoing).where(m.Outgoing.person_id == subject)).all()
        # an email or text message's attempts are filed under the notification it carried
        targets = sorted({row.notification_id for row in outgoing})
        attempts = session.scalars(select(m.DeliveryAttempt).where(m.DeliveryAttempt.target.in_(targets))
                                   .order_by(m.DeliveryAttempt.id)).all() if targets else []
        records = {"preferences": [_record(r) for r in preferences], "inbox": [_record(r) for r in inbox],
                   "messages": [_record(r) for r in outgoing], "delivery_attempts": [_record(r) for r in attempts]}
    summary = "; ".join(f"{len(found)} {kind.replace('_', ' ')}" for kind, found in records.items())
    return dsr.SubjectDataExport(service=SERVICE, subject=subject, records=records, summary=summary)


def erase_subject(uow: NotificationsUnitOfWork, envelope: Envelope) -> None:
    request = envelope.payload()
    if not isinstance(request, dsr.ErasureRequested):
        raise ValueError(f"{envelope.type} is not an erasure request")
    with uow:  # the inbox records the request as handled
        person, alias = request.person_id, request.pseudonym
        held_everything = any(h.record_type is None and not h.record_ids for h in request.holds)
        kept: list[str] = []
        erased = 0
        if held_everything:
            kept.append(f"notifications:{person}")
        else:
            erased += uow.session.execute(delete(m.Preference).where(m.Preference.person_id == person)).rowcount
            erased += uow.session.execute(update(m.Notification).where(m.Notification.person_id == person)
                                          .values(person_id=alias)).rowcount
            uow.session.execute(update(m.Outgoing).where(m.Outgoing.person_id == person,
                                                         m.Outgoing.state.in_(("pending", "digest")))
                                .values(state="skipped", reason="erased"))
            uow.session.execute(update(m.Outgoing).where(m.Outgoing.person_id == person).values(person_id=alias))
        if SERVICE in request.services:
            uow.publish(dsr.erasure_completed_event(SERVICE).model_validate({  # a class made per service
                "request_id": request.request_id, "person_id": person, "erased_records": erased,
                "held_records": kept,
                "detail": "contact details and preferences deleted; inbox and queued messages keyed by the pseudonym"}))
