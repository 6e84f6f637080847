"""Issue 8, goals 1-2, as use cases on the embedded default (SQLite) with a clock, so that time passes as it does
for a user: a goal on track in January is red by March (the sweep opens its review once), recovers in March (the
review is resolved by recovery), and a sweep of a later day is a preview that writes nothing."""
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from chassis.errors import InvalidInput
from chassis.migrations import upgrade
from chassis.uow import Store
from contracts import Actor, Envelope
from contracts import goals as c
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
from goals import models as m
from goals.repositories import GoalsUnitOfWork
from goals.usecases import cycles, goals, progress, status


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


@pytest.fixture
def world(sqlite_url):
    from chassis.access import apply_org_event

    upgrade("goals", sqlite_url)
    store = Store.from_url(sqlite_url, "goals")
    clock = {"now": at(date(2026, 1, 5))}

    def uow():
        return GoalsUnitOfWork(store, clock=lambda: clock["now"])

    with uow() as u:
        for event in (
                OrgUnitChanged(org_unit_id="co", version=1, name="Co"),
                PersonChanged(person_id="m", version=2, name="M", org_unit_id="co"),
                PersonChanged(person_id="e", version=3, name="E", org_unit_id="co", manager_id="m"),
                RoleGrantsChanged(subject_id="hr", version=4, grants=[RoleGrant(role="hr", org_unit_id="co")])):
            assert apply_org_event(u.session, Envelope.wrap(event))
    yield uow, clock
    store.engine.dispose()


def count(uow, model, *where):
    with uow() as u:
        return u.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_red_spell_on_sqlite_opens_one_review_and_recovery_resolves_it(world):
    uow, clock = world
    hr, e = Actor(subject="hr"), Actor(subject="e")
    cycle = cycles.create_cycle(uow(), hr, c.CreateCycle(name="FY2026", period="year", year=2026))
    cycles.transition_cycle(uow(), hr, c.TransitionCycle(cycle_id=cycle.id, to="open"))
    goal = goals.create_goal(uow(), e, c.CreateGoal.model_validate({
        "cycle_id": cycle.id, "title": "Docs", "kind": "okr", "weight": "50", "owner": {"kind": "person", "id": "e"},
        "key_results": [{"title": "pages", "target": "10"}]}))
    assert goal.colour != "red" and count(uow, m.Review) == 0  # on track in the first week

    clock["now"] = at(date(2026, 3, 1))
    preview = status.run_sweep(uow(), hr, date(2026, 4, 1))
    assert preview.preview and preview.turned_red == 1 and preview.reviews_opened == 1
    assert count(uow, m.Review) == 0 and count(uow, m.SweepRun) == 0  # nothing written
    swept = status.run_sweep(uow(), hr, date(2026, 3, 1))
    assert (swept.turned_red, swept.reviews_opened, swept.preview) == (1, 1, False)
    assert status.run_sweep(uow(), hr, date(2026, 3, 1)).reviews_opened == 0  # the same spell
    with pytest.raises(InvalidInput) as error:
        status.run_sweep(uow(), hr, date(1, 1, 1))
    assert error.value.errors[0]["field"] == "on"

    clock["now"] = at(date(2026, 3, 2))
    recorded = progress.record_progress(uow(), e, c.RecordProgress(goal_id=goal.id,
                                                                   key_result_id=goal.key_results[0].id, value=9))
    assert recorded.goal.colour == "green"
    assert count(uow, m.Review, m.Review.state == "resolved_by_recovery") == 1
    assert count(uow, m.Review, m.Review.state == "open") == 0
