"""Who may do what in the suite, as plain data: every access action, declared once, in its owning service's table.

The decision engine (`chassis.access.policy`) is generic: it knows the relations an actor can have to a resource
and how to compute them from the org read model, and no action. Each service registers its own table with it
(`<service>.access.register()`, called once from the service module). The tables are data here rather than in
each service because some actions are decided outside their owner and services never import each other:

- every service checks compliance's `dsr.request` before it exports a person's data (`export_subject_data`);
- compliance's `decide` RPC (`POST /access/decisions`) answers for any action of the suite, so it loads every
  table.

Asking the owner over RPC instead would put a broker round trip into a decision the local read model answers.
Both sides load the same declaration, so they cannot disagree; the engine refuses an action registered twice
with different rules.

Relations are named by strings (the values of `chassis.access.policy.Relation`: contracts never import the
chassis); the engine refuses a name it does not know when a table is registered.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class ActionRule:
    """The resource kind an action applies to, the relations that allow it (the first that holds is the reason
    given) and the relations that veto it (conflicts of interest)."""

    kind: str
    allow: tuple[str, ...]
    veto: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionTable:
    """One service's actions, and the API-client scope that opens each one open to API clients (nothing else is)."""

    owner: str
    rules: Mapping[str, ActionRule]
    client_scopes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


# The relation names (chassis.access.policy.Relation documents each one).
SELF = "self"  # the actor owns the resource
DM = "direct_manager"
IM = "indirect_manager"
HR = "hr_scope"
HRBP = "hrbp_scope"
EMPLOYEE = "employee"
REPORTS_TO_OWNER = "reports_to_owner"
UNIT_MEMBER = "unit_member"
UNIT_LEAD = "unit_lead"
UNIT_HEAD = "unit_head"
UNIT_MANAGER = "unit_manager"
COLLEAGUE = "colleague"
COMPANY_HR = "company_hr"
AUDITOR = "auditor"
ADMIN = "admin"
RELATIONS = (SELF, DM, IM, HR, HRBP, EMPLOYEE, REPORTS_TO_OWNER, UNIT_MEMBER, UNIT_LEAD, UNIT_HEAD, UNIT_MANAGER,
             COLLEAGUE, COMPANY_HR, AUDITOR, ADMIN)

LINE = (SELF, DM, IM, HR, HRBP)  # the person, their reporting line and their HR
ABOVE = (DM, IM, HR)  # who acts on a person's record for them, never the person themself


def _table(owner: str, rules: dict[str, ActionRule], client_scopes: dict[str, str] | None = None) -> ActionTable:
    return ActionTable(owner, MappingProxyType(rules), MappingProxyType(client_scopes or {}))


R = ActionRule

# fmt: off
GOALS = _table("goals", {
    # Goals align upwards: people read their managers' goals and the goals of the units they belong to; the
    # heads of a unit and every manager up the chain of its people read its goals too.
    "goal.read":         R("goal", (*LINE, REPORTS_TO_OWNER, UNIT_MEMBER, UNIT_HEAD, UNIT_MANAGER)),
    # a person's or a unit's goals as a whole (lists, boards reaching down a reporting line): no upward relation
    "goal.browse":       R("goal", (*LINE, UNIT_HEAD, UNIT_MANAGER)),
    # a cycle's visibility opens goals, progress and colour (never the private fields) to colleagues
    "goal.read.company": R("goal", (EMPLOYEE,)),
    "goal.read.unit":    R("goal", (COLLEAGUE,)),
    # strategy decomposes down the tree: a unit's head, or any manager up the chain, sets goals for units below
    "goal.create":       R("goal", (SELF, DM, HR, UNIT_LEAD, UNIT_HEAD, UNIT_MANAGER)),
    "goal.update":       R("goal", (SELF, DM)),
    "goal.progress":     R("goal", (SELF,)),  # progress is the account of the person answering for it
    "goal.approve":      R("goal", (DM, IM), (SELF,)),
    # cycles, indicator library, templates: HR of the unit, or of the whole company for company-wide ones
    "cycle.manage":      R("cycle", (HR, COMPANY_HR, ADMIN)),
    # a person's custom field values (night-shift coefficient...) feed their scores: never set by themself
    "customfield.write": R("customfield", ABOVE, (SELF,)),
}, {"goal.read": "goals:read"})

