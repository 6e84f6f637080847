"""Compliance's use cases on a migrated SQLite and PostgreSQL database (chassis.testing.usecases), no broker: a small
organisation set up through the directory's own use cases by the bootstrap administrator."""
from __future__ import annotations

import pytest

from compliance import access
from compliance.repositories import ComplianceUnitOfWork
from compliance.usecases import directory
from contracts import compliance as c
from contracts.actor import Actor


class UnitOfWork(ComplianceUnitOfWork):
    bootstrap_admins = frozenset({"root"})


def person(subject: str) -> Actor:
    return Actor(subject=subject, kind="person")


@pytest.fixture
def compliance(use_cases):
    """hq ─┬─ rd ── rd-p   T works in rd-p for M, who reports to G; P is T's colleague; H is HR for rd, S HR for
           ├─ sales        sales; root is the bootstrap administrator."""
    access.register()  # the actions compliance decides, as its service module registers them
    cases = use_cases(UnitOfWork, "compliance")
    root = person("root")
    for unit_id, parent in [("hq", None), ("rd", "hq"), ("rd-p", "rd"), ("sales", "hq"), ("hrd", "hq")]:
        cases.run(directory.upsert_org_unit, root, c.UpsertOrgUnit(org_unit_id=unit_id, name=unit_id,
                                                                   parent_id=parent))
    for person_id, unit, manager in [("G", "rd", None), ("M", "rd-p", "G"), ("T", "rd-p", "M"), ("P", "rd-p", "M"),
                                     ("H", "hrd", None), ("S", "hrd", None)]:
        cases.run(directory.upsert_person, root, c.UpsertPerson(person_id=person_id, name=person_id,
                                                                org_unit_id=unit, manager_id=manager))
    cases.run(directory.set_grants, root, c.SetGrants(subject_id="H", grants=[c.GrantSpec(role="hr",
                                                                                           org_unit_id="rd")]))
    cases.run(directory.set_grants, root, c.SetGrants(subject_id="S", grants=[c.GrantSpec(role="hr",
                                                                                           org_unit_id="sales")]))
    return cases
