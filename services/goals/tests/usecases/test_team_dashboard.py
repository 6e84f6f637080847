"""The manager's dashboard (usecases/dashboard.py, one call read as one) answers exactly what its sections' own
queries answer — the line's board total and its red goals (`board(reports_of=me)`), the proposals waiting for the
caller (`list_proposals`) and the caller's open reviews (`list_reviews`) — for every kind of caller, refusals
included (an unknown cycle, nobody authenticated, a client that may not read the line). Data in Q4 2026, now."""
from __future__ import annotations

from typing import Any

from chassis.errors import ServiceError
from contracts import goals as c
from goals.usecases import board, dashboard, goals, negotiation, progress, status


def composed_dashboard(service, actor, cycle_id: str, limit: int = 10) -> c.TeamDashboard:
    """The reference: each section from its own use case in its own unit of work (the dashboard as it was made
    until 2026-12-03), a refused section named with the problem its call answered."""
    me = actor.subject if actor is not None else None
    line = {"cycle_id": cycle_id, "reports_of": me}
    sections = {
        "colours": lambda: service.run(board.board, actor, c.BoardQuery(**line, limit=1)).total,
        "at_risk": lambda: service.run(board.board, actor, c.BoardQuery(**line, colour="red", limit=limit)).items,
        "open_proposals": lambda: service.run(negotiation.list_proposals, actor, c.ListProposals(
            cycle_id=cycle_id, state="open", awaiting="me", limit=limit)).items,
        "pending_reviews": lambda: service.run(status.list_reviews, actor, c.ListReviews(
            cycle_id=cycle_id, state="open", limit=limit)).items,
    }
    answered: dict[str, Any] = {}
    refused: dict[str, c.SectionRefused] = {}
    for name, section in sections.items():
        try:
            answered[name] = section()
        except ServiceError as error:
            refused[name] = c.SectionRefused(code=error.code, detail=error.detail)
    return c.TeamDashboard(cycle_id=cycle_id, refused=refused, **answered)


def team_dashboard(service, actor, cycle_id: str, limit: int = 10) -> c.TeamDashboard:
    return service.run(dashboard.team_dashboard, actor, c.GetTeamDashboard(cycle_id=cycle_id, limit=limit))


def test_the_dashboard_is_its_sections_for_every_caller(service, open_q4, kpi_goal):
    cycle = open_q4().id
    person = service.actors.person
    # a deeper line: boss > mgr > rep, peer; rep and peer behind (red), mgr on track; goals of an outsider apart
    made = {}
    for owner in ("rep", "peer", "mgr", "outsider", "rep", "peer"):
        made.setdefault(owner, []).append(service.run(goals.create_goal, person(owner), kpi_goal(cycle, owner)).id)
    service.run(progress.record_progress, person("mgr"), c.RecordProgress(goal_id=made["mgr"][0], value="95",
                                                                          confidence="0.8"))
    service.run(progress.record_progress, person("peer"), c.RecordProgress(goal_id=made["peer"][1], value="85"))
    service.run(status.run_sweep, person("hr"), service.now.date())
    # a proposal waiting for mgr (from rep) and one waiting for peer (from mgr): one open thread per pair
    service.run(negotiation.propose, person("rep"), c.ProposeChange(
        changes=[c.ChangeInput(goal_id=made["rep"][0], field="target", value="80")], rationale="too high"))
    service.run(negotiation.propose, person("mgr"), c.ProposeChange(
        changes=[c.ChangeInput(goal_id=made["peer"][1], field="target", value="85")], rationale="rebalance"))

    mine = team_dashboard(service, person("mgr"), cycle)
    # the data are what the test means: something in every section, so that a wrong query cannot pass unseen
    assert mine.refused == {}
    assert mine.colours.count == 4 and mine.colours.red >= 2, mine.colours  # rep and peer: mgr is not in their own line
    assert {g.owner.id for g in mine.at_risk} == {"rep", "peer"} and all(g.colour == "red" for g in mine.at_risk)
    assert [(p.owner_id, p.awaiting) for p in mine.open_proposals] == [("rep", "manager")]
    assert mine.pending_reviews and all(r.manager_id == "mgr" for r in mine.pending_reviews)

    client = service.actors.client("reporting-tool")
    for actor in (person("mgr"), person("boss"), person("rep"), person("hr"), person("outsider"), client, None):
        for limit in (10, 1):
            assert team_dashboard(service, actor, cycle, limit) == composed_dashboard(service, actor, cycle, limit), \
                (actor, limit)
    # refusals: an unknown cycle refuses the line's sections (the lists stand), as nobody authenticated does
    unknown = team_dashboard(service, person("mgr"), "no-such-cycle")
    assert set(unknown.refused) == {"colours", "at_risk"} and unknown.refused["colours"].code.endswith("not-found")
    assert unknown.open_proposals == [] and unknown.pending_reviews == []
    assert unknown == composed_dashboard(service, person("mgr"), "no-such-cycle")
    anonymous = team_dashboard(service, None, cycle)
    assert set(anonymous.refused) == {"colours", "at_risk"}
    refused_client = team_dashboard(service, client, cycle)
    assert set(refused_client.refused) == {"colours", "at_risk"}, refused_client
