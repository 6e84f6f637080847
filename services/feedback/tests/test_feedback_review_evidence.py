"""The review form's goals evidence (issue 12 item 2) as a use case: the person's goals and score card come from
a goals reader (an interface; here a fake that answers like goals, or does not answer in time), are added to
feedback's own evidence, and a goals that is late, refuses or answers nonsense leaves a view that still answers
and names the missing part."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chassis.errors import Forbidden, NotFound, RpcTimeout, Unprocessable
from contracts import feedback as c
from feedback.domain.errors import NotAllowed
from feedback.usecases import evidence, reviews

FORMULA = c.RatingFormulaSpec(
    expression="manager", components=[c.FormulaComponent(name="manager", weight="1", required=True)],
    scale=c.RatingScale(low=1, high=5, bands=[c.ScaleBand(label="A", min="3"), c.ScaleBand(label="B", min=1)]))


def goal(i: int, colour: str, progress: str, template: str | None = None) -> dict:
    """A GoalView as goals answers it (JSON)."""
    return {"id": f"g{i}", "cycle_id": "fy2026", "parent_id": None, "owner": {"kind": "person", "id": "rep1"},
            "responsible_id": "rep1", "org_unit_id": "sales", "title": f"Goal {i}", "description": "",
            "kind": "kpi", "weight": "50", "start_on": "2026-01-01", "due_on": "2026-12-31", "milestones": [],
            "key_results": [], "kpi": None, "own_progress": progress, "progress": progress, "confidence": None,
            "colour": colour, "colour_since": "2026-11-30", "resources_needed": [], "indicator_code": "rev",
            "template_code": template, "version": 3, "created_at": "2026-01-05T09:00:00Z",
            "updated_at": "2026-11-30T09:00:00Z"}


CARD = {"cycle_id": "fy2026", "person_id": "rep1", "template_code": "sales_rep", "total": "81.5",
        "items": [{"indicator": "rev", "value": "92", "target": "100", "points": "92", "weight": "50",
                   "weighted_points": "46"},
                  {"indicator": "leads", "value": None, "target": "20", "points": "0", "weight": "50",
                   "weighted_points": "0", "missing": True}]}


class FakeGoals:
    """Answers like the goals service (two pages of goals, one score card) or raises what the RPC client would."""

    def __init__(self, goals_error=None, card_error=None, pages=None):
        self.goals_error, self.card_error = goals_error, card_error
        self.pages = pages or [
            {"items": [goal(1, "red", "0.415", "sales_rep")], "next_cursor": "c1"},
            {"items": [goal(2, "green", "0.96", "sales_rep")], "next_cursor": None}]
        self.asked: list[tuple[str, dict]] = []

    def list_goals(self, payload):
        self.asked.append(("list_goals", payload))
        if self.goals_error:
            raise self.goals_error
        return self.pages[0 if payload.get("cursor") is None else 1]

    def get_scorecard(self, payload):
        self.asked.append(("get_scorecard", payload))
        if self.card_error:
            raise self.card_error
        return CARD


def review_cycle(uc):
    actor = uc.as_("hr")
    return reviews.open_cycle(uc.uow(actor), actor, c.OpenReviewCycle(
        goals_cycle_id="fy2026", name="Year-end review 2026", formula=FORMULA, people=["rep1", "rep2"]))


def read(uc, who, cycle_id, goals, person="rep1"):
    actor = uc.as_(who)
    return reviews.get_review(uc.uow(actor), actor, c.GetReview(cycle_id=cycle_id, person_id=person), goals)


def test_the_managers_review_form_shows_the_persons_goals_with_colour_and_the_score_card(uc):
    cycle = review_cycle(uc)
    goals = FakeGoals()
    view = read(uc, "mgr", cycle.id, goals)
    assert [(g.title, g.kind, g.weight, g.progress, g.colour) for g in view.goals] == [
        ("Goal 1", "kpi", Decimal(50), Decimal("0.415"), "red"),
        ("Goal 2", "kpi", Decimal(50), Decimal("0.96"), "green")]
    [card] = view.scorecards
    assert (card.template_code, card.total) == ("sales_rep", Decimal("81.5"))
    assert [(i.indicator, i.weighted_points, i.missing) for i in card.items] == [
        ("rev", Decimal(46), False), ("leads", Decimal(0), True)]
    assert view.evidence_missing == [] and "checkins_held" in view.evidence  # feedback's own evidence stays
    # the person's goals in the review cycle's goals cycle, every page; the template's card asked once
    assert goals.asked[0] == ("list_goals", {"cycle_id": "fy2026", "owner_id": "rep1", "limit": 200})
    assert goals.asked[1][1]["cursor"] == "c1"
    assert goals.asked[2] == ("get_scorecard", {"cycle_id": "fy2026", "person_id": "rep1",
                                                "template_code": "sales_rep"})


def test_when_goals_does_not_answer_in_time_the_form_answers_with_its_own_evidence_and_names_the_gap(uc):
    cycle = review_cycle(uc)
    view = read(uc, "mgr", cycle.id, FakeGoals(goals_error=RpcTimeout("goals.list_goals did not answer within 2s")))
    assert view.goals is None and view.scorecards == [] and view.evidence_missing == ["goals"]
    assert "in time" in view.evidence_notes["goals"]
    assert view.person_id == "rep1" and set(view.evidence) >= {"checkins_held", "coaching_received"}


def test_goals_refusing_the_reader_or_answering_nonsense_is_a_missing_part_never_an_error(uc):
    cycle = review_cycle(uc)
    refused = read(uc, "mgr", cycle.id, FakeGoals(goals_error=Forbidden("not yours")))
    assert refused.goals is None and refused.evidence_missing == ["goals"] and "403" in refused.evidence_notes["goals"]
    garbage = read(uc, "mgr", cycle.id, FakeGoals(pages=[{"items": [{"id": "g1"}], "next_cursor": None}]))
    assert garbage.goals is None and garbage.evidence_missing == ["goals"]


def test_no_score_card_is_not_a_gap_but_a_late_score_card_is(uc):
    cycle = review_cycle(uc)
    for error in (NotFound("no goals from template"), Unprocessable("cannot be computed yet")):
        view = read(uc, "mgr", cycle.id, FakeGoals(card_error=error))
        assert len(view.goals) == 2 and view.scorecards == [] and view.evidence_missing == []
    late = read(uc, "mgr", cycle.id, FakeGoals(card_error=RpcTimeout("goals.get_scorecard did not answer")))
    assert len(late.goals) == 2 and late.scorecards == [] and late.evidence_missing == ["scorecard"]
    no_template = FakeGoals(pages=[{"items": [goal(1, "yellow", "0.7")], "next_cursor": None}])
    view = read(uc, "mgr", cycle.id, no_template)
    assert [g.colour for g in view.goals] == ["yellow"] and view.scorecards == []
    assert [name for name, _ in no_template.asked] == ["list_goals"]  # no template: no score card asked


def test_goals_is_not_asked_for_a_reader_feedback_refuses(uc):
    cycle = review_cycle(uc)
    goals = FakeGoals()
    actor = uc.as_("outsider")
    with pytest.raises((NotAllowed, Forbidden)):
        reviews.get_review(uc.uow(actor), actor, c.GetReview(cycle_id=cycle.id, person_id="rep1"), goals)
    assert goals.asked == []


class SlowRpc:
    def __init__(self):
        self.timeouts: list[float] = []

    def call(self, target, payload, timeout):
        self.timeouts.append(timeout)
        raise RpcTimeout(f"{target} did not answer within {timeout:g}s")


def test_every_goals_call_shares_one_short_budget():
    rpc = SlowRpc()
    reader = evidence.RpcGoalsReader(rpc, timeout=0.5)
    found = evidence.read_goals(reader, "fy2026", "rep1")
    assert found.missing == ["goals"] and rpc.timeouts and rpc.timeouts[0] <= 0.5
    reader.deadline -= 1  # the budget is spent: nothing more is sent
    assert evidence.read_goals(reader, "fy2026", "rep1").missing == ["goals"] and len(rpc.timeouts) == 1
