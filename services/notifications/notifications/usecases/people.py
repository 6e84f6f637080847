"""Data-subject erasure: the person's contact details and preferences go, their inbox and queued messages are
keyed by the pseudonym and nothing more is sent to them. Answers `jixiao.notifications.erasure.completed.v1`
when compliance lists this service among those expected to answer."""
from __future__ import annotations

from sqlalchemy import delete, update

from contracts import compliance as dsr
from contracts.envelope import Envelope
from notifications import models as m

SERVICE = "notifications"


def erase_subject(uow, envelope: Envelope) -> None:
    request = envelope.payload()
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
            uow.publish(dsr.erasure_completed_event(SERVICE)(
                request_id=request.request_id, person_id=person, erased_records=erased, held_records=kept,
                detail="contact details and preferences deleted; inbox and queued messages keyed by the pseudonym"))
