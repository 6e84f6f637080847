"""CPU per call of goals' dashboard reads, in process (no broker, no nameko), on a fresh PostgreSQL database seeded
like bench/gateway's: a manager with 20 reports, three goals each (one left behind), an open yearly cycle.

    python bench/goals/dashboard_profile.py [--calls 300] [--profile team_dashboard|get_goal|get_cycle]

For each use case it prints the process CPU per call (time.process_time: this process's Python and driver work,
not PostgreSQL's; the contract validated and the answer dumped to JSON types, as the RPC method does) and the wall
time, beside `get_cycle` (one indexed read) measured in the same run, the reference the ratios are given to;
`composed` is the dashboard made of its sections' own use cases and `get_goal_before` get_goal with its three
reads, both as they were until 2026-12-03.
`--profile NAME` prints cProfile's top functions of that use case (cumulative time).
The database is dropped at the end.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this folder is called goals too: keep it off the path so that `goals` is the service package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


common = _load("bench_common", HERE.parent / "common.py")

from chassis.migrations import upgrade  # noqa: E402
from chassis.testing.infra import PgManager  # noqa: E402
from chassis.testing.usecases import UseCases  # noqa: E402
from contracts import goals as c  # noqa: E402
from goals import access, errors  # noqa: E402
from goals.repositories import GoalsUnitOfWork  # noqa: E402
from goals.usecases import board, cycles, dashboard, goals, negotiation, progress, status  # noqa: E402

TEAM = 20
NOW = datetime.now(UTC)


def seed(harness: UseCases) -> dict[str, str]:
    harness.org(units=[("U1", None, "Company")],
                people=[("M1", "U1", None), *((f"E{n}", "U1", "M1") for n in range(TEAM))],
                grants={"root": [("admin", "U1")], "hr": [("hr", "U1")]})
    hr = harness.actors.person("hr")
    cycle = harness.run(cycles.create_cycle, hr, c.CreateCycle(name="FY", period="year", year=NOW.year))
    harness.run(cycles.transition_cycle, hr, c.TransitionCycle(cycle_id=cycle.id, to="open"))
    goal_id = None
    for n in range(TEAM):
        person = harness.actors.person(f"E{n}")
        for g in range(3):
            goal = harness.run(goals.create_goal, person, c.CreateGoal.model_validate({
                "cycle_id": cycle.id, "title": f"Goal {g}", "kind": "kpi", "owner": {"kind": "person", "id": f"E{n}"},
                "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}}))
            if g:
                harness.run(progress.record_progress, person, c.RecordProgress(goal_id=goal.id, value="95"))
            goal_id = goal_id or goal.id
    # the manager's own OKR on milestones (outside their line): get_goal checked on key results and a schedule too
    okr = harness.run(goals.create_goal, harness.actors.person("M1"), c.CreateGoal.model_validate({
        "cycle_id": cycle.id, "title": "Objective", "kind": "okr", "owner": {"kind": "person", "id": "M1"},
        "key_results": [{"title": "Ship", "target": "10"}, {"title": "Sell", "target": "4", "weight": "2"}],
        "milestones": [{"on": f"{NOW.year}-06-30", "fraction": "0.5"}]}))
    return {"cycle_id": cycle.id, "goal_id": goal_id, "okr_id": okr.id}


def get_goal_before(uow, actor, command: c.GetGoal) -> c.GoalView:
    """get_goal as it was until 2026-12-03 (the reference): the goal, its cycle and its key results read apart."""
    from goals.access import GoalRef, require_read
    from goals.usecases.common import load_goal, no_goal
    from goals.views import goal_views

    with uow:
        goal = load_goal(uow, command.goal_id)
        require_read(uow, actor, GoalRef.of(goal), uow.cycles.get(goal.cycle_id), missing=no_goal(goal.id))
        return goal_views(uow, [goal])[0]


def composed(harness: UseCases, actor, cycle_id: str) -> c.TeamDashboard:
    """The dashboard as it was made until 2026-12-03 (the reference): its sections' own use cases, one unit of
    work each (board twice: the line's total, and its red goals)."""
    me, limit = actor.subject, 10
    line = {"cycle_id": cycle_id, "reports_of": me}
    return c.TeamDashboard(
        cycle_id=cycle_id, refused={},
        colours=board.board(harness.uow(actor), actor, c.BoardQuery(**line, limit=1)).total,
        at_risk=board.board(harness.uow(actor), actor, c.BoardQuery(**line, colour="red", limit=limit)).items,
        open_proposals=negotiation.list_proposals(harness.uow(actor), actor, c.ListProposals(
            cycle_id=cycle_id, state="open", awaiting="me", limit=limit)).items,
        pending_reviews=status.list_reviews(harness.uow(actor), actor, c.ListReviews(
            cycle_id=cycle_id, state="open", limit=limit)).items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", choices=("team_dashboard", "get_goal", "get_cycle", "composed", "get_goal_before"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    errors.register()
    access.register()
    pg = PgManager(common.PG)
    name = f"bench_dash_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    try:
        upgrade("goals", url)
        harness = UseCases(GoalsUnitOfWork, "goals", url, "postgresql")
        ids = seed(harness)
        manager = harness.actors.person("M1")
        # each call as the service's RPC method makes it: the contract validated, the use case, the answer dumped
        calls = {
            "get_cycle": lambda: cycles.get_cycle(harness.uow(manager), manager, c.GetCycle.model_validate(
                {"cycle_id": ids["cycle_id"]})).model_dump(mode="json"),
            "get_goal": lambda: goals.get_goal(harness.uow(manager), manager, c.GetGoal.model_validate(
                {"goal_id": ids["goal_id"]})).model_dump(mode="json"),
            "get_goal_before": lambda: get_goal_before(harness.uow(manager), manager, c.GetGoal.model_validate(
                {"goal_id": ids["goal_id"]})).model_dump(mode="json"),
            "team_dashboard": lambda: dashboard.team_dashboard(harness.uow(manager), manager, c.GetTeamDashboard
                                                               .model_validate({"cycle_id": ids["cycle_id"]}))
            .model_dump(mode="json"),
            "composed": lambda: composed(harness, manager, ids["cycle_id"]).model_dump(mode="json"),
        }
        answer = dashboard.team_dashboard(harness.uow(manager), manager, c.GetTeamDashboard(cycle_id=ids["cycle_id"]))
        assert answer == composed(harness, manager, ids["cycle_id"]), "the dashboard differs from its sections"
        for goal_id in (ids["goal_id"], ids["okr_id"]):
            read = c.GetGoal(goal_id=goal_id)
            assert goals.get_goal(harness.uow(manager), manager, read) == get_goal_before(
                harness.uow(manager), manager, read), "get_goal differs from before"
        print(f"dashboard: colours {answer.colours.count} goals ({answer.colours.red} red), "
              f"{len(answer.at_risk)} at risk, {len(answer.pending_reviews)} reviews, refused {answer.refused}")
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        results = {}
        for _ in range(2):  # the second round is the one reported (warm caches, interleaved)
            for label, call in calls.items():
                for _ in range(20):
                    call()
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(args.calls):
                    call()
                results[label] = ((time.process_time() - cpu) / args.calls * 1000,
                                  (time.perf_counter() - wall) / args.calls * 1000)
        reference = results["get_cycle"][0]
        for label, (cpu_ms, wall_ms) in results.items():
            print(f"  {label:<16} CPU {cpu_ms:6.3f} ms/call ({cpu_ms / reference:5.2f} x get_cycle)   "
                  f"wall {wall_ms:6.3f} ms")
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.calls):
                calls[args.profile]()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
        harness.close()
    finally:
        pg.drop(name)


if __name__ == "__main__":
    main()
