"""Services used only by the chassis benchmarks (run under `nameko run` by rpc_bench.py / events_bench.py)."""
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis import Database, Service, event_handler, rpc
from chassis.access import AccessUnitOfWork, Relation, Resource, Rule, include_org_read_model, register_rules
from chassis.testing.toy import Base


class Received(Base):
    __tablename__ = "bench_received"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))


class BenchPing(Service):
    name = "bench_ping"

    @rpc
    def ping(self, value):
        return value


class BenchSink(Service):
    """One row per event, written with the inbox row in the same transaction (the production path)."""

    name = "bench_sink"
    uow = Database(relay=False)

    @event_handler("bench_source", "#")
    def on_event(self, event):
        with self.uow as uow:
            uow.session.add(Received(event_id=event.id, subject=event.subject or ""))


class BenchSource(Service):
    """Only runs the outbox relay of the source database."""

    name = "bench_source"
    uow = Database()


class BenchBatchSink(Service):
    """The same effect, 200 events per transaction (the batching event handler)."""

    name = "bench_sink"
    uow = Database(relay=False)

    @event_handler("bench_source", "#", batch_size=200, batch_wait=0.02)
    def on_events(self, events):
        with self.uow as uow:
            uow.session.add_all([Received(event_id=e.id, subject=e.subject or "") for e in uow.fresh(events)])


# -- one indexed read with an access check: the fixed cost of a chassis read RPC (rpc_bench.py) ------------------


class ReadBase(DeclarativeBase):
    pass


include_org_read_model(ReadBase.metadata)


class Item(ReadBase):
    __tablename__ = "bench_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))


register_rules({"bench.item.read": Rule("item", (Relation.SELF, Relation.DIRECT_MANAGER))})


class BenchRead(Service):
    """What a typical read RPC does: a unit of work, one primary-key read, an access check from the org read
    model, the row back as JSON. The outbox relay runs as in every service."""

    name = "bench_read"
    uow = Database(AccessUnitOfWork)

    @rpc
    def get_item(self, payload):
        with self.uow as uow:
            item = uow.session.get(Item, payload["item_id"])
            if item is None:
                return None
            uow.access.require(self.call.actor, "bench.item.read", Resource(kind="item", owner=item.owner_id))
            return {"id": item.id, "owner_id": item.owner_id, "name": item.name}
