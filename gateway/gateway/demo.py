"""The demo organisation of the embedded mode (`make up`).

`seed(caller)` creates it through compliance's directory RPCs (units, then people, then grants; every call an
upsert, so seeding twice changes nothing) — suite.yaml names it as the development seed. The development login
(`POST /api/v1/dev/login {"user": "manager"}`, environment=development only) issues tokens for the five
`DEMO_USERS`. Nothing here is used outside development.
"""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoUnit:
    org_unit_id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class DemoPerson:
    person_id: str
    name: str
    org_unit_id: str
    manager_id: str | None
    job_family: str
    grade: str
    email: str


@dataclass(frozen=True)
class DemoGrant:
    subject_id: str
    role: str  # hr | hrbp | auditor | admin
    org_unit_id: str | None = None  # the subtree HR and HRBP act on


DEMO_UNITS = (
    DemoUnit("U-HQ", "Jixiao Demo Co."),
    DemoUnit("U-ENG", "Engineering", "U-HQ"),
    DemoUnit("U-PLAT", "Platform team", "U-ENG"),
    DemoUnit("U-PEOPLE", "People & Culture", "U-HQ"),
    DemoUnit("U-AUDIT", "Internal audit", "U-HQ"),
)

DEMO_PEOPLE = (
    DemoPerson("E1000", "Chen Jie", "U-HQ", None, "it", "P6", "chen.jie@demo.jixiao.dev"),
    DemoPerson("E1001", "Lin Hua", "U-ENG", None, "engineering", "M4", "lin.hua@demo.jixiao.dev"),
    DemoPerson("E1002", "Zhang Min", "U-PLAT", "E1001", "engineering", "M2", "zhang.min@demo.jixiao.dev"),
    DemoPerson("E1003", "Wang Fang", "U-PLAT", "E1002", "engineering", "P5", "wang.fang@demo.jixiao.dev"),
    DemoPerson("E1004", "Li Lei", "U-PLAT", "E1002", "engineering", "P4", "li.lei@demo.jixiao.dev"),
    DemoPerson("E1010", "Zhao Yun", "U-PEOPLE", None, "hr", "P6", "zhao.yun@demo.jixiao.dev"),
    DemoPerson("E1020", "Sun Li", "U-AUDIT", None, "audit", "P6", "sun.li@demo.jixiao.dev"),
)

DEMO_GRANTS = (
    DemoGrant("E1000", "admin"),
    DemoGrant("E1010", "hr", "U-HQ"),
    DemoGrant("E1020", "auditor"),
)

# who the development login signs in as
DEMO_USERS = {
    "employee": "E1003",
    "manager": "E1002",
    "hr": "E1010",
    "auditor": "E1020",
    "admin": "E1000",
}


# settings of the services that the demo's data needs (chassis.suite applies them in development only, unless
# set): Lin Hua reviews technical promotions, Chen Jie management ones, and HR (Zhao Yun, the development login's
# `hr`) sits on both, so a nomination can be decided by someone the development login signs in as
DEVELOPMENT_SETTINGS = {
    "INCENTIVES_PROMOTION_PANELS": json.dumps({"technical": ["E1001", "E1010"], "management": ["E1000", "E1010"]}),
}


def seed(caller) -> None:
    """Create or refresh the demo organisation; `caller` is an RPC caller acting as a service."""
    for unit in DEMO_UNITS:
        caller.compliance.upsert_org_unit({"org_unit_id": unit.org_unit_id, "name": unit.name,
                                           "parent_id": unit.parent_id})
    for person in DEMO_PEOPLE:  # managers come first in DEMO_PEOPLE
        caller.compliance.upsert_person({
            "person_id": person.person_id, "name": person.name, "org_unit_id": person.org_unit_id,
            "manager_id": person.manager_id, "job_family": person.job_family, "grade": person.grade,
            "email": person.email})
    by_subject: dict[str, list[dict]] = {}
    for grant in DEMO_GRANTS:
        by_subject.setdefault(grant.subject_id, []).append({"role": grant.role, "org_unit_id": grant.org_unit_id})
    for subject, grants in by_subject.items():
        caller.compliance.set_grants({"subject_id": subject, "grants": grants})
