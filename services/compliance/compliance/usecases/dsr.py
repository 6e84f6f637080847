"""Data-subject requests. Access: an RPC fan-out with a timeout to every data-holding service's
`export_subject_data`, gathered into one JSON document and a readable summary; a service that does not answer
in time leaves the request visibly incomplete. Erasure: compliance erases its own part (the directory record,
published as PersonErased) and broadcasts `ErasureRequested`; each service answers with an erasure
completed/failed event; the request is completed only when every part is done — legal holds keep it open."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chassis.access import Resource
from chassis.errors import Conflict, NotFound, RpcTimeout, ServiceError
from chassis.ids import new_id
from chassis.remote import RpcCaller
from compliance.domain.dsr import DsrKind, DsrPart, DsrRequest, DsrState, PartStatus
from compliance.domain.errors import Conflict as DomainConflict
from compliance.domain.retention import LegalHold, holds_on_subject, pseudonym
from compliance.models import DsrRow
from compliance.repositories import ComplianceUnitOfWork
from compliance.usecases.common import acting, dumps, loads, require_unless_hidden
from compliance.usecases.directory import person_view
from compliance.usecases.settings import current as current_policy
from contracts.actor import Actor
from contracts.compliance import (
    DsrClosed,
    DsrExportRequested,
    DsrExportView,
    DsrPartView,
    DsrRef,
    DsrSubject,
    DsrView,
    ErasureCompleted,
    ErasureFailed,
    ErasureRequested,
    ExportSubjectData,
    HoldRef,
    SubjectDataExport,
)
from contracts.envelope import Envelope
from contracts.org import PersonErased

OWN = "compliance"


# -- storage ---------------------------------------------------------------------------------------------------

def _domain(row: DsrRow) -> DsrRequest:
    parts = tuple(DsrPart(p["service"], PartStatus(p["status"]), p.get("detail", ""), p.get("export_ref"),
                          tuple(p.get("held_records", ())), _time(p.get("at")) or row.requested_at)
                  for p in loads(row.parts, []))
    return DsrRequest(row.request_id, DsrKind(row.kind), row.subject, row.requested_by, row.requested_at,
                      row.due_at, DsrState(row.state), parts, row.closed_at)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _store(row: DsrRow, request: DsrRequest) -> None:
    row.state, row.closed_at = request.state.value, request.closed_at
    row.parts = dumps([{"service": p.service, "status": p.status.value, "detail": p.detail,
                        "export_ref": p.export_ref, "held_records": list(p.held_records),
                        "at": None if p.updated_at is None else p.updated_at.isoformat()} for p in request.parts])


def _view(request: DsrRequest) -> DsrView:
    return DsrView(
        request_id=request.id, kind=request.kind.value, subject=request.subject, requested_by=request.requested_by,
        requested_at=request.requested_at, due_at=request.due_at, state=request.state.value,
        parts=[DsrPartView(service=p.service, status=p.status.value, detail=p.detail,
                           held_records=list(p.held_records)) for p in request.parts],
        outstanding=request.outstanding(), closed_at=request.closed_at,
    )


def _closed_event(request: DsrRequest) -> DsrClosed:
    return DsrClosed(request_id=request.id, kind=request.kind.value, person_id=request.subject,
                     state=request.state.value, outstanding=request.outstanding())


def _resource(uow: ComplianceUnitOfWork, kind: str, subject: str | None) -> Resource:
    """The subject's data, located also by their (last) org unit: HR keeps its scope over an erased person."""
    person = None if subject is None else uow.people.get(subject)
    return Resource(kind, owner=subject, org_unit=None if person is None else person.org_unit_id)


def _missing(request_id: str) -> str:
    return f"no request {request_id!r}"


def _subject(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrSubject) -> str:
    subject = command.person_id or (actor.subject if actor is not None else None)
    uow.access.require(actor, "dsr.request", Resource("person", owner=subject))
    return subject if subject is not None else acting(actor).subject


def active_holds(uow: ComplianceUnitOfWork, now: datetime) -> list[LegalHold]:
    return [LegalHold(row.hold_id, row.reason, row.placed_at, row.subject, row.record_type,
                      frozenset(loads(row.record_ids, [])), row.released_at)
            for row in uow.holds.unreleased() if row.placed_at <= now]


