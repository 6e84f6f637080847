"""Goals' use cases called directly on a migrated database — SQLite and PostgreSQL, one suite run on both — with
no broker, no nameko and no eventlet (chassis.testing.usecases): what the RPC tests show for cycles, goals and
progress, in a fraction of the time. Runs under plain `pytest` too. Data in the current period: today is
2026-12-02, in the cycle Q4 2026 (or the year 2026)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from contracts import goals as c
from goals.usecases import cycles, goals, progress

TODAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # the fixture's clock (conftest.py)


def test_only_hr_manages_cycles_and_a_denial_writes_nothing_but_its_audit_event(service, fails):
    mark = service.mark()
    for who in (service.actors.person("rep"), service.actors.anonymous()):
        error = fails(service.run, cycles.create_cycle, who, c.CreateCycle(name="Mine", period="year", year=2026))
        assert error.status == 403
    assert service.scalar("select count(*) from cycles") == 0
    assert [t for t, _ in service.events(mark)] == ["jixiao.goals.access.denied.v1"] * 2


def test_a_cycle_opens_once_and_a_stale_version_is_a_conflict(service, fails):
    hr = service.actors.person("hr")
    q4 = service.run(cycles.create_cycle, hr, c.CreateCycle(name="Q4", period="quarter", year=2026, index=4,
                                                           red_after_weeks=3))
    assert (q4.state, str(q4.starts_on), str(q4.ends_on), q4.red_after_weeks) == ("draft", "2026-10-01",
                                                                                 "2026-12-31", 3)
    assert fails(service.run, cycles.transition_cycle, hr,
                 c.TransitionCycle(cycle_id=q4.id, to="locked")).status == 422  # draft cannot lock
    stale = fails(service.run, cycles.transition_cycle, hr,
                  c.TransitionCycle(cycle_id=q4.id, to="open", expected_version=7))
    assert stale.status == 409 and stale.errors[0]["field"] == "expected_version"
    opened = service.run(cycles.transition_cycle, hr, c.TransitionCycle(cycle_id=q4.id, to="open",
                                                                        expected_version=q4.version))
    assert opened.state == "open" and opened.opened_at == TODAY and opened.version == 2
    assert [t for t, _ in service.events() if ".cycle." in t] == ["jixiao.goals.cycle.created.v1",
                                                                 "jixiao.goals.cycle.changed.v1"]


def test_an_employee_sets_his_own_goal_but_not_a_colleagues(service, fails, open_q4, kpi_goal):
    q4 = open_q4()
    rep = service.actors.person("rep")
    goal = service.run(goals.create_goal, rep, kpi_goal(q4.id, "rep"))
    assert goal.owner.id == "rep" and goal.weight == Decimal("40")
    before = service.scalar("select count(*) from goals")
    outsider = service.actors.person("outsider")
    assert fails(service.run, goals.create_goal, outsider, kpi_goal(q4.id, "rep")).status == 403
    assert service.scalar("select count(*) from goals") == before
    # the manager reads it; someone outside the line reads it only as the cycle's visibility allows
    assert service.run(goals.get_goal, service.actors.person("mgr"), c.GetGoal(goal_id=goal.id)).id == goal.id


def test_progress_far_behind_schedule_turns_a_goal_red_in_the_current_quarter(service, fails, open_q4, kpi_goal):
    q4 = open_q4()
    rep = service.actors.person("rep")
    goal = service.run(goals.create_goal, rep, kpi_goal(q4.id, "rep", kpi={
        "direction": ">=", "target": "100", "green": "100", "yellow": "90", "cumulative": True}))
    mark = service.mark()
    # two months of the quarter are gone (2 December): 5 of 100 is far behind what the schedule expects
    recorded = service.run(progress.record_progress, rep, c.RecordProgress(goal_id=goal.id, value=Decimal("5")))
    assert recorded.goal.id == goal.id and recorded.goal.colour == "red"
    assert service.run(goals.get_goal, rep, c.GetGoal(goal_id=goal.id)).colour == "red"
    published = [t for t, _ in service.events(mark)]
    assert "jixiao.goals.goal.progressed.v1" in published
    bad = fails(service.run, progress.record_progress, service.actors.person("outsider"),
                c.RecordProgress(goal_id=goal.id, value=Decimal("50")))
    assert bad.status == 403
    assert service.scalar("select count(*) from progress_updates") == 1


def test_the_same_suite_runs_on_both_databases(service):
    """The fixture is parametrised: this test exists once per backend, and the backend is the one it says."""
    dialect = service.engine.dialect.name
    assert dialect == service.backend
