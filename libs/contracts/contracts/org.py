"""The org directory, as compliance publishes it (compliance owns identity; other services keep read models).

Events are full snapshots with a per-entity `version` that only grows, so a read model applies an event when its
version is newer than what it holds and ignores it otherwise: redelivery and reordering are harmless.
Personal contact data (email, phone) stays in compliance: no other service needs it.

A read model that missed the events (a new service, a new deployment, a wiped database) catches up with
`compliance.org_snapshot(OrgSnapshotQuery) -> OrgSnapshotPage`: the same snapshots, page by page, applied with
the same version rules, so a page and an event crossing it in flight settle on the newest version.
`OrgResyncRequested` asks every read model to catch up again (chassis.access.OrgSync does it).
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.base import Contract, Event

PersonStatus = Literal["active", "leave", "terminated"]
CareerSequence = Literal["technical", "management"]
Role = Literal["employee", "manager", "hr", "hrbp", "auditor", "admin"]


class PersonChanged(Event):
    """A person was created or changed in the directory (a snapshot of what others may know)."""

    type = "jixiao.compliance.person.changed.v1"
    subject_field = "person_id"

    person_id: str = Field(description="stable id (the employee number)")
    version: int = Field(ge=1)
    name: str
    org_unit_id: str | None = None
    manager_id: str | None = None
    job_family: str | None = None
    grade: str | None = None
    sequence: CareerSequence | None = None
    location: str | None = None
    status: PersonStatus = Field(default="active", description="active, leave (on leave) or terminated")
    hired_on: date | None = None


class PersonErased(Event):
    """A person's data was erased (data-subject request or retention): read models drop or anonymize them."""

    type = "jixiao.compliance.person.erased.v1"
    subject_field = "person_id"

    person_id: str
    pseudonym: str = Field(description="what the person's records are keyed by from now on")
    version: int | None = Field(default=None, ge=1, description=(
        "the person's version after erasure (it continues PersonChanged's); a read model keeps a tombstone at "
        "this version so that an older PersonChanged delivered late cannot bring the person back"))


class OrgUnitChanged(Event):
    type = "jixiao.compliance.orgunit.changed.v1"
    subject_field = "org_unit_id"

    org_unit_id: str
    version: int = Field(ge=1)
    name: str
    parent_id: str | None = None
    removed: bool = Field(default=False, description="whether the unit was removed")


class RoleGrantsChanged(Event):
    """The full set of role grants of one subject (HR/HRBP scoped to org-unit subtrees, auditor, admin)."""

    type = "jixiao.compliance.grants.changed.v1"
    subject_field = "subject_id"

    subject_id: str
    version: int = Field(ge=1)
    grants: list[RoleGrant] = Field(default_factory=list)


class RoleGrant(Contract):
    role: Role = Field(description="employee, manager, hr, hrbp, auditor or admin")
    org_unit_id: str | None = Field(default=None, description="scope: this unit and its descendants")


RoleGrantsChanged.model_rebuild()

SnapshotKind = Literal["units", "people", "grants"]


class OrgSnapshotQuery(Contract):
    """`compliance.org_snapshot`: one page of the directory as it was published (services and administrators)."""

    kind: SnapshotKind = Field(description="which list to page through: units, people or grants")
    after: str | None = Field(default=None, min_length=1, max_length=128,
                              description="the previous page's `next_cursor`; none for the first page")
    limit: int = Field(default=1000, ge=1, le=5000)


class OrgSnapshotPage(Contract):
    """One page, ordered by id: the current snapshot of each entity, with the version its last event carried.

    `people` holds the people, `erased` the tombstones of erased people (kept so that a late, older
    PersonChanged cannot bring them back); only the list of the page's `kind` is filled."""

    kind: SnapshotKind = Field(description="which list this page fills: units, people or grants")
    units: list[OrgUnitChanged] = Field(default_factory=list, description="the page's org units (when `kind` is units)")
    people: list[PersonChanged] = Field(default_factory=list, description="the page's people (when `kind` is people)")
    erased: list[PersonErased] = Field(default_factory=list, description=(
        "tombstones of erased people, kept so that a late, older PersonChanged cannot bring them back"))
    grants: list[RoleGrantsChanged] = Field(default_factory=list)
    next_cursor: str | None = Field(default=None, description="pass as `after` for the next page; none: the end")


class OrgResyncRequested(Event):
    """Every service keeping an org read model fetches the directory's snapshot again (an administrator asked,
    e.g. after restoring a service's database from a backup older than the directory)."""

    type = "jixiao.compliance.org.resync_requested.v1"
    subject_field = "request_id"

    request_id: str
    reason: str = ""
