"""Two org read-model consumers for bench/soak/org_ingest.py: the same handler one event per transaction (as every
service had it until 2026-12-03) and batched (`ORG_EVENT_BATCH` per transaction, as they have it now)."""
from chassis import Database, Service, event_handler
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, AccessUnitOfWork, apply_org_event, apply_org_events


class OrgOneByOne(Service):
    name = "org_one_by_one"
    uow = Database(AccessUnitOfWork, relay=False)

    @event_handler("compliance", ORG_EVENT_TYPES)
    def on_org_event(self, event):
        with self.uow as uow:
            apply_org_event(uow.session, event)


class OrgBatched(Service):
    name = "org_batched"
    uow = Database(AccessUnitOfWork, relay=False)

    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)
    def on_org_event(self, events):
        with self.uow as uow:
            apply_org_events(uow.session, uow.fresh(events))
