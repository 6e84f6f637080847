"""issue 10 #8: a 403 for an existing record beside a 404 for a missing one confirms that the record exists. With
`missing=` the guard answers exactly the missing record's 404 to a caller who may not know the record exists."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chassis.access import AccessUnitOfWork, Resource, apply_org_event, create_org_read_model
from chassis.access.policy import register_table
from chassis.db import outbox_table
from chassis.errors import Forbidden, NotFound
from chassis.testing.toy import create_schema
from chassis.uow import Store
from contracts import Actor, Envelope
from contracts.access import GOALS
from contracts.org import OrgUnitChanged, PersonChanged

# the chassis knows no action: these tests decide goals' actions, as the goals service registers them
register_table(GOALS)


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    create_schema(url)
    store = Store.from_url(url, "access_toy")
    create_org_read_model(store.engine)
    with Session(store.engine) as session, session.begin():
        for event in (OrgUnitChanged(org_unit_id="sales", version=1, name="Sales"),
                      PersonChanged(person_id="VP", version=1, name="VP", org_unit_id="sales"),
                      PersonChanged(person_id="M", version=1, name="M", org_unit_id="sales", manager_id="VP"),
                      PersonChanged(person_id="E1", version=1, name="E1", org_unit_id="sales", manager_id="M"),
                      PersonChanged(person_id="E2", version=1, name="E2", org_unit_id="sales", manager_id="M")):
            apply_org_event(session, Envelope.wrap(event))
    yield store
    store.engine.dispose()


def attempt(store, who: str, **options):
    goal = Resource("goal", owner="E1")
    with AccessUnitOfWork(store, actor=Actor(subject=who)) as uow:
        return uow.access.require(Actor(subject=who), "goal.update", goal, **options)


def denials(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox_table)
                            .where(outbox_table.c.event_type.like("%access.denied%"))).scalar()


def test_a_caller_who_cannot_see_the_record_gets_the_missing_records_404(store):
    with pytest.raises(NotFound) as hidden:
        attempt(store, "E2", missing="no goal g-1", visible_with="goal.read")  # a peer: may not even read it
    assert hidden.value.detail == "no goal g-1" and hidden.value.status == 404
    with pytest.raises(Forbidden):  # the indirect manager reads it, so a 403 tells them nothing new
        attempt(store, "VP", missing="no goal g-1", visible_with="goal.read")
    with pytest.raises(NotFound):  # without visible_with: 404 for every denial
        attempt(store, "VP", missing="no goal g-1")
    with pytest.raises(Forbidden):  # without missing: the 403 of old
        attempt(store, "E2")
    assert attempt(store, "M", missing="no goal g-1").allowed
    assert denials(store) == 4  # concealed or not, every denial is recorded