def hold_refs(holds: list[LegalHold]) -> list[HoldRef]:
    return [HoldRef(hold_id=h.id, record_type=h.record_type, record_ids=sorted(h.record_ids), reason=h.reason)
            for h in holds]


# -- access / export -------------------------------------------------------------------------------------------

def _own_export(uow: ComplianceUnitOfWork, subject: str) -> dict[str, list[dict[str, Any]]]:
    person = uow.people.get(subject)
    grants = uow.grants.get(subject)
    appeals = uow.appeals.of_appellant(subject)
    requests = uow.dsr.of_subject(subject)
    return {
        "person": [] if person is None else [person_view(person, True).model_dump(mode="json")],
        "role_grants": [] if grants is None else loads(grants.grants, []),
        "appeals": [{"appeal_id": a.appeal_id, "target_kind": a.target_kind, "target_ref": a.target_ref,
                     "reasons": a.reasons, "state": a.state, "submitted_at": a.submitted_at.isoformat()}
                    for a in appeals],
        "data_subject_requests": [{"request_id": r.request_id, "kind": r.kind, "state": r.state,
                                   "requested_at": r.requested_at.isoformat()} for r in requests],
    }


def _summary(subject: str, document: dict[str, Any], request: DsrRequest) -> str:
    lines = [f"Personal data held about {subject} (request {request.id}, {request.requested_at:%Y-%m-%d %H:%M} UTC)"]
    for service, export in document["services"].items():
        counts = ", ".join(f"{len(records)} {kind}" for kind, records in export["records"].items()) or "nothing"
        lines.append(f"- {service}: {counts}")
    if document["incomplete"]:
        lines.append("INCOMPLETE: " + "; ".join(request.outstanding()))
    return "\n".join(lines)


def _open_export(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrSubject,
                 services: list[str]) -> DsrRequest:
    subject = _subject(uow, actor, command)
    now = uow.now()
    request = DsrRequest.open(id=new_id(), kind=DsrKind.ACCESS, subject=subject, requested_by=uow.actor.subject,
                              at=now, deadline_days=current_policy(uow).dsr_deadline_days)
    request = request.start([OWN, *services], now)
    row = DsrRow(request_id=request.id, kind="access", subject=subject, requested_by=request.requested_by,
                 requested_at=now, due_at=request.due_at, state="", parts="[]")
    _store(row, request)
    uow.dsr.add(row)
    return request


def start_export(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrSubject,
                 services: list[str]) -> DsrView:
    """Accept an export at once (state `collecting`) and gather it in the background (`DsrExportRequested`):
    the caller reads it back with `get_dsr`. Nothing waits on the slowest service."""
    with uow:
        request = _open_export(uow, actor, command, services)
        uow.publish(DsrExportRequested(request_id=request.id, person_id=request.subject, services=list(services)))
        return _view(request)


def run_export(uow: ComplianceUnitOfWork, event: Envelope, rpc: RpcCaller, timeout: float) -> None:
    """The saga's step (compliance's own handler): ask every service, then record the parts; a redelivery after
    the request closed changes nothing."""
    payload = DsrExportRequested.model_validate(event.data)
    collect_export(uow, payload.request_id, payload.person_id, payload.services, rpc, timeout)


Export = dict[str, Any]  # one service's part: {"records": {kind: [record...]}, "summary": text}


def _ask_services(rpc: RpcCaller, request_id: str, subject: str, services: list[str], timeout: float
                  ) -> tuple[dict[str, Export], dict[str, str | None]]:
    """Every service's export, all in flight at once (the slowest bounds the wait); a service that does not
    answer in time is named in the outcome, never waited for beyond `timeout`."""
    payload = ExportSubjectData(request_id=request_id, subject=subject).model_dump(mode="json")
    calls = {}
    outcomes: dict[str, str | None] = {}
    for service in services:
        try:
            calls[service] = rpc.call_async(f"{service}.export_subject_data", payload, timeout=timeout)
        except ServiceError as error:  # the broker is away: this part cannot be asked now
            outcomes[service] = f"could not be asked ({error.status}: {error.detail})"
    exports: dict[str, Export] = {}
    for service, pending in calls.items():
        try:
            answer = SubjectDataExport.model_validate(pending.result())
            exports[service] = {"records": answer.records, "summary": answer.summary}
            outcomes[service] = None
        except RpcTimeout:
            outcomes[service] = f"did not answer within {timeout:g}s"
        except ServiceError as error:
            outcomes[service] = f"answered {error.status}: {error.detail}"
        except ValueError as error:
            outcomes[service] = f"answered with an invalid export: {str(error)[:200]}"
    return exports, outcomes


