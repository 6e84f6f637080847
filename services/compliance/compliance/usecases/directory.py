"""Org directory: units, people, role grants — the source of every service's org read model — and `decide`."""
from __future__ import annotations

from chassis.access import Resource
from chassis.access.org import SCOPED_ROLES
from chassis.errors import Conflict, InvalidInput, NotFound
from chassis.ids import new_id
from compliance.domain.importing import normalise_email, normalise_phone
from compliance.models import GrantsRow, OrgUnitRow, PersonRow
from compliance.repositories import ComplianceUnitOfWork
from compliance.usecases.common import dumps, loads
from contracts.actor import Actor
from contracts.compliance import (
    Decide,
    DecisionView,
    GrantSpec,
    GrantsView,
    ListPeople,
    OrgResyncView,
    OrgUnitView,
    PeoplePage,
    PersonRef,
    PersonView,
    RemoveOrgUnit,
    RequestOrgResync,
    SetGrants,
    UpsertOrgUnit,
    UpsertPerson,
)
from contracts.org import (
    OrgResyncRequested,
    OrgSnapshotPage,
    OrgSnapshotQuery,
    OrgUnitChanged,
    PersonChanged,
    RoleGrant,
    RoleGrantsChanged,
)


def decide(uow: ComplianceUnitOfWork, actor: Actor | None, command: Decide) -> DecisionView:
    """The decision for the actor in context; a denial is recorded like any other."""
    ref = command.resource
    resource = Resource(ref.kind, ref.owner, ref.org_unit, ref.unit_owned)
    with uow:
        decision = uow.access.decide(actor, command.action, resource)
        if not decision.allowed:
            uow.record_denial(actor, command.action, resource, decision.reason)
    return DecisionView(allowed=decision.allowed, reason=decision.reason)


# -- catching read models up ----------------------------------------------------------------------------------

def org_snapshot(uow: ComplianceUnitOfWork, actor: Actor | None, query: OrgSnapshotQuery) -> OrgSnapshotPage:
    """A page of the directory as published: compliance's own read model, kept in the directory's transactions,
    holds exactly what the events said (tombstones included). For services catching up (chassis.access.OrgSync)."""
    with uow:
        uow.access.require(actor, "org.snapshot", Resource("org"))
        return uow.org.snapshot(query)


def request_org_resync(uow: ComplianceUnitOfWork, actor: Actor | None, command: RequestOrgResync) -> OrgResyncView:
    """Every service's read model takes the snapshot again (e.g. after a service's database was restored)."""
    with uow:
        uow.access.require(actor, "org.resync", Resource("org"))
        request = OrgResyncRequested(request_id=new_id(), reason=command.reason)
        uow.publish(request)
        return OrgResyncView(request_id=request.request_id, requested_at=uow.now())


# -- units -----------------------------------------------------------------------------------------------------

def _unit_view(row: OrgUnitRow) -> OrgUnitView:
    return OrgUnitView(org_unit_id=row.org_unit_id, name=row.name, parent_id=row.parent_id, version=row.version,
                       removed=row.removed)


def _unit_event(row: OrgUnitRow) -> OrgUnitChanged:
    return OrgUnitChanged(org_unit_id=row.org_unit_id, version=row.version, name=row.name, parent_id=row.parent_id,
                          removed=row.removed)


def upsert_org_unit(uow: ComplianceUnitOfWork, actor: Actor | None, command: UpsertOrgUnit) -> OrgUnitView:
    with uow:
        row = uow.units.get(command.org_unit_id, lock=True)
        # creating under a parent is HR's for that parent's subtree; renaming or moving, HR's for the unit
        where = command.parent_id if row is None else command.org_unit_id
        uow.access.require(actor, "orgunit.manage", Resource("orgunit", org_unit=where))
        if row is not None and row.parent_id != command.parent_id and command.parent_id is not None:
            uow.access.require(actor, "orgunit.manage", Resource("orgunit", org_unit=command.parent_id))
        if command.parent_id is not None:
            if uow.units.live(command.parent_id) is None:
                raise InvalidInput.field("parent_id", f"no org unit {command.parent_id!r}")
            if command.parent_id == command.org_unit_id or uow.access.index.unit_within(
                    command.parent_id, command.org_unit_id):
                raise InvalidInput.field("parent_id", "an org unit cannot be placed below itself")
        now = uow.now()
        if row is None:
            row = OrgUnitRow(org_unit_id=command.org_unit_id, version=0, removed=False)
            uow.units.add(row)
        elif (row.name, row.parent_id, row.removed) == (command.name, command.parent_id, False):
            return _unit_view(row)  # unchanged: no new version, no event
        row.name, row.parent_id, row.removed = command.name, command.parent_id, False
        row.version += 1
        row.updated_at = now
        uow.flush()
        uow.publish_org(_unit_event(row))
        return _unit_view(row)


