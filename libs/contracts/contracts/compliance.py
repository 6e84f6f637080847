"""Compliance's public contract, except the org directory events (contracts.org).

Sections: access decisions and denials, org directory RPCs, bulk import, audit log, data-subject requests
(including the contract every data-holding service implements), retention and legal holds, appeals,
third-party clients, settings and presets.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from pydantic import Field, field_validator

from contracts.base import Contract, Event


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)
    return value


class Payload(Contract):
    """Compliance's payloads: strict contracts that also refuse NUL characters anywhere (no database stores
    them, and a NUL reaching PostgreSQL would be a 500 instead of a 400 naming the field)."""

    _refuse_nul = field_validator("*", mode="before")(lambda value: _no_nul(value))


# -- access ----------------------------------------------------------------------------------------------------


class ResourceRef(Payload):
    kind: str = Field(min_length=1, max_length=64, description="the kind of record (`goal`, `rating`, `appeal`...)")
    owner: str | None = Field(default=None, max_length=128, description="person id owning the resource")
    org_unit: str | None = Field(default=None, max_length=128, description=(
        "the org unit the resource belongs to (a goal's owner's unit), for unit-scoped grants"))
    unit_owned: bool = Field(default=False, description=(
        "the resource belongs to `org_unit` itself (a team's goal); `owner` is then the person answering for it"))


class AccessDenied(Payload):
    """Data of `jixiao.<service>.access.denied.v1`: published by every service each time it refuses an action
    (chassis.access records it), so that compliance's audit log holds every denial."""

    actor_subject: str | None = Field(default=None, description=(
        "the refused actor's id: employee number or client id (null: anonymous)"))
    actor_kind: str | None = Field(default=None, description=(
        "what kind of actor was refused: person, client, service or system (null: unknown)"))
    action: str = Field(description=(
        "the action refused (`goal.update`, `feedback.activity.write`...), as declared in contracts.access"))
    resource: ResourceRef
    reason: str


DENIAL_SERVICES = ("goals", "feedback", "incentives", "compliance", "gateway")


@cache
def access_denied_event(service: str) -> type[Event]:
    """The event class `jixiao.<service>.access.denied.v1` (one per publishing service)."""
    name = "".join(part.title() for part in service.replace("-", "_").split("_")) + "AccessDenied"
    return type(name, (AccessDenied, Event), {
        "type": f"jixiao.{service.replace('-', '_')}.access.denied.v1",
        "subject_field": "subject_ref",
        "subject_ref": property(lambda self: self.resource.owner or self.resource.org_unit),
        # only the suite's own services are part of the published catalogue (tests make their own)
        "__module__": __name__ if service in DENIAL_SERVICES else f"{__name__}.extra",
        "__doc__": f"{service} refused an action (see AccessDenied).",
    })


for _service in DENIAL_SERVICES:
    access_denied_event(_service)


class Decide(Payload):
    """`compliance.decide`: may the actor in context do `action` on `resource`? (Never an actor from the payload.)"""

    action: str = Field(min_length=1, max_length=100, description=(
        "the action to decide (`goal.update`, `goal.read`...), as declared in contracts.access"))
    resource: ResourceRef = Field(description="the record the action is on: its kind and id")


class DecisionView(Payload):
    allowed: bool = Field(description="whether the actor may do the action on the resource")
    reason: str


class RequestOrgResync(Payload):
    """`compliance.request_org_resync` (administrators): every service's org read model catches up again."""

    reason: str = Field(min_length=1, max_length=500)


class OrgResyncView(Payload):
    request_id: str
    requested_at: datetime


# -- org directory RPCs ----------------------------------------------------------------------------------------

Sequence = Literal["technical", "management"]
Status = Literal["active", "leave", "terminated"]
GrantRole = Literal["hr", "hrbp", "auditor", "admin"]


class UpsertOrgUnit(Payload):
    org_unit_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, max_length=128)


class RemoveOrgUnit(Payload):
    org_unit_id: str = Field(min_length=1, max_length=128)


class OrgUnitView(Payload):
    org_unit_id: str
    name: str
    parent_id: str | None
    version: int
    removed: bool


