"""Issue 10 item 8: a caller who may not know a record exists gets, for anything done to it by id, exactly the 404
of a record that does not exist (a 403 beside a 404 would confirm existence); someone who may read the record but
not do what they ask still gets the honest 403. Every denial is recorded (access.denied) either way. On SQLite
and PostgreSQL, no broker; data in the quarter running now (Q4 2026, today 2026-12-02)."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from chassis.errors import ServiceError
from contracts import goals as c
from goals.usecases import allocation, commitments, goals, negotiation, progress, status

DENIED = "jixiao.goals.access.denied.v1"
MISSING = "00000000-0000-4000-8000-000000000000"

# (use case, the command on an id; the id's field) for every use case that takes a goal id
GOAL_ID_CALLS: list[tuple[Callable[..., Any], Callable[[str], Any], str]] = [
    (goals.get_goal, lambda g: c.GetGoal(goal_id=g), "goal_id"),
    (goals.update_goal, lambda g: c.UpdateGoal(goal_id=g, title="Mine now"), "goal_id"),
    (goals.list_goal_changes, lambda g: c.ListGoalChanges(goal_id=g), "goal_id"),
    (goals.get_goal_tree, lambda g: c.GetGoalTree(goal_id=g), "goal_id"),
    (progress.record_progress, lambda g: c.RecordProgress(goal_id=g, value=Decimal("50")), "goal_id"),
    (progress.list_progress, lambda g: c.ListProgress(goal_id=g), "goal_id"),
    (negotiation.get_negotiation, lambda g: c.GetNegotiation(goal_id=g), "goal_id"),
    (commitments.record_commitment, lambda g: c.RecordCommitment(goal_id=g, kind="training", description="A course"),
     "goal_id"),
    (commitments.list_commitments, lambda g: c.ListCommitments(goal_id=g), "goal_id"),
    (allocation.preview_allocation, lambda g: c.PreviewAllocation(parent_goal_id=g), "parent_goal_id"),
]


def same_problem(hidden: ServiceError, missing: ServiceError, hidden_id: str, missing_id: str) -> None:
    """The two answers are the same document but for the id the caller gave."""
    assert hidden.status == missing.status
    assert hidden.problem() == {**missing.problem(), "detail": missing.detail.replace(missing_id, hidden_id)}


@pytest.fixture
def reps_goal(service, open_q4, kpi_goal) -> Callable[[str], c.GoalView]:
    """rep's KPI goal in a Q4 cycle of the given visibility (running now)."""

    def make(visibility: str) -> c.GoalView:
        q4 = open_q4(visibility)
        return service.run(goals.create_goal, service.actors.person("rep"), kpi_goal(q4.id, "rep"))

    return make


@pytest.mark.parametrize("call", GOAL_ID_CALLS, ids=[call[0].__name__ for call in GOAL_ID_CALLS])
def test_a_stranger_gets_the_404_of_a_missing_goal_for_a_private_goal(service, fails, reps_goal, call):
    use_case, command, field = call
    goal = reps_goal("private")
    outsider = service.actors.person("outsider")
    mark = service.mark()
    hidden = fails(service.run, use_case, outsider, command(goal.id))
    missing = fails(service.run, use_case, outsider, command(MISSING))
    assert hidden.status == 404 and hidden.errors[0]["field"] == field
    same_problem(hidden, missing, goal.id, MISSING)
    assert [t for t, _ in service.events(mark)] == [DENIED]  # the probe is audited; the missing id is no denial
    assert service.scalar("select version from goals where id = :id", id=goal.id) == 1


def test_in_a_private_cycle_a_colleague_is_a_stranger_but_the_line_is_not(service, fails, reps_goal):
    goal = reps_goal("private")
    assert fails(service.run, goals.get_goal, service.actors.person("peer"), c.GetGoal(goal_id=goal.id)).status == 404
    # the manager reads it, so an action he may not take is an honest 403 (progress is the owner's account)
    refused = fails(service.run, progress.record_progress, service.actors.person("mgr"),
                    c.RecordProgress(goal_id=goal.id, value=Decimal("50")))
    assert refused.status == 403
    assert service.run(goals.get_goal, service.actors.person("hr"), c.GetGoal(goal_id=goal.id)).id == goal.id


def test_a_colleague_who_reads_a_company_goal_gets_an_honest_403_for_changing_it(service, fails, reps_goal):
    goal = reps_goal("company")
    outsider = service.actors.person("outsider")
    assert service.run(goals.get_goal, outsider, c.GetGoal(goal_id=goal.id)).id == goal.id
    for use_case, command in [(goals.update_goal, c.UpdateGoal(goal_id=goal.id, title="Mine now")),
                              (progress.record_progress, c.RecordProgress(goal_id=goal.id, value=Decimal("50"))),
                              (commitments.record_commitment,
                               c.RecordCommitment(goal_id=goal.id, kind="training", description="A course"))]:
        assert fails(service.run, use_case, outsider, command).status == 403, use_case.__name__
    # reads open to the company stay open; a missing id is still a 404
    assert fails(service.run, goals.get_goal, outsider, c.GetGoal(goal_id=MISSING)).status == 404


def test_a_unit_visible_goal_is_read_by_the_unit_and_hidden_from_the_rest(service, fails, reps_goal):
    goal = reps_goal("unit")
    peer, outsider = service.actors.person("peer"), service.actors.person("outsider")
    assert service.run(goals.get_goal, peer, c.GetGoal(goal_id=goal.id)).id == goal.id
    assert fails(service.run, goals.update_goal, peer, c.UpdateGoal(goal_id=goal.id, title="x")).status == 403
    assert fails(service.run, goals.update_goal, outsider, c.UpdateGoal(goal_id=goal.id, title="x")).status == 404


