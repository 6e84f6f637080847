"""Retention: legal holds, and the daily sweep. Compliance applies the policies to the records it owns (people,
appeals, data-subject requests, its own audit log) and asks every other service to do the same for theirs
(`RetentionSweepRequested`, with the holds). Every purge or anonymization is published, so it is audited.
The sweep runs once per UTC day, whatever the number of replicas or timer ticks (the day is recorded)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from chassis.access import Resource
from chassis.errors import Conflict, NotFound
from chassis.ids import new_id
from compliance.domain.retention import (
    AUDIT_RECORD_TYPE,
    LegalHold,
    RetainedRecord,
    RetentionAction,
    RetentionPolicy,
    add_years,
    decide_retention,
    pseudonym,
)
from compliance.models import LegalHoldRow, SettingsRow
from compliance.repositories import SETTINGS_ID, ComplianceUnitOfWork
from compliance.usecases import audit
from compliance.usecases.audit import AuditAnchor
from compliance.usecases.common import acting, dumps, loads
from compliance.usecases.dsr import active_holds, hold_refs
from compliance.usecases.settings import current as current_policy
from contracts.actor import Actor
from contracts.compliance import HoldIdRef, HoldView, PlaceHold, RecordsPurged, RetentionSweepRequested, SweepView
from contracts.org import PersonErased


def _hold_view(row: LegalHoldRow) -> HoldView:
    return HoldView(hold_id=row.hold_id, reason=row.reason, subject=row.subject, record_type=row.record_type,
                    record_ids=loads(row.record_ids, []), placed_at=row.placed_at, placed_by=row.placed_by,
                    released_at=row.released_at)


def place_hold(uow: ComplianceUnitOfWork, actor: Actor | None, command: PlaceHold) -> HoldView:
    with uow:
        uow.access.require(actor, "hold.manage", Resource("hold", owner=command.subject))
        now = uow.now()
        hold = LegalHold(new_id(), command.reason, now, command.subject, command.record_type,
                         frozenset(command.record_ids))  # validates: needs a criterion and a reason
        row = LegalHoldRow(hold_id=hold.id, reason=hold.reason, subject=hold.subject, record_type=hold.record_type,
                           record_ids=dumps(sorted(hold.record_ids)), placed_by=acting(uow.actor).subject,
                           placed_at=now)
        uow.holds.add(row)
        return _hold_view(row)


def release_hold(uow: ComplianceUnitOfWork, actor: Actor | None, command: HoldIdRef) -> HoldView:
    with uow:
        missing = f"no legal hold {command.hold_id!r}"
        row = uow.holds.get(command.hold_id, lock=True)
        if row is None:
            raise NotFound(missing)
        # only administrators know of holds: anyone else gets the answer for a hold that does not exist
        uow.access.require(actor, "hold.manage", Resource("hold", owner=row.subject), missing=missing)
        if row.released_at is not None:
            raise Conflict(f"hold {row.hold_id} was released already")
        row.released_at = uow.now()
        return _hold_view(row)


def list_holds(uow: ComplianceUnitOfWork, actor: Actor | None) -> list[HoldView]:
    with uow:
        uow.access.require(actor, "hold.manage", Resource("hold"))
        return [_hold_view(row) for row in uow.holds.all()]


def run_sweep(uow: ComplianceUnitOfWork, actor: Actor | None, key: bytes, *, check_access: bool = True,
              audit_anchor: AuditAnchor | None = None) -> SweepView:
    """Today's sweep, unless it ran already today (then nothing happens). `audit_anchor` = (audit key, key id,
    witness): how a re-anchored audit log signs and witnesses its new start."""
    with uow:
        if check_access:
            uow.access.require(actor, "retention.manage", Resource("retention"))
        now = uow.now()
        today = now.date().isoformat()
        row = uow.policy.row(lock=True)
        if row is None:
            row = SettingsRow(id=SETTINGS_ID, settings=dumps(current_policy(uow).model_dump(mode="json")),
                              updated_at=now)
            uow.policy.add(row)
        if row.last_sweep_date == today:
            return SweepView(sweep_date=today, ran=False)
        row.last_sweep_date = today
        settings = current_policy(uow)
        holds = active_holds(uow, now)
        view = SweepView(sweep_date=today, ran=True)
        _people(uow, settings.retention, holds, now, key, view)
        _purge_closed(uow, "appeal", lambda: [
            RetainedRecord("appeal", row.appeal_id, row.appellant, row.submitted_at, row.closed_at)
            for row in uow.appeals.closed()], uow.appeals.purge, settings.retention, holds, now, view)
        _purge_closed(uow, "dsr", lambda: [
            RetainedRecord("dsr", row.request_id, row.subject, row.requested_at, row.closed_at)
            for row in uow.dsr.closed()], uow.dsr.purge, settings.retention, holds, now, view)
        _audit(uow, settings.retention, holds, now, view, audit_anchor)
        uow.publish(RetentionSweepRequested(
            sweep_date=today, policies={k: v.model_dump(mode="json") for k, v in settings.retention.items()},
            holds=hold_refs(holds)))
        return view


def _count(counts: dict[str, int], record_type: str, n: int) -> None:
    if n:
        counts[record_type] = counts.get(record_type, 0) + n


Policies = dict[str, RetentionPolicy]


def _people(uow: ComplianceUnitOfWork, policies: Policies, holds: list[LegalHold], now: datetime, key: bytes,
            view: SweepView) -> None:
    if "person" not in policies:
        return
    anonymized = []
    for row in uow.people.ended():
        record = RetainedRecord("person", row.person_id, row.person_id, row.created_at, row.ended_at)
        if decide_retention(record, policies, holds, now).action == RetentionAction.KEEP:
            continue
        token = pseudonym(key, row.person_id)
        row.name, row.email, row.phone, row.location, row.manager_id = token, None, None, None, None
        row.erased, row.version, row.updated_at = True, row.version + 1, now
        uow.flush()
        uow.publish_org(PersonErased(person_id=row.person_id, pseudonym=token, version=row.version))
        anonymized.append(row.person_id)
    if anonymized:
        uow.publish(RecordsPurged(record_type="person", action="anonymize", record_ids=anonymized,
                                  reason="retention period after employment ended"))
        _count(view.anonymized, "person", len(anonymized))


def _purge_closed(uow: ComplianceUnitOfWork, record_type: str, records: Callable[[], list[RetainedRecord]],
                 purge: Callable[[Sequence[str]], None], policies: Policies, holds: list[LegalHold], now: datetime,
                 view: SweepView) -> None:
    """Purge the closed records of one type whose retention period ended (none without a policy for the type)."""
    if record_type not in policies:
        return
    ids = [record.id for record in records()
           if decide_retention(record, policies, holds, now).action == RetentionAction.PURGE]
    if ids:
        purge(ids)
        uow.publish(RecordsPurged(record_type=record_type, action="purge", record_ids=ids,
                                  reason=f"retention period of {record_type} records ended"))
        _count(view.purged, record_type, len(ids))


def _audit(uow: ComplianceUnitOfWork, policies: Policies, holds: list[LegalHold], now: datetime, view: SweepView,
           audit_anchor: AuditAnchor | None = None) -> None:
    policy = policies.get(AUDIT_RECORD_TYPE)
    if policy is None or policy.purge_after_years is None:
        return
    if any(h.record_type == AUDIT_RECORD_TYPE and h.active(now) for h in holds):
        return  # a hold on the audit log keeps all of it
    cutoff = add_years(now, -policy.purge_after_years)
    purged = audit.purge_prefix(uow, cutoff,
                                None if audit_anchor is None else audit.anchor_signer(uow, *audit_anchor))
    if purged:
        uow.publish(RecordsPurged(record_type=AUDIT_RECORD_TYPE, action="purge",
                                  record_ids=[f"{purged[0]}..{purged[-1]}"],
                                  reason=f"audit entries older than {policy.purge_after_years} years"))
        _count(view.purged, AUDIT_RECORD_TYPE, len(purged))