def remove_org_unit(uow: ComplianceUnitOfWork, actor: Actor | None, command: RemoveOrgUnit) -> OrgUnitView:
    with uow:
        row = uow.units.get(command.org_unit_id, lock=True)
        if row is None:
            raise NotFound(f"no org unit {command.org_unit_id!r}")
        uow.access.require(actor, "orgunit.manage", Resource("orgunit", org_unit=row.org_unit_id))
        if row.removed:
            return _unit_view(row)
        child = uow.units.first_child(row.org_unit_id)
        member = uow.people.first_member(row.org_unit_id)
        if child is not None or member is not None:
            raise Conflict(f"org unit {row.org_unit_id} still has "
                           + (f"unit {child}" if child else f"member {member}"))
        row.removed = True
        row.version += 1
        row.updated_at = uow.now()
        uow.flush()
        uow.publish_org(_unit_event(row))
        return _unit_view(row)


# -- people ----------------------------------------------------------------------------------------------------

CONTACT_READERS = ("self", "HR", "administrator")


def person_view(row: PersonRow, with_contact: bool) -> PersonView:
    return PersonView(
        person_id=row.person_id, version=row.version, name=row.name, org_unit_id=row.org_unit_id,
        manager_id=row.manager_id, job_family=row.job_family, grade=row.grade, sequence=row.sequence,
        location=row.location, status=row.status,
        email=row.email if with_contact else None, phone=row.phone if with_contact else None,
    )


def person_event(row: PersonRow) -> PersonChanged:
    return PersonChanged(
        person_id=row.person_id, version=row.version, name=row.name, org_unit_id=row.org_unit_id,
        manager_id=row.manager_id, job_family=row.job_family, grade=row.grade, sequence=row.sequence,
        location=row.location, status=row.status, hired_on=row.hired_on,
    )


def _contact_visible(uow: ComplianceUnitOfWork, actor: Actor | None, row: PersonRow) -> bool:
    resource = Resource("person", owner=row.person_id)
    decision = uow.access.decide(actor, "person.read", resource)
    if not decision.allowed:
        return False
    if actor is not None and actor.subject == row.person_id:
        return True
    return "HR" in decision.reason or "administrator" in decision.reason


def card_view(row: PersonRow) -> PersonView:
    """The address-book card every colleague sees: name, unit, status and work email."""
    return PersonView(person_id=row.person_id, version=row.version, name=row.name, org_unit_id=row.org_unit_id,
                      status=row.status, email=row.email)


def person_for(uow: ComplianceUnitOfWork, actor: Actor | None, row: PersonRow) -> PersonView:
    """THE card rule, for the single read and the lists alike: the person, their line, HR/HRBP in scope and admins
    see the record (grade, job family, manager...); everyone else who may look people up sees the card. Contact data
    in the record stays with the person, HR in scope and admins. The caller has checked `person.lookup`."""
    if uow.access.can(actor, "person.read", Resource("person", owner=row.person_id)):
        return person_view(row, _contact_visible(uow, actor, row))
    return card_view(row)


def get_person(uow: ComplianceUnitOfWork, actor: Actor | None, command: PersonRef) -> PersonView:
    """The full record for the person, their line, HR in scope and admins; the address-book card for colleagues."""
    with uow:
        row = uow.people.get(command.person_id)
        resource = Resource("person", owner=command.person_id)
        if row is None or row.erased:
            uow.access.require(actor, "person.lookup", resource)
            raise NotFound(f"no person {command.person_id!r}")
        if uow.access.can(actor, "person.read", resource):
            return person_for(uow, actor, row)
        uow.access.require(actor, "person.lookup", resource)
        return card_view(row)


def list_people(uow: ComplianceUnitOfWork, actor: Actor | None, command: ListPeople) -> PeoplePage:
    """People of an org-unit subtree, for whoever may look people up; contact data as in `get_person`."""
    with uow:
        uow.access.require(actor, "person.lookup", Resource("person", org_unit=command.org_unit_id))
        units = None
        if command.org_unit_id is not None:
            units = uow.access.index.units_within(command.org_unit_id)
            if not units:
                raise InvalidInput.field("org_unit_id", f"no org unit {command.org_unit_id!r}")
        rows = uow.people.page(units, command.after, command.limit + 1)
        page = rows[:command.limit]
        people = [person_for(uow, actor, row) for row in page]  # the same rule as get_person, row by row
    return PeoplePage(people=people, next_cursor=page[-1].person_id if len(rows) > command.limit else None)


