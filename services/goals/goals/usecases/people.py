"""The org directory as goals sees it (chassis.access's read model, fed by compliance's events), and the
data-subject contract: export everything goals holds about a person, and erase (pseudonymize) it on request."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from chassis.access.readmodel import apply_org_event, apply_org_events, people_table
from contracts import compliance as dsr
from contracts.actor import Actor
from contracts.envelope import Envelope
from contracts.org import PersonChanged
from goals import models as m
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import payload_of

SERVICE = "goals"


def apply_directory_event(uow: GoalsUnitOfWork, envelope: Envelope) -> None:
    """Keep the read model; when a person moves to another unit, their running goals move with them (the board
    groups goals by unit)."""
    with uow:
        _apply_directory_event(uow.session, envelope)


def apply_directory_events(uow: GoalsUnitOfWork, envelopes: list[Envelope]) -> None:
    """A batch of directory events (the service's batching org handler) in one transaction, each as above: the
    people's units before the batch in one read, their moves followed through the batch, one generation bump."""
    with uow:
        fresh = uow.fresh(envelopes)
        ids = {payload_of(e, PersonChanged).person_id for e in fresh if e.type == PersonChanged.type}
        units: dict[str, str | None] = {} if not ids else {
            row.person_id: row.org_unit_id for row in uow.session.execute(
                select(people_table.c.person_id, people_table.c.org_unit_id)
                .where(people_table.c.person_id.in_(ids)))}
        moves: dict[str, str | None] = {}

        def applied(envelope: Envelope) -> None:  # a newer version than the stored one
            if envelope.type != PersonChanged.type:
                return
            person = payload_of(envelope, PersonChanged)
            if person.person_id in units and units[person.person_id] != person.org_unit_id:
                moves[person.person_id] = person.org_unit_id
            units[person.person_id] = person.org_unit_id
        apply_org_events(uow.session, fresh, on_applied=applied)
        running = select(m.Cycle.id).where(m.Cycle.state != "closed")
        for person_id, unit in moves.items():
            uow.session.execute(update(m.Goal).where(m.Goal.owner_kind == "person", m.Goal.owner_id == person_id,
                                                     m.Goal.cycle_id.in_(running))
                                .values(org_unit_id=unit))


def _apply_directory_event(session: Session, envelope: Envelope) -> None:
    moved_to = None
    if envelope.type == PersonChanged.type:
        person = payload_of(envelope, PersonChanged)
        before = session.execute(select(people_table.c.org_unit_id, people_table.c.version)
                                 .where(people_table.c.person_id == person.person_id)).first()
        if before is not None and before.version < person.version and before.org_unit_id != person.org_unit_id:
            moved_to = person.org_unit_id
    if apply_org_event(session, envelope) and moved_to is not None:
        running = select(m.Cycle.id).where(m.Cycle.state != "closed")
        session.execute(update(m.Goal).where(m.Goal.owner_kind == "person", m.Goal.owner_id == person.person_id,
                                             m.Goal.cycle_id.in_(running))
                        .values(org_unit_id=moved_to))


# -- export ------------------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        columns = sa_inspect(row).mapper.column_attrs
        out.append({attr.key: _plain(getattr(row, attr.key)) for attr in columns})
    return out


def _subject_rows(session: Session, subject: str) -> dict[str, list[Any]]:
    owned = (m.Goal.owner_kind == "person") & (m.Goal.owner_id == subject)
    goals = list(session.scalars(select(m.Goal).where(or_(m.Goal.responsible_id == subject, owned))
                                 .order_by(m.Goal.id)))
    goal_ids = [g.id for g in goals]
    threads = list(session.scalars(select(m.Negotiation).where(or_(m.Negotiation.owner_id == subject,
                                                                   m.Negotiation.manager_id == subject))))
    return {
        "goals": goals,
        "key_results": list(session.scalars(select(m.KeyResult).where(m.KeyResult.goal_id.in_(goal_ids)))),
        "progress_updates": list(session.scalars(select(m.ProgressUpdate).where(
            or_(m.ProgressUpdate.goal_id.in_(goal_ids), m.ProgressUpdate.actor_id == subject))
            .order_by(m.ProgressUpdate.id))),
        "reviews": list(session.scalars(select(m.Review).where(or_(m.Review.owner_id == subject,
                                                                   m.Review.manager_id == subject)))),
        "negotiations": threads,
        "negotiation_entries": list(session.scalars(select(m.NegotiationEntry).where(
            or_(m.NegotiationEntry.negotiation_id.in_([t.id for t in threads]),
                m.NegotiationEntry.actor_id == subject)))),
        "commitments": list(session.scalars(select(m.Commitment).where(
            or_(m.Commitment.goal_id.in_(goal_ids), m.Commitment.provider_id == subject)))),
        "custom_field_values": list(session.scalars(select(m.CustomFieldValue)
                                                    .where(m.CustomFieldValue.person_id == subject))),
    }


def export_subject_data(uow: GoalsUnitOfWork, actor: Actor | None,
                        command: dsr.ExportSubjectData) -> dsr.SubjectDataExport:
    with uow:
        from chassis.access.policy import Resource

        # compliance's data-subject saga (a service), the person themself, or HR filing for them
        uow.access.require(actor, "dsr.request", Resource("person", owner=command.subject))
        rows = _subject_rows(uow.session, command.subject)
        records = {kind: _records(found) for kind, found in rows.items()}
    summary = "; ".join(f"{len(found)} {kind.replace('_', ' ')}" for kind, found in records.items())
    return dsr.SubjectDataExport(service=SERVICE, subject=command.subject, records=records, summary=summary)


# -- erasure ---------------------------------------------------------------------------------------------------------

def _held(holds: Iterable[dsr.HoldRef]) -> tuple[bool, dict[str, set[str]]]:
    """(everything is held, record type -> held ids)."""
    everything, by_type = False, dict[str, set[str]]()
    for hold in holds:
        if hold.record_type is None and not hold.record_ids:
            everything = True
        elif hold.record_type is not None:
            by_type.setdefault(hold.record_type, set()).update(hold.record_ids or {"*"})
    return everything, by_type


def erase_subject(uow: GoalsUnitOfWork, envelope: Envelope) -> None:
    """Pseudonymize a person: their id becomes the pseudonym everywhere and the free text they wrote (progress
    comments, rationales, review summaries about them) is cleared; records under a legal hold stay as they are.
    Answers with goals' erasure.completed event in the same transaction (redelivery finds nothing left to do)."""
    request = payload_of(envelope, dsr.ErasureRequested)
    with uow:  # the inbox records the request as handled, ours or not
        if SERVICE not in request.services:
            return
        everything, held = _held(request.holds)
        rows = _subject_rows(uow.session, request.person_id)
        person, alias = request.person_id, request.pseudonym
        kept: list[str] = []
        erased = 0
        for kind, found in rows.items():
            for row in found:
                key = _key(row)
                if everything or "*" in held.get(kind, ()) or key in held.get(kind, set()):
                    kept.append(f"{kind}:{key}")
                    continue
                if _pseudonymize(uow.session, row, person, alias):
                    erased += 1
        uow.publish(dsr.erasure_completed_event(SERVICE).model_validate({
            "request_id": request.request_id, "person_id": person, "erased_records": erased, "held_records": kept,
            "detail": "ids replaced by the pseudonym; free text written by or about the person cleared"}))


def _key(row: Any) -> str:
    identity = sa_inspect(row).identity
    return "/".join(str(part) for part in identity)


_PERSON_COLUMNS = ("owner_id", "responsible_id", "created_by", "actor_id", "manager_id", "completed_by",
                   "provider_id", "person_id")
_TEXT_OF = {m.ProgressUpdate: ("comment", "actor_id"), m.NegotiationEntry: ("text", "actor_id"),
            m.Review: ("summary", "owner_id")}


def _pseudonymize(session: Session, row: Any, person: str, alias: str) -> bool:
    changed = False
    text = _TEXT_OF.get(type(row))
    if text is not None and getattr(row, text[1]) == person and getattr(row, text[0]):
        setattr(row, text[0], "")
        changed = True
    for column in _PERSON_COLUMNS:
        if hasattr(row, column) and getattr(row, column) == person:
            if column == "person_id" and isinstance(row, m.CustomFieldValue):
                continue  # part of the key: the row goes instead
            setattr(row, column, alias)
            changed = True
    if isinstance(row, m.CustomFieldValue):
        session.delete(row)
        changed = True
    return changed