class UpsertPerson(Payload):
    """Create or replace a person's directory record (all fields; absent optional fields are cleared)."""

    person_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                           description="the employee number")
    name: str = Field(min_length=1, max_length=100)
    org_unit_id: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    manager_id: str | None = Field(default=None, max_length=64)
    job_family: str | None = Field(default=None, max_length=64)
    grade: str | None = Field(default=None, max_length=32)
    sequence: Sequence | None = None
    location: str | None = Field(default=None, max_length=100)
    status: Status = Field(default="active", description="active, leave (on leave) or terminated")
    hired_on: date | None = None


class PersonRef(Payload):
    person_id: str = Field(min_length=1, max_length=128)


class PersonView(Payload):
    person_id: str
    version: int
    name: str
    org_unit_id: str | None
    manager_id: str | None = None
    job_family: str | None = None
    grade: str | None = None
    sequence: str | None = None
    location: str | None = None
    status: str = Field(description="active, leave (on leave) or terminated")
    email: str | None = Field(default=None, description="only for the person, HR in scope and admins")
    phone: str | None = Field(default=None, description="only for the person, HR in scope and admins")


class ListPeople(Payload):
    org_unit_id: str | None = Field(default=None, description="this unit and its subtree")
    after: str | None = Field(default=None, description="cursor: the last person_id of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="people per page, 1..1000")


class PeoplePage(Payload):
    people: list[PersonView] = Field(description="this page's people")
    next_cursor: str | None


class GrantSpec(Payload):
    role: GrantRole = Field(description="the role granted: hr, hrbp, auditor or admin")
    org_unit_id: str | None = Field(default=None, max_length=128)


class SetGrants(Payload):
    subject_id: str = Field(min_length=1, max_length=128)
    grants: list[GrantSpec] = Field(default_factory=list, max_length=100)


class GrantsView(Payload):
    subject_id: str
    version: int
    grants: list[GrantSpec]


# -- bulk import -----------------------------------------------------------------------------------------------

class StartImport(Payload):
    """`compliance.start_import`: the file as base64 (`content_base64`) or as a path relative to the configured
    upload directory (`upload_path`, for large files a gateway stored). Always a dry run first: the job plans
    (status `planning` → `planned` | `failed`) and reports every issue per row; then `apply_import`."""

    filename: str = Field(min_length=1, max_length=255)
    format: Literal["csv", "xlsx"] | None = Field(default=None, description="default: from the file name")
    content_base64: str | None = Field(default=None, max_length=200_000_000, description=(
        "the CSV or XLSX file, base64-encoded (or give `upload_path`)"))
    upload_path: str | None = Field(default=None, max_length=500, description=(
        "the file's path relative to the import folder (instead of `content_base64`)"))
    within_unit: str | None = Field(default=None, description="restrict to this org-unit subtree (HR imports)")
    sheet: str | None = Field(default=None, max_length=100, description="the XLSX sheet to read (default: the first)")


class ImportJobRef(Payload):
    job_id: str = Field(min_length=1, max_length=64)


class ImportIssueView(Payload):
    row: int = Field(description="the row number as the spreadsheet shows it, so HR finds it in the file")
    column: str | None = Field(description="the column's header (null: the row as a whole)")
    code: str = Field(description="the issue's stable code (`missing_column`, `unknown_manager`...), to match on")
    message: str


class ImportJobView(Payload):
    job_id: str
    filename: str
    status: Literal["planning", "planned", "failed", "applying", "applied"] = Field(description=(
        "planning, planned (the dry run is ready), failed, applying or applied"))
    requested_by: str
    rows_read: int = Field(description="data rows read from the file")
    progress: float = Field(description="0..1 of the current phase")
    summary: dict[str, int] = Field(default_factory=dict, description="create/update/unchanged/errors")
    errors: list[ImportIssueView] = Field(default_factory=list, description="the first 1000 errors, by row")
    error_count: int = Field(default=0, description="how many rows have errors (any error blocks the apply)")
    warnings: list[ImportIssueView] = Field(default_factory=list, description=(
        "row-level warnings: the import may still be applied"))
    detail: str | None = None


class ImportRequested(Event):
    """Compliance to itself: plan (or apply) an import job, durably, outside the RPC's time limit."""

    type = "jixiao.compliance.import.requested.v1"
    subject_field = "job_id"
    job_id: str
    phase: Literal["plan", "apply"] = Field(description="plan (the dry run) or apply")


class ImportApplied(Event):
    type = "jixiao.compliance.import.applied.v1"
    subject_field = "job_id"
    job_id: str
    created: int = Field(description="records created by the import")
    updated: int = Field(description="records changed by the import")
    unchanged: int = Field(description="rows that matched the directory already")


# -- audit log -------------------------------------------------------------------------------------------------

class AuditQuery(Payload):
    subject: str | None = Field(default=None, max_length=200, description=(
        "only entries about this record (the envelope's subject)"))
    actor: str | None = Field(default=None, max_length=128, description=(
        "only entries by this actor (employee number or client id)"))
    type: str | None = Field(default=None, max_length=200, description="exact, or a prefix ending in '*'")
    since: datetime | None = Field(default=None, description="only entries recorded at or after this time (UTC)")
    until: datetime | None = Field(default=None, description="only entries recorded before this time (UTC)")
    after: int | None = Field(default=None, ge=0, description="cursor: the last sequence of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="entries per page, 1..1000")


class AuditEntryView(Payload):
    sequence: int = Field(description="the entry's place in the audit log (1, 2, 3... without gaps)")
    event_id: str
    type: str = Field(description="the event's CloudEvents type (`jixiao.goals.goal.created.v1`)")
    source: str = Field(description="the service that published the event")
    actor: str | None
    subject: str | None = Field(description="the record the event is about (the envelope's subject; null: none)")
    time: datetime
    data: dict[str, Any] = Field(description="the event's data as it was published (the envelope's `data`)")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    prev_hash: str = Field(description="the hash of the previous entry (the chain that makes tampering evident)")
    hash: str


class AuditPage(Payload):
    entries: list[AuditEntryView] = Field(description="this page's audit entries, in sequence order")
    next_cursor: int | None = Field(description=(
        "the sequence number to pass as `cursor` for the next page; null on the last page"))


class AuditExport(Payload):
    format: Literal["jsonl"] = Field(default="jsonl", description=(
        "the export format: JSON lines, one audit entry per line"))
    content: str = Field(description="one canonical JSON entry per line, with its hashes (verifiable offline)")
    count: int = Field(description="how many audit entries the export holds")
    next_cursor: int | None


class VerifyAudit(Payload):
    from_sequence: int | None = Field(default=None, ge=1, description="default: the retained start of the log")


class ChainBreakView(Payload):
    sequence: int = Field(description="the sequence number of the first entry whose hash does not match")
    reason: str
    detail: str


class VerifyReportView(Payload):
    ok: bool = Field(description="the chain is intact as far as it goes, and nothing witnessed is missing")
    verified: int = Field(description="entries verified")
    head_sequence: int = Field(description="the sequence number of the newest entry")
    head_hash: str = Field(description="the hash of the newest entry")
    checkpoints_matched: int = Field(description="signed checkpoints whose hash matched the chain")
    first_break: ChainBreakView | None = Field(description="the first entry where the chain breaks (null: intact)")
    status: Literal["ok", "unwitnessed", "broken"] = Field(default="ok", description=(
        "`ok`: intact up to a witnessed checkpoint at the head; `unwitnessed`: intact, but the entries after "
        "`witnessed_sequence` are not yet in the witness (they could still be cut without trace); `broken`"))
    witnessed_sequence: int = Field(default=0, description="the newest checkpoint the witness holds")
    unwitnessed: int = Field(default=0, description="entries after the newest witnessed checkpoint")
    witness_rejected: int = Field(default=0, description="witness lines that are not authentic (never trusted)")


class AuditCheckpointed(Event):
    """A signed checkpoint of the audit log (the head at `time`, or the retention `anchor`), published so that
    other services and third parties keep a copy the database's owner cannot rewrite; the same line goes to the
    operator's witness file. Verify with the audit key: HMAC-SHA256 over the canonical JSON of
    {hash, key_id, sequence, time} (an anchor: the bytes `anchor:` before it)."""

    type = "jixiao.compliance.audit.checkpointed.v1"
    subject_field = "kind"
    kind: Literal["checkpoint", "anchor"] = Field(description=(
        "checkpoint (the head at `time`) or anchor (where a retention purge cut the chain)"))
    sequence: int = Field(description="the sequence number of the audit log's head at the checkpoint")
    hash: str = Field(description="the audit log's head hash at the checkpoint (SHA-256, hex)")
    time: datetime = Field(description="when the checkpoint was taken (UTC)")
    key_id: str = Field(description="which audit signing key signed the checkpoint")
    signature: str = Field(description="HMAC-SHA256 (hex) over the canonical JSON of {hash, key_id, sequence, time}")


# -- data-subject requests -------------------------------------------------------------------------------------

class ExportSubjectData(Payload):
    """The RPC every data-holding service implements: `<service>.export_subject_data(payload)`, answering
    `SubjectDataExport` (everything it holds about `subject`, JSON-native). Compliance calls it with a timeout;
    a service that does not answer in time makes the export visibly incomplete."""

    request_id: str
    subject: str = Field(description="the employee number whose data to export")


class SubjectDataExport(Payload):
    service: str = Field(description="the service that answered")
    subject: str = Field(description="the employee number the data is about")
    records: dict[str, list[dict[str, Any]]] = Field(description="record type -> records")
    summary: str = Field(default="", description="one readable line per record type")


class DsrSubject(Payload):
    person_id: str | None = Field(default=None, min_length=1, max_length=128,
                                  description="default: the actor themself")


class DsrRef(Payload):
    request_id: str = Field(min_length=1, max_length=64)


class DsrPartView(Payload):
    service: str = Field(description="the service this part is about")
    status: Literal["pending", "done", "failed", "blocked"] = Field(description=(
        "pending, done, failed, or blocked (a legal hold stops the erasure)"))
    detail: str = ""
    held_records: list[str] = Field(default_factory=list, description=(
        "records the service kept under a legal hold instead of erasing them"))


class DsrView(Payload):
    request_id: str
    kind: Literal["access", "erasure"] = Field(description=(
        "access (a copy of the person's data) or erasure (删除) under PIPL"))
    subject: str = Field(description="the employee number of the person the request is about")
    requested_by: str
    requested_at: datetime
    due_at: datetime
    state: Literal["requested", "collecting", "completed", "incomplete"] = Field(description=(
        "requested, collecting (services are answering), completed or incomplete"))
    parts: list[DsrPartView] = Field(description="each data-holding service's part of the request")
    outstanding: list[str] = Field(default_factory=list)
    closed_at: datetime | None = Field(default=None, description="when the request was closed (UTC; null while open)")


class DsrExportView(Payload):
    request: DsrView = Field(description="the access request this export answers, with each service's part")
    document: dict[str, Any] = Field(description="service -> its export; `incomplete` and `missing` when parts failed")
    summary: str = Field(description="one readable line per service: what it holds about the person")


class HoldRef(Payload):
    hold_id: str
    record_type: str | None = None
    record_ids: list[str] = Field(default_factory=list)
    reason: str


class ErasureRequested(Event):
    """Broadcast: every data-holding service anonymizes what it holds about `person_id` (keyed by `pseudonym` from
    now on), keeps what the `holds` cover, and answers `jixiao.<service>.erasure.completed.v1` (listing what it
    kept under a hold in `held_records`) or `jixiao.<service>.erasure.failed.v1`. Redelivery must be harmless."""

    type = "jixiao.compliance.erasure.requested.v1"
    subject_field = "person_id"
    request_id: str
    person_id: str
    pseudonym: str = Field(description="the keyed pseudonym the person's records carry from now on")
    services: list[str] = Field(description="the services expected to answer")
    holds: list[HoldRef] = Field(default_factory=list)


class ErasureCompleted(Payload):
    """Data of `jixiao.<service>.erasure.completed.v1`."""

    request_id: str
    person_id: str
    erased_records: int = Field(ge=0, description="how many records the service anonymized or deleted")
    held_records: list[str] = Field(default_factory=list, description="record ids kept under a legal hold")
    detail: str = ""


class ErasureFailed(Payload):
    """Data of `jixiao.<service>.erasure.failed.v1`."""

    request_id: str
    person_id: str
    reason: str = Field(min_length=1)


@cache
def erasure_completed_event(service: str) -> type[Event]:
    return _per_service(service, "ErasureCompleted", ErasureCompleted, "erasure.completed", "person_id")


@cache
def erasure_failed_event(service: str) -> type[Event]:
    return _per_service(service, "ErasureFailed", ErasureFailed, "erasure.failed", "person_id")


def _per_service(service: str, suffix: str, base: type[Contract], what: str, subject_field: str) -> type[Event]:
    name = "".join(part.title() for part in service.replace("-", "_").split("_")) + suffix
    return type(name, (base, Event), {"type": f"jixiao.{service.replace('-', '_')}.{what}.v1",
                                      "subject_field": subject_field, "__module__": __name__,
                                      "__doc__": f"{service}: see {base.__name__}."})


class DsrExportRequested(Event):
    """Compliance to itself: gather a data-subject export in the background (the saga behind
    `start_data_export`; the request is read back with `get_dsr`)."""

    type = "jixiao.compliance.dsr.export_requested.v1"
    subject_field = "person_id"
    request_id: str
    person_id: str
    services: list[str] = Field(description="the services asked for their part, besides compliance")


class DsrClosed(Event):
    type = "jixiao.compliance.dsr.closed.v1"
    subject_field = "person_id"
    request_id: str
    kind: str = Field(description="the request's kind: access (a copy of the data) or erasure")
    person_id: str
    state: Literal["completed", "incomplete"] = Field(description=(
        "completed (every service answered) or incomplete (some part failed or stayed blocked)"))
    outstanding: list[str] = Field(default_factory=list)


# -- retention and legal holds ---------------------------------------------------------------------------------

class PlaceHold(Payload):
    reason: str = Field(min_length=1, max_length=1000)
    subject: str | None = Field(default=None, max_length=128, description=(
        "the employee number whose records the hold keeps (null: the records named by type and ids)"))
    record_type: str | None = Field(default=None, max_length=64)
    record_ids: list[str] = Field(default_factory=list, max_length=1000)


class HoldIdRef(Payload):
    hold_id: str = Field(min_length=1, max_length=64, description="the legal hold's id")


class HoldView(Payload):
    hold_id: str
    reason: str
    subject: str | None = Field(description=(
        "the employee number whose records the hold keeps (null: not tied to one person)"))
    record_type: str | None
    record_ids: list[str]
    placed_at: datetime = Field(description="when the hold was placed (UTC)")
    placed_by: str = Field(description="the employee number of who placed the hold")
    released_at: datetime | None = Field(default=None, description=(
        "when the hold was released (UTC; null while in force)"))


class RetentionSweepRequested(Event):
    """Daily: every service applies the retention policies to the record types it owns (skipping what `holds`
    cover) and publishes what it purged or anonymized (compliance's audit log records those events)."""

    type = "jixiao.compliance.retention.sweep_requested.v1"
    subject_field = "sweep_date"
    sweep_date: str
    policies: dict[str, dict[str, Any]] = Field(description=(
        "record type -> its retention policy (how long, and purge or anonymize)"))
    holds: list[HoldRef] = Field(default_factory=list)


class RecordsPurged(Event):
    type = "jixiao.compliance.records.purged.v1"
    subject_field = "record_type"
    record_type: str
    action: Literal["purge", "anonymize"] = Field(description="purge (deleted) or anonymize (kept under a pseudonym)")
    record_ids: list[str]
    reason: str


class SweepView(Payload):
    sweep_date: str
    ran: bool = Field(description="false when the sweep had already run for that day")
    purged: dict[str, int] = Field(default_factory=dict)
    anonymized: dict[str, int] = Field(default_factory=dict, description="records anonymized, by record type")


# -- appeals ---------------------------------------------------------------------------------------------------

AppealTargetKind = Literal["rating", "goal_result"]
OWNING_SERVICE = {"rating": "feedback", "goal_result": "goals"}


class DescribeAppealTarget(Payload):
    """`<owning service>.describe_appeal_target(payload)`, called by compliance as the appellant (the actor in
    context) before it accepts an appeal: answer `AppealTargetFacts`, or 404 when there is no such target or the
    actor may not read it. Feedback implements it for `rating`; goals' targets are checked with `goals.get_goal`."""

    kind: AppealTargetKind = Field(description="what is appealed: rating or goal_result")
    ref: str = Field(min_length=1, max_length=128, description="the appealed record's id (a rating id or a goal id)")


class AppealTargetFacts(Payload):
    owner_id: str | None = Field(description="the person whose result it is")
    responsible_id: str | None = Field(default=None, description="the person answering for it, if not the owner")
    rated_by: str | None = Field(default=None, description="who rated or scored it (may not review the appeal)")
    org_unit_id: str | None = None
    current: dict[str, Any] = Field(default_factory=dict, description=(
        "the values an amendment may change, as they stand (the `before` of AppealDecided.changes)"))


class AmendmentChange(Payload):
    field: str = Field(description="the field of the target that changes, e.g. `progress`, `target`, `rating`")
    before: Any = Field(default=None, description="its value when the appeal was submitted (null: not known)")
    after: Any = Field(description="the value the decision sets")


class SubmitAppeal(Payload):
    target_kind: AppealTargetKind = Field(description="what the appeal is against: rating or goal_result")
    target_ref: str = Field(min_length=1, max_length=128, description="the rating or goal result id")
    reasons: str = Field(min_length=1, max_length=5000)
    attachments: list[str] = Field(default_factory=list, max_length=20, description="references to stored files")


class AppealRef(Payload):
    appeal_id: str = Field(min_length=1, max_length=64)


class DecideAppeal(Payload):
    appeal_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["upheld", "amended"] = Field(description=(
        "upheld (the result stands) or amended (the owning service changes it as `amendment` says)"))
    reason: str = Field(min_length=1, max_length=5000)
    amendment: dict[str, Any] | None = Field(default=None, description="the corrected values (amended only)")


class ListAppeals(Payload):
    state: Literal["submitted", "under_review", "upheld", "amended", "withdrawn"] | None = Field(
        default=None, description="only appeals in this state")
    after: str | None = None
    limit: int = Field(default=100, ge=1, le=500, description="appeals per page, 1..500")


class AppealView(Payload):
    appeal_id: str
    appellant: str
    target_kind: str
    target_ref: str
    owning_service: str
    reasons: str
    attachments: list[str] = Field(description=(
        "references (links or file names) to the evidence the appellant attached"))
    state: str = Field(description=(
        "submitted, under_review, upheld (result stands), amended (result changed) or withdrawn"))
    submitted_at: datetime
    due_at: datetime
    overdue: bool
    reviewer: str | None = None
    outcome_reason: str | None = Field(default=None, description="HR's reason for the decision (null until decided)")
    decided_by: str | None = None
    decided_at: datetime | None = None
    amendment: dict[str, Any] | None = Field(default=None, description=(
        "what an `amended` decision changes in the appealed record, field -> new value (null otherwise)"))
    rated_by: str | None = Field(default=None, description="who rated the target (does not review the appeal)")


class AppealsPage(Payload):
    appeals: list[AppealView] = Field(description="this page's appeals")
    next_cursor: str | None


class AppealSubmitted(Event):
    """Notification to HR: an appeal waits for a decision by `due_at`."""

    type = "jixiao.compliance.appeal.submitted.v1"
    subject_field = "appellant"
    appeal_id: str
    appellant: str
    org_unit_id: str | None
    target_kind: str
    target_ref: str
    owning_service: str
    due_at: datetime


class AppealReviewStarted(Event):
    type = "jixiao.compliance.appeal.review_started.v1"
    subject_field = "appellant"
    appeal_id: str
    appellant: str
    reviewer: str = Field(description="the HR reviewer who took the appeal (employee number)")


class AppealDecided(Event):
    """HR decided. When `outcome` is `amended`, the owning service (`owning_service`) applies the decision to
    the target (`target_kind` + `target_id`) — `changes` field by field, or `amendment` as a whole — records
    `reason` in the target's change trail (by `decided_by`, for `appeal_id`) and publishes its own change event
    (which the audit log records). Apply once per `appeal_id`; an upheld decision changes nothing."""

    type = "jixiao.compliance.appeal.decided.v1"
    subject_field = "appellant"
    appeal_id: str
    appellant: str
    outcome: Literal["upheld", "amended"] = Field(description=(
        "upheld (the result stands) or amended (the owning service applies `amendment`)"))
    reason: str = Field(description="why: goes into the target's change trail")
    target_kind: str = Field(description="`goal_result` (goals: a goal) or `rating` (feedback)")
    target_ref: str = Field(description="the target's id in the owning service (the same as `target_id`)")
    owning_service: str = Field(description="the service that applies an amended decision")
    amendment: dict[str, Any] | None = Field(default=None, description=(
        "the corrected values, field -> new value (amended only), e.g. {\"progress\": \"80\"}"))
    decided_by: str
    target_id: str | None = Field(default=None, description="the target's id in the owning service (a goal id)")
    changes: list[AmendmentChange] = Field(default_factory=list, description=(
        "the amendment field by field, with the value confirmed at submission as `before` (empty when upheld)"))
    org_unit_id: str | None = Field(default=None, description="the appellant's unit when they appealed")
    decided_at: datetime | None = None


class AppealOverdue(Event):
    """Notification to HR, once per appeal: it is still undecided past `due_at` (the deadline sweep)."""

    type = "jixiao.compliance.appeal.overdue.v1"
    subject_field = "appellant"
    appeal_id: str
    appellant: str
    org_unit_id: str | None
    state: Literal["submitted", "under_review"] = Field(description=(
        "where the appeal stands: submitted (nobody reviews it yet) or under_review"))
    reviewer: str | None = None
    owning_service: str
    due_at: datetime


class AppealWithdrawn(Event):
    type = "jixiao.compliance.appeal.withdrawn.v1"
    subject_field = "appellant"
    appeal_id: str
    appellant: str


# -- third-party clients ---------------------------------------------------------------------------------------

class DpaTerms(Payload):
    """The data-processing agreement a client's access rests on."""

    ref: str = Field(min_length=1, max_length=200, description="the agreement's reference")
    expires_on: date = Field(description="the agreement's last day in force (UTC); a client is refused once it "
                                         "has passed")


class RegisterClient(Payload):
    """Give the agreement as `dpa` ({ref, expires_on}) or, as before, as `dpa_ref` + `dpa_expires`. An agreement
    that has already expired is refused (422 naming `dpa.expires_on`, or `dpa_expires` in the flat form)."""

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(default_factory=list, max_length=50)
    event_patterns: list[str] = Field(default_factory=list, max_length=50)
    dpa: DpaTerms | None = Field(default=None, description=(
        "the data processing agreement: its reference and last valid day"))
    dpa_ref: str | None = Field(default=None, min_length=1, max_length=200,
                                description="the data-processing agreement (flat form of `dpa.ref`)")
    dpa_expires: datetime | None = Field(default=None, description=(
        "the agreement's last day (UTC date of this time; flat form of `dpa.expires_on`)"))


class ClientRef(Payload):
    client_id: str = Field(min_length=1, max_length=64)


class UpdateClient(Payload):
    """`compliance.update_client`: change what is given, keep the rest. `scopes` and `event_patterns` replace the
    lists and are checked as at registration; `dpa` is a renewal: a new reference and a later last day, still in
    force today (an expired one is refused: 422 naming `dpa.expires_on`). A revoked client cannot be changed."""

    client_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200, description=(
        "the client's new display name (omit: unchanged)"))
    scopes: list[str] | None = Field(default=None, max_length=50, description="the scopes the client holds from now")
    event_patterns: list[str] | None = Field(default=None, max_length=50,
                                             description="the event types the client may receive from now")
    dpa: DpaTerms | None = Field(default=None, description="the renewed data-processing agreement")


class IssueApiKey(Payload):
    client_id: str = Field(min_length=1, max_length=64)
    environment: Literal["live", "test"] = Field(default="live", description="live (production data) or test")


class ApiKeyIssued(Payload):
    client_id: str
    key_id: str = Field(description="the new key's public id (the secret is never published)")
    api_key: str = Field(description="shown once; only its salted hash is stored")


class RevokeApiKey(Payload):
    key_id: str = Field(min_length=1, max_length=32)


class ClientView(Payload):
    client_id: str
    name: str
    scopes: list[str]
    event_patterns: list[str]
    dpa_ref: str
    dpa_expires: str
    status: Literal["active", "revoked"] = Field(description=(
        "active, or revoked (every key refused, every delivery stopped)"))
    key_ids: list[str] = Field(default_factory=list, description="public ids of the client's API keys in force")
    dpa: DpaTerms | None = Field(default=None, description="the agreement (the same as dpa_ref/dpa_expires)")
    dpa_lapsed: bool = Field(default=False, description="the agreement has expired: every key answers 403")


class AuthenticateApiKey(Payload):
    """`compliance.authenticate_api_key`: the gateway presents an API key; the answer is the client, or
    401 (unknown / wrong key) or 403 (revoked client or key, expired agreement). The 403 of a lapsed agreement
    carries `reason: "dpa-lapsed"`, `dpa_ref`, `dpa_expires_on` and an error naming `dpa.expires_on`, so the
    gateway can say why instead of a bare 401."""

    api_key: str = Field(min_length=1, max_length=200, description=(
        "the API key as the client sent it (public id and secret); checked against its hash, never stored"))


class ClientIdentity(Payload):
    client_id: str
    name: str
    scopes: list[str]
    event_patterns: list[str]
    key_id: str


class ClientRegistered(Event):
    type = "jixiao.compliance.client.registered.v1"
    subject_field = "client_id"
    client_id: str
    name: str
    scopes: list[str]
    event_patterns: list[str]
    dpa_ref: str
    dpa: DpaTerms | None = Field(default=None, description="the agreement, with its last day in force (events "
                                                           "published before it was added carry only dpa_ref)")


class ClientUpdated(Event):
    """A client's name, scopes, event patterns or agreement changed: the client as it is now."""

    type = "jixiao.compliance.client.updated.v1"
    subject_field = "client_id"
    client_id: str
    name: str
    scopes: list[str]
    event_patterns: list[str]
    dpa: DpaTerms
    status: Literal["active", "revoked"] = Field(description=(
        "the client's status: active, or revoked (its keys and deliveries stopped for good)"))
    changed: list[str] = Field(default_factory=list, description="the fields that changed (name, scopes, "
                                                                 "event_patterns, dpa)")


class ClientDpaLapsed(Event):
    """A client's agreement passed its last day: its keys answer 403 and its deliveries stop until a renewal.
    Published once per lapse (the deadline sweep), again only after a renewal lapses in turn."""

    type = "jixiao.compliance.client.dpa_lapsed.v1"
    subject_field = "client_id"
    client_id: str
    name: str
    dpa: DpaTerms
    status: Literal["active", "revoked"] = Field(default="active", description=(
        "the client's status: active (the agreement may be renewed) or revoked"))


class ClientRevoked(Event):
    type = "jixiao.compliance.client.revoked.v1"
    subject_field = "client_id"
    client_id: str
    key_id: str | None = Field(default=None, description="one key revoked; None: the whole client")


class ApiKeyCreated(Event):
    type = "jixiao.compliance.apikey.created.v1"
    subject_field = "client_id"
    client_id: str
    key_id: str = Field(description="the new key's public id (the secret is never published)")


# -- settings and presets --------------------------------------------------------------------------------------

class ApplyPreset(Payload):
    preset: str = Field(min_length=1, max_length=32)


class UpdateSettings(Payload):
    settings: dict[str, Any]


class SettingsView(Payload):
    settings: dict[str, Any]
    presets: list[str] = Field(description="codes of the compliance presets that may be applied")


class SettingsChanged(Event):
    type = "jixiao.compliance.settings.changed.v1"
    subject_field = "preset"
    preset: str | None
    before: dict[str, Any]
    after: dict[str, Any]


class PrivacyNotice(Payload):
    preset: str | None
    zh: str | None
    en: str | None = Field(description="the privacy notice in English (null: only in Chinese)")
