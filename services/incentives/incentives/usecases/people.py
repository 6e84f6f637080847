"""The org directory as incentives sees it (chassis.access's read model, fed by compliance's events), the
data-subject contract (export everything incentives holds about a person; erase = pseudonymize on request) and
retention (the record types incentives owns, on compliance's daily sweep)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from chassis.access import Resource, apply_org_event
from contracts import compliance as dsr
from contracts import incentives as c
from contracts.actor import Actor
from contracts.envelope import Envelope
from incentives import models as m
from incentives.domain import points as ledger
from incentives.usecases.common import Uow, payload_of

SERVICE = "incentives"


def apply_directory_event(uow: Uow, envelope: Envelope) -> None:
    with uow:
        apply_org_event(uow.session, envelope)


# -- export ------------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        out.append({attr.key: _plain(getattr(row, attr.key)) for attr in sa_inspect(row).mapper.column_attrs})
    return out


def _subject_rows(session: Session, person: str) -> dict[str, list[Any]]:
    plans = list(session.scalars(select(m.Idp).where(m.Idp.person_id == person)))
    account = ledger.person(person)
    return {
        "ratings": list(session.scalars(select(m.Rating).where(m.Rating.person_id == person))),
        "observations": list(session.scalars(select(m.Observation).where(m.Observation.person_id == person))),
        "tracked_goals": list(session.scalars(select(m.TrackedGoal).where(m.TrackedGoal.person_id == person))),
        "process_rewards": list(session.scalars(select(m.ProcessReward).where(m.ProcessReward.person_id == person))),
        "bonus_proposals": list(session.scalars(select(m.Proposal).where(m.Proposal.person_id == person))),
        "ledger_entries": list(session.scalars(select(m.LedgerEntry).where(m.LedgerEntry.account == account)
                                               .order_by(m.LedgerEntry.id))),
        "redemptions": list(session.scalars(select(m.Redemption).where(m.Redemption.person_id == person))),
        "development_plans": plans,
        "development_actions": list(session.scalars(select(m.IdpAction).where(or_(
            m.IdpAction.plan_id.in_([p.id for p in plans]), m.IdpAction.owner_id == person)))),
        "potential_assessments": list(session.scalars(select(m.Potential).where(m.Potential.person_id == person))),
        "nine_box_placements": list(session.scalars(select(m.Placement).where(m.Placement.person_id == person))),
        "nominations": list(session.scalars(select(m.Nomination).where(or_(
            m.Nomination.person_id == person, m.Nomination.nominated_by == person,
            m.Nomination.decided_by == person)))),
        "performance_stars": list(session.scalars(select(m.Star).where(or_(
            m.Star.person_id == person, m.Star.nominated_by == person, m.Star.approved_by == person)))),
    }


def export_subject_data(uow: Uow, actor: Actor | None, command: dsr.ExportSubjectData) -> dsr.SubjectDataExport:
    with uow:
        # compliance's data-subject saga (a service), the person themself, or HR filing for them
        resource = Resource("person", owner=command.subject)
        uow.access.require(actor, "dsr.request", resource)  # records a denial and answers 403
        records = {kind: _records(found) for kind, found in _subject_rows(uow.session, command.subject).items()}
    summary = "; ".join(f"{len(found)} {kind.replace('_', ' ')}" for kind, found in records.items())
    return dsr.SubjectDataExport(service=SERVICE, subject=command.subject, records=records, summary=summary)


# -- erasure -----------------------------------------------------------------------------------------------------

def _held(holds: Iterable[dsr.HoldRef]) -> tuple[bool, dict[str, set[str]]]:
    everything, by_type = False, {}  # type: bool, dict[str, set[str]]
    for hold in holds:
        if hold.record_type is None and not hold.record_ids:
            everything = True
        elif hold.record_type is not None:
            by_type.setdefault(hold.record_type, set()).update(hold.record_ids or {"*"})
    return everything, by_type


_PERSON_COLUMNS = ("person_id", "manager_id", "requested_by", "owner_id", "assessed_by", "calibrated_by",
                   "nominated_by", "decided_by", "approved_by")
# free text by or about the person: cleared (a star's story and a nomination's reason are about its subject)
_TEXT = {m.Redemption: ("note",), m.IdpAction: ("note",), m.Potential: ("reason",), m.Star: ("goal_path", "learned"),
         m.Nomination: ("reason",)}


def erase_subject(uow: Uow, envelope: Envelope) -> None:
    """Pseudonymize a person: their id becomes the pseudonym everywhere (the ledger's account too, so the ledger
    still balances) and free text they wrote is cleared; records under a legal hold stay as they are. Answers with
    incentives' erasure.completed event in the same transaction (a redelivery finds nothing left to do)."""
    request = payload_of(envelope, dsr.ErasureRequested)
    with uow:
        if SERVICE not in request.services:
            return
        everything, held = _held(request.holds)
        person, alias = request.person_id, request.pseudonym
        kept: list[str] = []
        erased = 0
        for kind, found in _subject_rows(uow.session, person).items():
            for row in found:
                key = "/".join(str(part) for part in sa_inspect(row).identity)
                if everything or "*" in held.get(kind, ()) or key in held.get(kind, set()):
                    kept.append(f"{kind}:{key}")
                    continue
                erased += _pseudonymize(uow.session, row, person, alias)
        if not (everything or "*" in held.get("ledger_entries", ())):
            move_balance(uow, person, alias)
        completed: Any = dsr.erasure_completed_event(SERVICE)  # made per service, with ErasureCompleted's fields
        uow.publish(completed(
            request_id=request.request_id, person_id=person, erased_records=erased, held_records=kept,
            detail="ids replaced by the pseudonym (ledger accounts included); free text by the person cleared"))