def validate_person(uow: ComplianceUnitOfWork, command: UpsertPerson) -> tuple[str | None, str | None]:
    """(email, phone) normalised; InvalidInput naming the field for anything that does not fit the directory."""
    if uow.units.live(command.org_unit_id) is None:
        raise InvalidInput.field("org_unit_id", f"no org unit {command.org_unit_id!r}")
    if command.manager_id is not None:
        if command.manager_id == command.person_id:
            raise InvalidInput.field("manager_id", "a person cannot be their own manager")
        manager = uow.people.get(command.manager_id)
        if manager is None or manager.erased:
            raise InvalidInput.field("manager_id", f"no person {command.manager_id!r}")
        if uow.access.index.reports_to(command.manager_id, command.person_id):
            raise InvalidInput.field("manager_id", f"{command.manager_id} reports to {command.person_id}: a loop")
    email = phone = None
    if command.email:
        email = normalise_email(command.email)
        if email is None:
            raise InvalidInput.field("email", "not an email address")
        owner = uow.people.with_email(email)
        if owner is not None and owner != command.person_id:
            raise InvalidInput.field("email", f"already used by {owner}")
    if command.phone:
        phone = normalise_phone(command.phone)
        if phone is None:
            raise InvalidInput.field("phone", "not a mobile number (+<country code><number>)")
    return email, phone


def upsert_person(uow: ComplianceUnitOfWork, actor: Actor | None, command: UpsertPerson) -> PersonView:
    with uow:
        row = uow.people.get(command.person_id, lock=True)
        if row is not None and row.erased:
            raise Conflict(f"person {command.person_id} was erased")
        if row is not None:
            uow.access.require(actor, "person.update", Resource("person", owner=row.person_id))
        uow.access.require(actor, "person.update", Resource("person", org_unit=command.org_unit_id))
        email, phone = validate_person(uow, command)
        now = uow.now()
        values: dict[str, object] = {
            "name": command.name, "email": email, "phone": phone, "org_unit_id": command.org_unit_id,
            "manager_id": command.manager_id, "job_family": command.job_family, "grade": command.grade,
            "sequence": command.sequence, "location": command.location, "status": command.status,
            "hired_on": command.hired_on}
        if row is None:
            row = PersonRow(person_id=command.person_id, version=0, erased=False, created_at=now, **values)
            uow.people.add(row)
        elif all(getattr(row, name) == value for name, value in values.items()):
            return person_view(row, True)
        else:
            for name, value in values.items():
                setattr(row, name, value)
        row.ended_at = (row.ended_at or now) if command.status == "terminated" else None
        row.version += 1
        row.updated_at = now
        uow.flush()
        uow.publish_org(person_event(row))
        return person_view(row, True)


# -- grants ----------------------------------------------------------------------------------------------------

def set_grants(uow: ComplianceUnitOfWork, actor: Actor | None, command: SetGrants) -> GrantsView:
    """Replace a subject's role grants (admins only)."""
    with uow:
        uow.access.require(actor, "grants.manage", Resource("grants", owner=command.subject_id))
        for position, grant in enumerate(command.grants):
            scoped = grant.role in SCOPED_ROLES
            if scoped and grant.org_unit_id is None:
                raise InvalidInput.field(f"grants.{position}.org_unit_id", f"role {grant.role} needs an org unit")
            if not scoped and grant.org_unit_id is not None:
                raise InvalidInput.field(f"grants.{position}.org_unit_id", f"role {grant.role} is organisation-wide")
            if scoped and uow.units.live(grant.org_unit_id) is None:
                raise InvalidInput.field(f"grants.{position}.org_unit_id", f"no org unit {grant.org_unit_id!r}")
        if actor is not None and actor.subject == command.subject_id and not any(
                g.role == "admin" for g in command.grants) and any(
                g.role == "admin" for g in uow.access.index.grants_of(actor.subject)):
            raise Conflict("an administrator cannot take their own admin role away")
        grants = sorted({(g.role, g.org_unit_id) for g in command.grants}, key=lambda g: (g[0], g[1] or ""))
        row = uow.grants.get(command.subject_id, lock=True)
        text = dumps([{"role": role, "org_unit_id": unit} for role, unit in grants])
        if row is None:
            row = GrantsRow(subject_id=command.subject_id, version=0, grants="[]")
            uow.grants.add(row)
        elif row.grants == text:
            return _grants_view(row)
        row.grants = text
        row.version += 1
        row.updated_at = uow.now()
        uow.flush()
        uow.publish_org(RoleGrantsChanged(subject_id=row.subject_id, version=row.version,
                                           grants=[RoleGrant(role=r, org_unit_id=u) for r, u in grants]))
        return _grants_view(row)


def get_grants(uow: ComplianceUnitOfWork, actor: Actor | None, command: PersonRef) -> GrantsView:
    with uow:
        if actor is None or actor.subject != command.person_id:
            uow.access.require(actor, "grants.manage", Resource("grants", owner=command.person_id))
        row = uow.grants.get(command.person_id)
        if row is None:
            return GrantsView(subject_id=command.person_id, version=0, grants=[])
        return _grants_view(row)


def _grants_view(row: GrantsRow) -> GrantsView:
    return GrantsView(subject_id=row.subject_id, version=row.version,
                      grants=[GrantSpec(**grant) for grant in loads(row.grants, [])])
