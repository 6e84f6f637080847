"""The board's read models (goals/readmodels.py, kept by triggers): after random sequences of changes — goals
created (some under a parent, some of an org unit), progress and confidence recorded, weights and targets
changed, sweeps, reviews completed, people moving units and managers or joining the directory (directory events),
erasure, retention purges — the maintained aggregates (per unit, owner, manager line and cycle, and the reporting
lines themselves) equal a rebuild from scratch, and the board they answer equals the goals counted directly.
On SQLite (many examples) and on PostgreSQL (fewer), through the fast use-case fixture. Data in the current
period: Q4 2026, today 2026-12-02."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from chassis.errors import ServiceError
from contracts import goals as c
from contracts.compliance import ErasureRequested
from contracts.envelope import Envelope
from contracts.org import PersonChanged, PersonErased
from goals import access, readmodels
from goals.domain.board import BoardRow, aggregate
from goals.domain.errors import DomainError
from goals.gauges import read_gauges
from goals.repositories import GoalsUnitOfWork
from goals.usecases import board, cycles, goals, people, progress, retention, status

from .test_team_dashboard import composed_dashboard, team_dashboard

TODAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
Q4_START = date(2026, 10, 1)
PEOPLE = ("boss", "mgr", "rep", "rep2")
UNITS = ("hq", "sales", "ops")


@pytest.fixture
def service(use_cases):
    access.register()  # goals' actions in the chassis policy, as the service module registers them
    harness = use_cases(GoalsUnitOfWork, "goals")
    harness.now = TODAY
    harness.org(units=[("hq", None, "HQ"), ("sales", "hq", "Sales"), ("ops", "hq", "Ops")],
                people=[("boss", "hq", None), ("mgr", "sales", "boss"), ("rep", "sales", "mgr"),
                        ("rep2", "sales", "mgr"), ("hr", "hq", None)],
                grants={"hr": [("hr", "hq")]})
    return harness


def kpi(cycle_id: str, owner: str, weight: Decimal, target: Decimal, parent: str | None) -> c.CreateGoal:
    return c.CreateGoal.model_validate({
        "cycle_id": cycle_id, "title": "Closure rate", "kind": "kpi", "weight": str(weight), "parent_id": parent,
        "owner": {"kind": "person", "id": owner},
        "kpi": {"direction": ">=", "target": str(target), "unit": "%", "cumulative": True,
                "green": str(target), "yellow": str(target * Decimal("0.8"))}})


def okr(cycle_id: str, unit: str, weight: Decimal) -> c.CreateGoal:
    return c.CreateGoal.model_validate({
        "cycle_id": cycle_id, "title": "Unit objective", "kind": "okr", "weight": str(weight),
        "owner": {"kind": "org_unit", "id": unit}, "responsible_id": "boss",
        "key_results": [{"title": "Ship", "target": "10"}, {"title": "Sell", "target": "4", "weight": "2"}]})


amounts = st.decimals(min_value=0, max_value=200, places=2)
create = st.tuples(st.just("create"), st.sampled_from(PEOPLE), st.decimals(min_value=0, max_value=60, places=2),
                   st.decimals(min_value=1, max_value=500, places=1), st.booleans())
record = st.tuples(st.just("progress"), st.integers(0, 30), amounts,
                   st.none() | st.decimals(min_value=0, max_value=1, places=3))
others = st.one_of(
    st.tuples(st.just("create_unit_goal"), st.sampled_from(UNITS), st.decimals(min_value=0, max_value=100, places=2)),
    st.tuples(st.just("update"), st.integers(0, 30), st.decimals(min_value=0, max_value=60, places=2), amounts),
    st.tuples(st.just("sweep"), st.integers(0, (TODAY.date() - Q4_START).days)),
    st.tuples(st.just("clock"), st.integers(0, (TODAY.date() - Q4_START).days)),
    st.tuples(st.just("complete_review"), st.integers(0, 30)),
    st.tuples(st.just("move"), st.sampled_from(PEOPLE), st.sampled_from(UNITS)),
    st.tuples(st.just("erase"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("purge"), st.integers(0, 30)))
# a new manager for someone (or none, or one the directory does not know yet), and people joining (or coming back
# after erasure): "ghost" names nobody until it joins, when the people who named it join its line
directory = st.one_of(
    st.tuples(st.just("report"), st.sampled_from((*PEOPLE, "hr")), st.sampled_from((*PEOPLE, "hr", None, "ghost"))),
    st.tuples(st.just("join"), st.sampled_from(("ghost", "newbie", *PEOPLE)), st.sampled_from((*PEOPLE, None))),
    st.tuples(st.just("leave"), st.sampled_from(("ghost", *PEOPLE))))  # erased from the directory
# mostly goals and progress; now and then anything else
steps = st.lists(st.sampled_from([create, create, create, record, record, record, others, others, others, directory,
                                  directory])
                 .flatmap(lambda chosen: chosen), min_size=1, max_size=25)


class World:
    """What the random steps act on, across the examples of one test (one database: the property holds from any
    state the earlier examples left)."""

    def __init__(self, service):
        self.service = service
        self.hr = service.actors.person("hr")
        q4 = service.run(cycles.create_cycle, self.hr, c.CreateCycle(name="Q4 2026", period="quarter", year=2026,
                                                                    index=4))
        self.cycle = service.run(cycles.transition_cycle, self.hr, c.TransitionCycle(cycle_id=q4.id, to="open")).id
        self.versions = iter(range(1_000_000, 2_000_000))
        self.done: Counter[str] = Counter()
        self.history: list[tuple] = []  # every step tried, in order (the state carries over between examples)
        self.lines_counted = 0  # line cells that counted goals, summed over the checks

    def goal_ids(self) -> list[str]:
        return [r.id for r in self.service.rows("select id from goals where cycle_id = :c order by id", c=self.cycle)]

    def pick(self, index: int, sql: str = "select id from goals where cycle_id = :c order by id"):
        rows = self.service.rows(sql, c=self.cycle)
        return rows[index % len(rows)] if rows else None

    def step(self, action: str, *args) -> None:
        self.history.append((action, *args))
        s, person = self.service, self.service.actors.person
        if action == "create":
            owner, weight, target, under = args
            parent = self.pick(len(self.goal_ids())) if under else None
            s.run(goals.create_goal, person(owner), kpi(self.cycle, owner, weight, target,
                                                        parent.id if parent else None))
        elif action == "create_unit_goal":
            unit, weight = args
            s.run(goals.create_goal, person("boss"), okr(self.cycle, unit, weight))
        elif action == "progress":
            index, value, confidence = args
            row = self.pick(index, "select id, responsible_id, kind from goals where cycle_id = :c order by id")
            if row is None:
                return
            kr = None
            if row.kind == "okr":
                kr = s.rows("select id from key_results where goal_id = :g order by position", g=row.id)[0].id
            s.run(progress.record_progress, person(row.responsible_id),
                  c.RecordProgress(goal_id=row.id, key_result_id=kr, value=value, confidence=confidence))
        elif action == "update":
            index, weight, target = args
            row = self.pick(index, "select id, responsible_id, kind from goals where cycle_id = :c and "
                                   "owner_kind = 'person' order by id")
            if row is None:
                return
            s.run(goals.update_goal, person(row.responsible_id),
                  c.UpdateGoal(goal_id=row.id, weight=weight, kpi_target=target + 1 if row.kind == "kpi" else None))
        elif action == "sweep":
            s.run(status.run_sweep, self.hr, Q4_START + timedelta(days=args[0]))
        elif action == "clock":
            s.now = datetime.combine(Q4_START + timedelta(days=args[0]), TODAY.timetz())
            return
        elif action == "complete_review":
            row = self.pick(args[0], "select id, manager_id from reviews where cycle_id = :c and state = 'open' "
                                     "order by id")
            if row is None or row.manager_id is None:
                return
            s.run(status.complete_review, person(row.manager_id), c.CompleteReview(review_id=row.id, summary="ok"))
        elif action == "move":
            who, unit = args
            manager = {"boss": None, "mgr": "boss"}.get(who, "mgr")
            if self.would_loop(who, manager):
                return  # refused by the directory, as below
            # as the batching org handler gets it: a move through another unit and on, in one batch
            people.apply_directory_events(s.uow(s.actors.service("compliance")), [Envelope.wrap(PersonChanged(
                person_id=who, version=next(self.versions), name=f"name of {who}", org_unit_id=other,
                manager_id=manager)) for other in ("in-transit", unit)])
        elif action in ("report", "join"):
            who, manager = args
            if self.would_loop(who, manager):
                return  # the directory refuses a manager loop (compliance.domain.org), whoever is on it
            uow = s.uow(self.hr)
            with uow:
                unit = getattr(uow.access.index.person(who), "org_unit_id", None) or "sales"
            people.apply_directory_event(s.uow(s.actors.service("compliance")), Envelope.wrap(PersonChanged(
                person_id=who, version=next(self.versions), name=f"name of {who}", org_unit_id=unit,
                manager_id=manager)))
        elif action == "leave":
            people.apply_directory_event(s.uow(s.actors.service("compliance")), Envelope.wrap(PersonErased(
                person_id=args[0], pseudonym=f"p-{args[0]}", version=next(self.versions))))
        elif action == "erase":
            people.erase_subject(s.uow(s.actors.service("compliance")), Envelope.wrap(ErasureRequested(
                request_id=f"r{next(self.versions)}", person_id=args[0], pseudonym=f"p-{args[0]}",
                services=["goals"])))
        elif action == "purge":
            row = self.pick(args[0])
            if row is None:
                return
            uow = s.uow(s.actors.service("compliance"))
            with uow:
                retention.purge_goals(uow, [row.id])
        self.done[action] += 1

    def would_loop(self, who: str, manager: str | None) -> bool:
        """Would `who` reporting to `manager` close a loop in the directory's rows (people not known or erased
        included: compliance refuses a loop through anyone)?"""
        manager_of = {r.person_id: r.manager_id for r in self.service.rows(
            "select person_id, manager_id from chassis_org_people")}
        seen, at = set(), manager
        while at is not None and at not in seen:
            if at == who:
                return True
            seen.add(at)
            at = manager_of.get(at)
        return False

    def check(self) -> None:
        with self.service.engine.begin() as connection:
            differences = readmodels.check(connection)
        assert differences == {}, (differences, self.history[-12:])
        self.lines_counted += self.service.scalar("select count(*) from rm_board_lines where goal_count > 0")
        # the board the read models answer is the goals counted directly (domain/board.py's arithmetic): a unit
        # with its descendants, and a manager's line
        answer = self.service.run(board.board, self.hr, c.BoardQuery(cycle_id=self.cycle, org_unit_id="hq",
                                                                     limit=1))
        rows = self.service.rows("select id, org_unit_id, colour, progress, weight, confidence from goals "
                                 "where cycle_id = :c and org_unit_id in ('hq', 'sales', 'ops')", c=self.cycle)
        self.same(answer, rows)
        uow = self.service.uow(self.hr)
        with uow:
            line = uow.access.index.reporting_line("boss")
        goals_now = self.service.rows("select id, owner_id, colour, progress, weight, confidence from goals "
                                      "where cycle_id = :c", c=self.cycle)
        for manager in ("boss", "mgr", "ghost"):
            with self.service.uow(self.hr) as reading:
                index = reading.access.index
                line = index.reporting_line(manager)
                heads = {p for p in line if index.manager_of(p) == manager}
            answer = self.service.run(board.board, self.hr, c.BoardQuery(cycle_id=self.cycle, reports_of=manager,
                                                                         limit=100))
            rows = [r for r in goals_now if r.owner_id in line]
            self.same(answer, rows)
            assert sum(level.count for level in answer.levels) == answer.total.count
            assert {level.key for level in answer.levels} <= heads
            assert sorted(item.id for item in answer.items) == sorted(r.id for r in rows)[:100]
            # the manager's dashboard reads the line's own row of the read model, and its red goals, in one call:
            # the same as the board and lists it stands for
            me = self.service.actors.person(manager)
            assert team_dashboard(self.service, me, self.cycle) == composed_dashboard(self.service, me, self.cycle)

    @staticmethod
    def same(answer: c.Board, rows) -> None:
        expected = aggregate(BoardRow(r.id, "all", r.colour, Decimal(str(r.progress)), Decimal(str(r.weight)),
                                      None if r.confidence is None else Decimal(str(r.confidence))) for r in rows)
        total = answer.total
        if not rows:
            assert total.count == 0
            return
        want = expected["all"]
        assert (total.count, total.green, total.yellow, total.red) == (want.count, want.green, want.yellow, want.red)
        assert total.weighted_progress == want.weighted_progress
        assert total.average_confidence == want.average_confidence


def test_read_models_equal_a_rebuild_after_random_changes(service, database_backend):
    world = World(service)

    @settings(max_examples=25 if database_backend == "sqlite" else 8, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(steps)
    def run(sequence):
        for action, *args in sequence:
            try:
                world.step(action, *args)
            except (ServiceError, DomainError):
                world.done["refused"] += 1  # a refused change writes nothing: the read models must agree
            world.check()

    run()
    # the sequences did change things (a test that cannot fail is no test)
    assert world.done["create"] and world.done["progress"], world.done
    assert world.done["report"] + world.done["join"] + world.done["leave"], world.done
    assert service.scalar("select count(*) from rm_board_owners") > 0
    assert world.lines_counted > 0  # the lines held goals at times


def test_the_business_gauges_count_goals_of_running_cycles_by_colour_and_open_reviews(service):
    world = World(service)
    for owner in ("rep", "rep2", "mgr"):
        world.step("create", owner, Decimal(40), Decimal(90), False)
    world.step("sweep", (TODAY.date() - Q4_START).days)  # nothing recorded by December: red, with reviews
    raw = {r.colour: r.n for r in service.rows("select colour, count(*) as n from goals group by colour")}
    by_colour, reviews = read_gauges(service.engine, "goals")
    assert {s.labels["colour"]: s.value for s in by_colour.samples} == {"green": raw.get("green", 0),
                                                                        "yellow": raw.get("yellow", 0),
                                                                        "red": raw.get("red", 0)}
    assert raw.get("red") == 3
    assert [s.value for s in reviews.samples] == [3] == [service.scalar(
        "select count(*) from reviews where state = 'open'")]
    # a draft cycle's goals are not operators' business yet
    draft = service.run(cycles.create_cycle, world.hr, c.CreateCycle(name="FY 2027", period="year", year=2027))
    service.run(goals.create_goal, service.actors.person("rep"), kpi(draft.id, "rep", Decimal(10), Decimal(5), None))
    assert service.scalar("select count(*) from goals where cycle_id = :c", c=draft.id) == 1
    assert read_gauges(service.engine, "goals")[0].samples == by_colour.samples


def test_the_rebuild_command_restores_damaged_read_models(service):
    world = World(service)
    for owner in ("rep", "rep2"):
        world.step("create", owner, Decimal(40), Decimal(90), False)
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE rm_board_units SET goal_count = goal_count + 5"))
        connection.execute(text("DELETE FROM rm_board_owners"))
        assert set(readmodels.check(connection)) == {"rm_board_units", "rm_board_owners"}
    assert readmodels.main(["check", "--database-url", service.url]) == 1
    assert readmodels.main(["rebuild", "--database-url", service.url]) == 0
    assert readmodels.main(["check", "--database-url", service.url]) == 0
    answer = service.run(board.board, world.hr, c.BoardQuery(cycle_id=world.cycle, org_unit_id="sales"))
    assert answer.total.count == 2


def test_lines_follow_people_who_move_leave_and_come_back(service):
    """The directory's cases one by one, each checked against a rebuild and against the goals counted directly: a
    subtree moving under another manager, someone naming a manager the directory does not know yet (who then
    joins, bringing them into the lines above), a manager erased (their reports head their own lines) and back
    (their reports, still naming them, join their line again)."""
    world = World(service)
    for owner in ("rep", "rep2", "mgr", "boss"):
        world.step("create", owner, Decimal(40), Decimal(90), False)
    world.step("sweep", (TODAY.date() - Q4_START).days)  # red goals with open reviews, in the lines too
    assert service.scalar("select count(*) from reviews where state = 'open'") == 4
    world.check()
    sequence = [("report", "rep2", "rep"), ("report", "mgr", "hr"), ("report", "rep", "ghost"),
                ("join", "ghost", "boss"), ("report", "rep2", "mgr"), ("leave", "mgr"), ("join", "mgr", "boss")]
    for action, *args in sequence:
        world.step(action, *args)
        world.check()

    def line(manager: str) -> set[str]:
        return {r.person_id for r in service.rows("select person_id from rm_line_members where manager_id = :m",
                                                  m=manager)}

    def open_reviews(manager: str) -> int:
        return service.scalar("select coalesce(sum(open_reviews), 0) from rm_line_reviews where manager_id = :m",
                              m=manager)

    assert line("boss") == {"ghost", "rep", "rep2", "mgr"} and line("ghost") == {"rep"} and line("mgr") == {"rep2"}
    def counted(people: set[str]) -> int:
        return sum(1 for r in service.rows("select owner_id from reviews where state = 'open'") if r.owner_id in people)

    assert (open_reviews("boss"), open_reviews("ghost"), open_reviews("mgr")) == (counted(line("boss")), 1, 1)
    assert open_reviews("boss") == 3  # rep's, rep2's and mgr's
    world.step("report", "ghost", None)  # ghost's line leaves boss's
    world.check()
    assert line("boss") == {"mgr", "rep2"} and open_reviews("boss") == counted({"mgr", "rep2"})