def _pseudonymize(session: Session, row: Any, person: str, alias: str) -> int:
    if isinstance(row, m.LedgerEntry):
        row.account = ledger.person(alias)
        return 1
    if isinstance(row, (m.Observation, m.Potential, m.Placement)):
        # the person id is part of the key: the row is copied under the pseudonym and the old one deleted
        mapper: Any = sa_inspect(row)
        values = {attr.key: getattr(row, attr.key) for attr in mapper.mapper.column_attrs}
        values.update({k: alias for k in _PERSON_COLUMNS if values.get(k) == person})
        for column in _TEXT.get(type(row), ()):
            values[column] = ""
        session.delete(row)
        session.flush()
        session.add(type(row)(**values))
        return 1
    changed = False
    about = getattr(row, "person_id", person) == person
    for column in _TEXT.get(type(row), ()) if about else ():
        if getattr(row, column):
            setattr(row, column, "")
            changed = True
    for column in _PERSON_COLUMNS:
        if hasattr(row, column) and getattr(row, column) == person:
            setattr(row, column, alias)
            changed = True
    return int(changed)


def move_balance(uow: Uow, person: str, alias: str) -> None:
    balance = uow.session.get(m.Balance, ledger.person(person))
    if balance is not None:
        uow.session.execute(update(m.Balance).where(m.Balance.account == ledger.person(person))
                            .values(account=ledger.person(alias)))


# -- retention -------------------------------------------------------------------------------------------------

# record type -> (model, the date column the period runs from, the id column, extra condition)
RETAINED: dict[str, tuple[Any, Any, Any]] = {
    "incentives_observation": (m.Observation, m.Observation.updated_at, None),
    "incentives_rating": (m.Rating, m.Rating.at, m.Rating.rating_id),
    "incentives_redemption": (m.Redemption, m.Redemption.updated_at, m.Redemption.id),
    "incentives_proposal": (m.Proposal, m.Proposal.updated_at, m.Proposal.id),
}


def apply_retention(uow: Uow, envelope: Envelope) -> None:
    """Purge the record types incentives owns past their policy (skipping what a hold covers) and publish what was
    purged (compliance audits it). The points ledger is accounting: never purged, only pseudonymized on erasure."""
    request = payload_of(envelope, dsr.RetentionSweepRequested)
    with uow:
        everything, held = _held(request.holds)
        if everything:
            return
        now = uow.now()
        for record_type, (model, basis, key) in RETAINED.items():
            policy = request.policies.get(record_type)
            years = None if policy is None else policy.get("purge_after_years")
            if years is None or "*" in held.get(record_type, ()):
                continue
            cutoff = now - timedelta(days=365 * int(years))
            stmt = delete(model).where(basis < cutoff)
            if key is not None and held.get(record_type):
                stmt = stmt.where(key.not_in(sorted(held[record_type])))
            if model is m.Redemption:
                stmt = stmt.where(m.Redemption.status.in_(("fulfilled", "declined", "cancelled")))
            if model is m.Proposal:
                stmt = stmt.where(m.Proposal.status.in_(("approved", "superseded")))
            ids = [str(row[0]) for row in uow.session.execute(stmt.returning(key if key is not None
                                                                             else model.person_id))]
            if ids:
                uow.publish(c.IncentivesRecordsPurged(record_type=record_type, record_ids=ids[:10_000],
                                            reason=f"retention: {years} years"))
