"""Appeals name something real and the appellant's own (issue 8 item 6, issue 10 item 8): compliance asks the
owning service — the real goals service for a goal's result, a feedback stand-in implementing the
`describe_appeal_target` contract for a rating — as the appellant, with a timeout. HR business partners may take
an appeal up for review, never the appellant nor who rated. The decision carries what the owning service needs."""
from decimal import Decimal

import pytest

from chassis import Service, rpc
from chassis.errors import Forbidden, InvalidInput, ServiceUnavailable, Unprocessable
from chassis.testing.plugin import wait_for
from contracts.compliance import AppealTargetFacts, DescribeAppealTarget
from goals.service import GoalsService

RATINGS = {"rating-T-2026": AppealTargetFacts(owner_id="T", rated_by="G", org_unit_id="rd-p",
                                              current={"rating": "below"})}


class FeedbackStandIn(Service):
    """What feedback answers once it exists: the rating's facts, 404 for one the caller may not read."""

    name = "feedback"

    @rpc
    def describe_appeal_target(self, payload):
        from chassis.errors import NotFound
        query = DescribeAppealTarget.model_validate(payload)
        facts = RATINGS.get(query.ref)
        if facts is None or self.call.actor.subject not in (facts.owner_id, facts.rated_by):
            raise NotFound(f"no rating {query.ref!r}")
        return facts.model_dump(mode="json")


KPI = {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}


@pytest.fixture
def with_goals(start_compliance, seed_org, callers, pg_database):
    start_compliance({GoalsService: {"DATABASE_URL": pg_database("goals")}, FeedbackStandIn: {}},
                     APPEAL_TARGET_CHECKS="goal_result,rating", APPEAL_CHECK_TIMEOUT=2)
    seed_org()
    root = callers("root").compliance
    # H becomes HR of the whole company (cycles are company-wide); Q is the HRBP of R&D
    root.set_grants({"subject_id": "H", "grants": [{"role": "hr", "org_unit_id": "hq"}]})
    root.upsert_person({"person_id": "Q", "name": "HRBP R&D", "org_unit_id": "hrd"})
    root.set_grants({"subject_id": "Q", "grants": [{"role": "hrbp", "org_unit_id": "rd"}]})
    hr = callers("H").goals

    def cycle():
        try:
            return hr.create_cycle({"name": "FY2026", "period": "year", "year": 2026})
        except Forbidden:
            return None  # goals' read model has not caught up with the grant yet
    made = wait_for(cycle, message="goals knows H as company HR")
    hr.transition_cycle({"cycle_id": made["id"], "to": "open"})

    def goal_of(person):
        return callers(person).goals.create_goal({"cycle_id": made["id"], "title": f"Revenue of {person}",
                                                  "kind": "kpi", "owner": {"id": person}, "kpi": KPI})
    return {person: wait_for(lambda p=person: goal_of(p), message=f"goals knows {person}")["id"]
            for person in ("T", "P")}


def test_an_appeal_names_the_appellants_own_existing_goal(with_goals, callers, count_rows, audit_log):
    me = callers("T").compliance
    before = count_rows("compliance_appeals")
    for ref in ("no-such-goal", with_goals["P"]):  # missing, and a peer's: the same answer, nothing written
        with pytest.raises(Unprocessable) as raised:
            me.submit_appeal({"target_kind": "goal_result", "target_ref": ref, "reasons": "unfair"})
        assert raised.value.errors[0]["field"] == "target_ref"
        assert "of yours" in raised.value.detail
    assert count_rows("compliance_appeals") == before
    appeal = me.submit_appeal({"target_kind": "goal_result", "target_ref": with_goals["T"], "reasons": "unfair"})
    assert appeal["state"] == "submitted" and appeal["rated_by"] == "M"  # T's manager scores the goal

    # the HRBP of R&D investigates; the decision (HR) carries what goals needs to apply it
    hrbp = callers("Q").compliance
    assert hrbp.start_appeal_review({"appeal_id": appeal["appeal_id"]})["reviewer"] == "Q"
    hr = callers("H").compliance
    with pytest.raises(InvalidInput) as raised:  # what goals cannot apply is refused now, naming the field
        hr.decide_appeal({"appeal_id": appeal["appeal_id"], "outcome": "amended", "reason": "x",
                          "amendment": {"progress": "80"}})
    assert raised.value.errors[0]["field"] == "amendment.progress"
    decided = hr.decide_appeal({
        "appeal_id": appeal["appeal_id"], "outcome": "amended", "reason": "the Q4 target was moved in October",
        "amendment": {"target": "80"}})
    assert decided["state"] == "amended"
    [event] = audit_log.wait(lambda es: len(es) == 1, type="jixiao.compliance.appeal.decided.v1")
    data = event["data"]
    assert data["target_kind"] == "goal_result" and data["target_id"] == with_goals["T"] == data["target_ref"]
    assert data["owning_service"] == "goals" and data["reason"] == "the Q4 target was moved in October"
    [change] = data["changes"]  # before: the KPI target goals confirmed at submission
    assert change["field"] == "target" and Decimal(change["before"]) == 100 and change["after"] == "80"
    assert data["amendment"] == {"target": "80"} and data["decided_by"] == "H" and data["org_unit_id"] == "rd-p"
    # goals applies it: the goal's target is now 80, with the reason in its change trail
    goal = wait_for(lambda: (lambda g: g if Decimal(g["kpi"]["target"]) == 80 else None)(
        callers("T").goals.get_goal({"goal_id": with_goals["T"]})), message="goals applied the amendment")
    assert goal["id"] == with_goals["T"]


def test_a_rating_is_checked_with_feedback_and_who_rated_never_reviews(with_goals, callers):
    me = callers("T").compliance
    with pytest.raises(Unprocessable):
        me.submit_appeal({"target_kind": "rating", "target_ref": "rating-P-2026", "reasons": "x"})
    appeal = me.submit_appeal({"target_kind": "rating", "target_ref": "rating-T-2026", "reasons": "x"})
    assert appeal["rated_by"] == "G"
    # G (who rated; an indirect manager) and T (the appellant) never review, whatever grant they hold
    root = callers("root").compliance
    root.set_grants({"subject_id": "G", "grants": [{"role": "hrbp", "org_unit_id": "rd"}]})
    wait_for(lambda: root.get_grants({"person_id": "G"})["grants"], message="G is HRBP")
    with pytest.raises(Forbidden, match="rated"):
        callers("G").compliance.start_appeal_review({"appeal_id": appeal["appeal_id"]})
    with pytest.raises(Forbidden):
        me.start_appeal_review({"appeal_id": appeal["appeal_id"]})
    assert callers("Q").compliance.start_appeal_review({"appeal_id": appeal["appeal_id"]})["state"] == \
        "under_review"


def test_an_appeal_waits_for_no_silent_service(start_compliance, seed_org, callers, count_rows):
    """Feedback is not running: a rating cannot be confirmed, so the appeal is refused (503), never accepted
    unchecked."""
    start_compliance(APPEAL_TARGET_CHECKS="rating", APPEAL_CHECK_TIMEOUT=0.5)
    seed_org()
    with pytest.raises(ServiceUnavailable, match="feedback"):
        callers("T").compliance.submit_appeal({"target_kind": "rating", "target_ref": "r-1", "reasons": "x"})
    assert count_rows("compliance_appeals") == {"compliance_appeals": 0}