FEEDBACK = _table("feedback", {
    # the suite's coarse actions on reviews and check-ins (answered by compliance's `decide`, open to clients)
    "review.read":       R("review", LINE),
    "review.write":      R("review", (SELF, DM)),
    "review.calibrate":  R("review", (HR, HRBP), (SELF,)),
    "checkin.read":      R("checkin", (SELF, DM, IM, HRBP)),
    "checkin.write":     R("checkin", (SELF, DM)),
    "feedback.give":     R("feedback", (EMPLOYEE,)),
    # the feedback service's own: a person's records are owned by the person; a manager's team views and
    # coaching cadence by the manager; company settings (calendar, questionnaires, playbook) by nobody
    "feedback.checkin.read":      R("feedback.checkin", LINE),
    "feedback.checkin.write":     R("feedback.checkin", (SELF, DM)),  # the two parties' notes, sign-off
    "feedback.checkin.schedule":  R("feedback.checkin", (DM, HR), (SELF,)),
    "feedback.report.write":      R("feedback.report", (SELF,)),
    "feedback.report.read":       R("feedback.report", LINE),
    "feedback.team.read":         R("feedback.team", LINE),  # a manager's team summary/board: the manager and above
    "feedback.unit.read":         R("feedback.unit", (HR, HRBP, ADMIN)),
    "feedback.key_event.record":  R("feedback.key_event", (DM, IM, EMPLOYEE), (SELF,)),
    "feedback.key_event.read":    R("feedback.key_event", LINE),
    "feedback.key_event.respond": R("feedback.key_event", (SELF,)),
    "feedback.activity.write":    R("feedback.activity", (SELF,)),
    "feedback.activity.read":     R("feedback.activity", LINE),
    "feedback.coaching.write":    R("feedback.coaching", (DM, IM), (SELF,)),
    "feedback.coaching.read":     R("feedback.coaching", LINE),  # owner: the manager whose cadence it is
    "feedback.survey.open":       R("feedback.survey", (SELF, DM, HR)),
    "feedback.survey.read":       R("feedback.survey", LINE),
    "feedback.praise.give":       R("feedback.praise", (EMPLOYEE,), (SELF,)),
    "feedback.review.self":       R("feedback.review", (SELF,)),
    "feedback.review.manager":    R("feedback.review", (DM,), (SELF,)),
    "feedback.review.read":       R("feedback.review", LINE),
    # calibrators: the levels above the manager and HR/HRBP of the unit (never one's own rating)
    "feedback.review.calibrate":  R("feedback.review", (IM, HR, HRBP), (SELF,)),
    "feedback.company.manage":    R("feedback.company", (COMPANY_HR, ADMIN)),
    "feedback.company.read":      R("feedback.company", (EMPLOYEE, COMPANY_HR, ADMIN)),
}, {"review.read": "reviews:read"})