def collect_export(uow: ComplianceUnitOfWork, request_id: str, subject: str, services: list[str], rpc: RpcCaller,
                   timeout: float) -> DsrExportView | None:
    exports, outcomes = _ask_services(rpc, request_id, subject, services, timeout)  # outside any transaction
    with uow:
        row = uow.dsr.get(request_id, lock=True)
        if row is None or row.state != DsrState.COLLECTING.value:
            return None  # gathered already (a redelivery), or closed by the deadline sweep
        request = _domain(row)
        exports = {OWN: {"records": _own_export(uow, subject), "summary": ""}, **exports}
        outcomes = {OWN: None, **outcomes}
        at = uow.now()
        for service, failure in outcomes.items():
            request = (request.record_done(service, at, export_ref=f"document:{service}") if failure is None
                       else request.record_failed(service, at, failure))
        document = {"subject": subject, "request_id": request.id, "generated_at": at.isoformat(),
                    "services": exports, "incomplete": request.state != DsrState.COMPLETED,
                    "missing": [s for s, failure in outcomes.items() if failure is not None]}
        _store(row, request)
        row.document = dumps(document)
        uow.publish(_closed_event(request))
    return DsrExportView(request=_view(request), document=document, summary=_summary(subject, document, request))


def request_export(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrSubject, rpc: RpcCaller,
                   services: list[str],
                   timeout: float) -> DsrExportView:
    """The synchronous form (scripts): open, gather and answer in one call, bounded by `timeout`. Over HTTP the
    export is `start_export` (202, then read back)."""
    with uow:
        request = _open_export(uow, actor, command, services)
    gathered = collect_export(uow, request.id, request.subject, services, rpc, timeout)
    if gathered is None:  # the deadline sweep closed it between the two transactions
        raise Conflict(f"request {request.id} was closed before its export was gathered")
    return gathered


def get_dsr(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrRef) -> DsrExportView:
    with uow:
        row = uow.dsr.get(command.request_id)
        if row is None:
            raise NotFound(_missing(command.request_id))
        # who may not read it gets the 404 of a missing request: a 403 would confirm that someone asked
        uow.access.require(actor, "dsr.read", _resource(uow, "dsr", row.subject), missing=_missing(row.request_id))
        request = _domain(row)
        document = loads(row.document, {}) or {}
        summary = _summary(row.subject, document, request) if document else "; ".join(request.outstanding())
        return DsrExportView(request=_view(request), document=document, summary=summary)


# -- erasure ---------------------------------------------------------------------------------------------------

def _erase_own(uow: ComplianceUnitOfWork, request: DsrRequest, holds: list[LegalHold], key: bytes) -> DsrRequest:
    """Compliance's own part: the directory record (and appeal texts), unless a hold keeps them."""
    now = uow.now()
    subject = request.subject
    held = [h for h in holds if h.record_type in (None, "person", "appeal")]
    if held:
        return request.record_blocked(OWN, now, [f"person:{subject}"],
                                      "; ".join(f"hold {h.id}: {h.reason}" for h in held))
    token = pseudonym(key, subject)
    row = uow.people.get(subject, lock=True)
    if row is not None and not row.erased:
        row.name, row.email, row.phone, row.location, row.manager_id = token, None, None, None, None
        row.erased, row.status, row.version, row.updated_at = True, "terminated", row.version + 1, now
        row.ended_at = row.ended_at or now
        uow.flush()
        uow.publish_org(PersonErased(person_id=subject, pseudonym=token, version=row.version))
    for appeal in uow.appeals.of_appellant(subject):
        appeal.appellant, appeal.reasons, appeal.attachments = token, "[erased]", "[]"
    grants = uow.grants.get(subject)
    if grants is not None:
        uow.grants.delete(grants)
    return request.record_done(OWN, now)