def test_a_hidden_parent_is_the_404_of_a_missing_parent(service, fails, reps_goal, kpi_goal):
    goal = reps_goal("private")
    outsider = service.actors.person("outsider")
    cycle_id = service.scalar("select cycle_id from goals where id = :id", id=goal.id)
    hidden = fails(service.run, goals.create_goal, outsider, kpi_goal(cycle_id, "outsider", parent_id=goal.id))
    missing = fails(service.run, goals.create_goal, outsider, kpi_goal(cycle_id, "outsider", parent_id=MISSING))
    assert hidden.errors[0]["field"] == "parent_id"
    same_problem(hidden, missing, goal.id, MISSING)
    assert service.scalar("select count(*) from goals") == 1


def test_a_proposal_on_a_hidden_goal_is_refused_as_for_a_missing_goal(service, fails, reps_goal):
    goal = reps_goal("private")
    outsider = service.actors.person("outsider")

    def propose(goal_id: str) -> c.ProposeChange:
        return c.ProposeChange(changes=[c.ChangeInput(goal_id=goal_id, field="target", value="80")],
                               rationale="market")

    hidden = fails(service.run, negotiation.propose, outsider, propose(goal.id))
    missing = fails(service.run, negotiation.propose, outsider, propose(MISSING))
    assert (hidden.status, hidden.errors) == (400, missing.errors) == (400, [{"field": "changes.0.goal_id",
                                                                            "message": "no such goal"}])
    assert hidden.detail == missing.detail


def test_answering_a_proposal_one_may_not_see_is_a_404_and_one_may_see_a_403(service, fails, reps_goal):
    goal = reps_goal("private")
    proposal = service.run(negotiation.propose, service.actors.person("rep"),
                           c.ProposeChange(changes=[c.ChangeInput(goal_id=goal.id, field="target", value="80")],
                                           rationale="the market shrank"))
    outsider, hr = service.actors.person("outsider"), service.actors.person("hr")
    mark = service.mark()
    hidden = fails(service.run, negotiation.answer, outsider, c.AnswerProposal(proposal_id=proposal.proposal_id),
                   "accept")
    missing = fails(service.run, negotiation.answer, outsider, c.AnswerProposal(proposal_id=MISSING), "accept")
    same_problem(hidden, missing, proposal.proposal_id, MISSING)
    counter = c.CounterProposal(proposal_id=proposal.proposal_id, rationale="no",
                                changes=[c.ChangeInput(goal_id=goal.id, field="target", value="85")])
    same_problem(fails(service.run, negotiation.counter, outsider, counter), missing, proposal.proposal_id, MISSING)
    # HR of the unit reads the goal and its negotiation, but is no party to it
    assert fails(service.run, negotiation.answer, hr, c.AnswerProposal(proposal_id=proposal.proposal_id),
                 "accept").status == 403
    assert [t for t, _ in service.events(mark)].count(DENIED) == 3
    assert service.run(negotiation.answer, service.actors.person("mgr"),
                       c.AnswerProposal(proposal_id=proposal.proposal_id), "accept").state == "accepted"


def test_completing_a_review_one_may_not_see_is_a_404_and_one_may_see_a_403(service, fails, open_q4, kpi_goal):
    q4 = open_q4("private")
    rep = service.actors.person("rep")
    goal = service.run(goals.create_goal, rep, kpi_goal(q4.id, "rep", kpi={
        "direction": ">=", "target": "100", "green": "100", "yellow": "90", "cumulative": True}))
    service.run(progress.record_progress, rep, c.RecordProgress(goal_id=goal.id, value=Decimal("5")))  # red
    review_id = service.scalar("select id from reviews where goal_id = :id", id=goal.id)
    assert review_id is not None
    done = c.CompleteReview(review_id=review_id, summary="Caught up with the key accounts")
    hidden = fails(service.run, status.complete_review, service.actors.person("outsider"), done)
    missing = fails(service.run, status.complete_review, service.actors.person("outsider"),
                    c.CompleteReview(review_id=MISSING, summary="x"))
    assert hidden.status == 404
    same_problem(hidden, missing, review_id, MISSING)
    assert fails(service.run, status.complete_review, service.actors.person("hr"), done).status == 403
    assert service.run(status.complete_review, service.actors.person("mgr"), done).state == "completed"


def test_updating_a_commitment_one_may_not_see_is_a_404_and_one_may_see_a_403(service, fails, reps_goal):
    goal = reps_goal("unit")
    promised = service.run(commitments.record_commitment, service.actors.person("mgr"),
                           c.RecordCommitment(goal_id=goal.id, kind="training", description="Negotiation course"))
    delivered = c.UpdateCommitment(commitment_id=promised.id, state="delivered")
    hidden = fails(service.run, commitments.update_commitment, service.actors.person("outsider"), delivered)
    missing = fails(service.run, commitments.update_commitment, service.actors.person("outsider"),
                    c.UpdateCommitment(commitment_id=MISSING, state="delivered"))
    assert hidden.status == 404
    same_problem(hidden, missing, promised.id, MISSING)
    # peer reads the goal (the cycle is open to the unit) but neither provided nor received the commitment
    assert fails(service.run, commitments.update_commitment, service.actors.person("peer"), delivered).status == 403
    assert service.scalar("select state from commitments where id = :id", id=promised.id) == "promised"