# Pay and talent data are the most sensitive in the suite: read by the person, their line and HR/HRBP of their
# unit only, never by peers. Approving a proposal or a redemption is not a policy action (chassis.access.approvals).
INCENTIVES = _table("incentives", {
    # the suite's coarse actions (answered by compliance's `decide`)
    "incentive.read":    R("incentive", (SELF, DM, HR)),
    "incentive.manage":  R("incentive", (HR, ADMIN), (SELF,)),
    "talent.read":       R("talent", (DM, IM, HR, HRBP)),
    # the incentives service's own
    "incentives.bonus.read":       R("incentives.bonus", LINE),
    "incentives.bonus.propose":    R("incentives.bonus", ABOVE, (SELF,)),
    "incentives.points.read":      R("incentives.points", LINE),
    "incentives.points.grant":     R("incentives.points", ABOVE, (SELF,)),
    "incentives.points.redeem":    R("incentives.points", (SELF,)),  # one redeems only one's own points
    "incentives.talent.read":      R("incentives.talent", LINE),
    "incentives.talent.assess":    R("incentives.talent", (DM, IM), (SELF,)),
    "incentives.talent.calibrate": R("incentives.talent", (HR, HRBP), (SELF,)),
    "incentives.idp.update":       R("incentives.talent", (SELF, DM, IM)),
    # a unit's pools, budgets, 9-box and analytics: HR/HRBP of the unit
    "incentives.unit.read":        R("incentives.unit", (HR, HRBP, ADMIN)),
    "incentives.unit.manage":      R("incentives.unit", (HR, ADMIN)),
    "incentives.budget.read":      R("incentives.budget", (HR, HRBP, ADMIN)),
    # company-wide: process rules, the reward menu
    "incentives.config.manage":    R("incentives.config", (COMPANY_HR, ADMIN)),
    "incentives.config.read":      R("incentives.config", (EMPLOYEE, COMPANY_HR, ADMIN)),
})

COMPLIANCE = _table("compliance", {
    # the org directory
    "person.lookup":     R("person", (EMPLOYEE, ADMIN)),  # the address-book card: name, unit, email
    "person.read":       R("person", (*LINE, ADMIN)),
    "person.update":     R("person", (HR, ADMIN), (SELF,)),
    "orgunit.manage":    R("orgunit", (HR, ADMIN)),
    "grants.manage":     R("grants", (ADMIN,)),
    "org.import":        R("org", (HR, ADMIN)),
    "org.snapshot":      R("org", (ADMIN,)),  # services catching up (OrgSync) act as themselves
    "org.resync":        R("org", (ADMIN,)),
    # the audit log
    "audit.read":        R("audit", (AUDITOR,)),
    "audit.verify":      R("audit", (AUDITOR, ADMIN)),
    # appeals: nobody decides their own appeal or one against a rating they gave as direct manager
    "appeal.create":     R("appeal", (SELF,)),
    "appeal.read":       R("appeal", (SELF, HR, HRBP)),
    "appeal.withdraw":   R("appeal", (SELF,)),
    "appeal.decide":     R("appeal", (HR,), (SELF, DM)),
    # HR business partners investigate appeals: HR or HRBP of the appellant's unit may take one up for review,
    # never the appellant nor their direct manager (who rated is vetoed by the use case from the target's facts)
    "appeal.review":     R("appeal", (HR, HRBP), (SELF, DM)),
    # data-subject requests: every service checks `dsr.request` before exporting a person's data
    "dsr.request":       R("person", (SELF, HR)),  # HR files on behalf of people who left
    "dsr.read":          R("dsr", (SELF, HR, ADMIN)),
    "export.read":       R("export", (SELF,)),
    "hold.manage":       R("hold", (ADMIN,)),
    "retention.manage":  R("retention", (ADMIN,)),
    "client.manage":     R("client", (ADMIN,)),
    "settings.update":   R("settings", (ADMIN,)),
}, {"person.lookup": "org:read", "audit.read": "audit:read"})

NOTIFICATIONS = _table("notifications", {
    # a person's contact details and preferences: themselves, their HR, administrators
    "notification.preferences": R("person", (SELF, HR, ADMIN)),
    # message templates: company HR and administrators
    "notification.templates":   R("notification_template", (COMPANY_HR, ADMIN)),
    # webhook subscriptions and their deliveries: administrators, or the client itself (scope webhooks:write)
    "webhook.manage":           R("webhook", (ADMIN,)),
    "delivery.read":            R("delivery", (ADMIN, AUDITOR)),
}, {"webhook.manage": "webhooks:write"})
# fmt: on

TABLES: Mapping[str, ActionTable] = MappingProxyType(
    {table.owner: table for table in (GOALS, FEEDBACK, INCENTIVES, COMPLIANCE, NOTIFICATIONS)})


def owners_of(action: str) -> list[str]:
    """The services that declare `action` (exactly one for every action of the suite; tested)."""
    return [owner for owner, table in TABLES.items() if action in table.rules]