def request_erasure(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrSubject, services: list[str],
                    key: bytes) -> DsrView:
    with uow:
        subject = _subject(uow, actor, command)
        if uow.people.get(subject) is None:
            raise NotFound(f"no person {subject!r}")
        now = uow.now()
        request = DsrRequest.open(id=new_id(), kind=DsrKind.ERASURE, subject=subject, requested_by=uow.actor.subject,
                                  at=now, deadline_days=current_policy(uow).dsr_deadline_days)
        request = request.start([OWN, *services], now)
        holds = holds_on_subject(subject, active_holds(uow, now), now)
        request = _erase_own(uow, request, holds, key)
        row = DsrRow(request_id=request.id, kind="erasure", subject=subject, requested_by=request.requested_by,
                     requested_at=now, due_at=request.due_at, state="", parts="[]")
        _store(row, request)
        uow.dsr.add(row)
        if services:
            uow.publish(ErasureRequested(request_id=request.id, person_id=subject, pseudonym=pseudonym(key, subject),
                                         services=list(services), holds=hold_refs(holds)))
        if request.state != DsrState.COLLECTING:
            uow.publish(_closed_event(request))
        return _view(request)


def on_erasure_reply(uow: ComplianceUnitOfWork, event: Envelope) -> None:
    """`jixiao.<service>.erasure.completed|failed.v1`: record the service's part (redelivery is harmless)."""
    service = event.service
    failure = done = None
    if event.type.endswith(".erasure.failed.v1"):
        failure = ErasureFailed.model_validate(event.data)
        request_id = failure.request_id
    else:
        done = ErasureCompleted.model_validate(event.data)
        request_id = done.request_id
    with uow:
        row = uow.dsr.get(request_id, lock=True)
        if row is None or row.kind != "erasure":
            return  # not ours (another deployment's request): nothing to record
        request = _domain(row)
        if service not in {p.service for p in request.parts}:
            return
        at = uow.now()
        try:
            if failure is not None:
                updated = request.record_failed(service, at, failure.reason)
            elif done is not None and done.held_records:
                updated = request.record_blocked(service, at, done.held_records,
                                                 done.detail or "kept under a legal hold")
            else:
                updated = request.record_done(service, at)
        except DomainConflict:
            return  # a late report for a part already settled differently: the first answer stands
        if updated is request:
            return
        _store(row, updated)
        if updated.state != DsrState.COLLECTING:
            uow.publish(_closed_event(updated))


def fail_unanswered(uow: ComplianceUnitOfWork, deadline: timedelta) -> int:
    """The deadline sweep: a part still pending `deadline` after it was asked fails ("no answer within ..."),
    so a service that never answers leaves its request visibly incomplete (retry_dsr asks again), never
    complete. Returns the number of requests that changed."""
    changed = 0
    with uow:
        now = uow.now()
        rows = uow.dsr.collecting(DsrState.COLLECTING.value)
        for row in rows:
            request = _domain(row)
            updated = request.expire(now, deadline)
            if updated is request:
                continue
            _store(row, updated)
            changed += 1
            if updated.state != DsrState.COLLECTING:
                uow.publish(_closed_event(updated))
    return changed


def retry_dsr(uow: ComplianceUnitOfWork, actor: Actor | None, command: DsrRef, key: bytes) -> DsrView:
    """Ask again the parts that failed or were blocked (after an outage, or once a hold is released)."""
    with uow:
        row = uow.dsr.get(command.request_id, lock=True)
        if row is None:
            raise NotFound(_missing(command.request_id))
        require_unless_hidden(uow, actor, "dsr.request", _resource(uow, "person", row.subject),
                              missing=_missing(row.request_id),
                              visible=uow.access.can(actor, "dsr.read", _resource(uow, "dsr", row.subject)))
        if row.kind != "erasure":
            raise Conflict("an access request is not retried: make a new one")
        now = uow.now()
        request = _domain(row).retry(now)
        holds = holds_on_subject(row.subject, active_holds(uow, now), now)
        if request.part(OWN).status == PartStatus.PENDING:
            request = _erase_own(uow, request, holds, key)
        others = [p.service for p in request.parts if p.service != OWN and p.status == PartStatus.PENDING]
        if others:
            uow.publish(ErasureRequested(request_id=request.id, person_id=row.subject,
                                         pseudonym=pseudonym(key, row.subject), services=others,
                                         holds=hold_refs(holds)))
        _store(row, request)
        if request.state != DsrState.COLLECTING:
            uow.publish(_closed_event(request))
        return _view(request)
