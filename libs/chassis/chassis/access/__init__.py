"""Access decisions, the same in every service, decided locally from the service's own org read model.

Compliance owns the org directory and publishes `contracts.org` events; every service keeps a read model of
them (tables `chassis_org_*`) and decides with the one generic engine (`chassis.access.policy`) over the actions
it registered (`register_table(contracts.access.<SERVICE>)` from its `access.register()`), with no RPC per
request. Every denial is recorded as `jixiao.<service>.access.denied.v1` (compliance audits it).

Wiring a service (five steps):

    # models.py — the read-model tables join your metadata (autogenerate and the drift test see them)
    from chassis.access import include_org_read_model
    include_org_read_model(Base.metadata)

    # migrations/versions/0002_....py
    from chassis.access import create_org_read_model_v1, drop_org_read_model_v1
    def upgrade(): create_org_read_model_v1(op)
    def downgrade(): drop_org_read_model_v1(op)

    # service.py — the unit of work carries `access`; one handler keeps the read model; OrgSync catches it up
    # with the directory that existed before its queue did (and again when a resync is requested)
    from chassis.access import AccessUnitOfWork, ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync, apply_org_events

    class GoalsUnitOfWork(AccessUnitOfWork):
        def open(self, session):
            super().open(session)                      # sets self.access
            self.goals = GoalRepository(session)

    class GoalsService(Service):
        name = "goals"
        uow = Database(GoalsUnitOfWork)
        org_sync = OrgSync()

        @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)   # one transaction a batch
        def on_org_event(self, events):
            with self.uow as uow:
                apply_org_events(uow.session, uow.fresh(events))

    # usecases.py — decide from the actor in context, never from ids in the payload
    from chassis.access import Resource

    def get_goal(uow, actor, goal_id):
        with uow:
            goal = uow.goals.get(goal_id)
            uow.access.require(actor, "goal.read", Resource(kind="goal", owner=goal.owner_id,
                                                            org_unit=goal.org_unit_id))
            ...                                        # Forbidden (403) was raised and recorded if denied

`uow.access.can(actor, action, resource)` decides without recording (to filter a list); `decide` returns the
`Decision` with its reason. Actors of kind "service" (the service's own timers and reactions) are allowed;
kind "client" (third-party API clients) only what `CLIENT_SCOPES` opens to a scope they hold; people get
their roles and HR scopes from the directory's grants, not from the caller's claims.

Catching up (`chassis.access.sync`, `chassis.access.snapshot`): compliance serves its read model page by page
(`compliance.org_snapshot`); `OrgSync` applies the pages with the events' version rules at start, whenever the
read model never took a snapshot, and again after `compliance.request_org_resync`.

The pure parts (`chassis.access.org`, `chassis.access.policy`) import nothing but the standard library,
chassis.errors and the plain data of contracts.access; the exports below resolve lazily so that importing them
does not pull in eventlet.
"""
from chassis import lazy_exports

_EXPORTS = {
    "Grant": "chassis.access.org", "Member": "chassis.access.org", "OrgIndex": "chassis.access.org",
    "OrgUnit": "chassis.access.org", "PersonStatus": "chassis.access.org", "Role": "chassis.access.org",
    "CLIENT_SCOPES": "chassis.access.policy", "RULES": "chassis.access.policy", "Decision": "chassis.access.policy",
    "Relation": "chassis.access.policy", "Resource": "chassis.access.policy", "Rule": "chassis.access.policy",
    "register_rules": "chassis.access.policy", "register_table": "chassis.access.policy",
    "OWNERS": "chassis.access.policy",
    "Scope": "chassis.access.policy", "can": "chassis.access.policy", "client_can": "chassis.access.policy",
    "require": "chassis.access.policy", "resolve_actor": "chassis.access.policy",
    "ORG_EVENT_TYPES": "chassis.access.readmodel", "apply_org_event": "chassis.access.readmodel",
    "ORG_EVENT_BATCH": "chassis.access.readmodel", "apply_org_events": "chassis.access.readmodel",
    "apply_person_snapshots": "chassis.access.readmodel",
    "build_index": "chassis.access.readmodel", "create_org_read_model": "chassis.access.readmodel",
    "create_org_read_model_v1": "chassis.access.readmodel", "drop_org_read_model_v1": "chassis.access.readmodel",
    "include_org_read_model": "chassis.access.readmodel", "load_index": "chassis.access.readmodel",
    "org_metadata": "chassis.access.readmodel", "request_resync": "chassis.access.readmodel",
    "AccessUnitOfWork": "chassis.access.guard", "OrgAccess": "chassis.access.guard",
    "apply_snapshot": "chassis.access.snapshot", "read_snapshot": "chassis.access.snapshot",
    "OrgSync": "chassis.access.sync",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports("chassis.access", _EXPORTS, globals())
