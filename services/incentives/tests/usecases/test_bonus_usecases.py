"""Bonus use cases on SQLite: the article's case (process rewards for reps with >= 5 valid leads a week and >= 30%
demo conversion, not for the others), proposals explaining every line through the approval chain by grade, budget
overruns, amended ratings, double deliveries and bad input (4xx naming the field, nothing written)."""
from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from contracts import incentives as c
from incentives import models as m
from incentives.settings import IncentivesSettings
from incentives.usecases import bonus, inputs, points

W48, MONDAY = "2026-W48", date(2026, 11, 23)
CASE_RULE = {"code": "leads_and_demos", "name": "周新增有效线索≥5条 且 Demo转化率≥30%", "period": "week",
             "condition": "valid_leads >= 5 and demo_conversion >= 0.3", "amount": "200"}



def sales_org(world):
    world.org(units=[("co", None), ("sales", "co"), ("rd", "co")],
              people=[("ceo", "co", None, "M5"), ("m", "sales", "ceo", "M2"), ("r1", "sales", "m", "P4"),
                      ("r2", "sales", "m", "P4"), ("r3", "sales", "m", "P4"), ("r4", "sales", "m", "P5"),
                      ("dev", "rd", "ceo", "P5"), ("hr", "co", "ceo"), ("bp", "co", "ceo")],
              grants={"hr": [("hr", "co")], "bp": [("hrbp", "sales")]})


def save_pool(world, budget="100000", code="sales_2026"):
    return bonus.save_pool(world.uow(), world.actor("hr"), c.SavePool(
        code=code, name="Sales 2026", org_unit_id="sales", review_cycle_id="rc-2026", starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31), budget=D(budget), multipliers={"S": D("1.5"), "A": D("1.2"), "B": D(1),
                                                                   "C": D("0.5"), "D": D(0)},
        base_amounts={"P4": D(10000), "P5": D(15000)}))


def settle_week(world, **rule):
    hr = world.actor("hr")
    bonus.save_process_rule(world.uow(), hr, c.SaveProcessRule(**{**CASE_RULE, **rule}))
    for person, valid, opportunities, demos in (("r1", 6, 10, 3), ("r2", 4, 10, 5), ("r3", 7, 10, 2),
                                                ("r4", 5, 3, 1)):
        inputs.on_weekly_leads(world.uow(), world.leads(person, W48, MONDAY, valid, opportunities, demos))
    return bonus.settle(world.uow(), hr, c.SettleProcessRewards(period=W48))


def test_the_articles_case_pays_the_reps_who_met_both_thresholds_once(world):
    sales_org(world)
    first = settle_week(world)
    assert (first.evaluated, first.earned, first.already_settled) == (4, 2, 0)
    hr = world.actor("hr")
    paid = {p: bonus.list_process_rewards(world.uow(), hr, c.ListProcessRewards(person_id=p)).items
            for p in ("r1", "r2", "r3", "r4")}
    assert [r.amount for r in paid["r1"]] == [D("200.00")] and [r.amount for r in paid["r4"]] == [D("200.00")]
    assert paid["r2"] == [] and paid["r3"] == []  # 4 leads; 20% conversion
    assert paid["r1"][0].inputs == {"valid_leads": "6", "demo_conversion": "0.3"}
    # settling again (the timer, a second HR click) pays nobody twice
    again = bonus.settle(world.uow(), hr, c.SettleProcessRewards(period=W48))
    assert (again.earned, again.already_settled) == (0, 2)
    # a points reward on the same thresholds goes to the ledger
    result = settle_week(world, code="leads_points", reward="points", amount="50")
    assert result.points_posted == 100
    assert points.get_points(world.uow(), world.actor("r1"), c.PointsQuery(person_id="r1")).balance == 50
    assert points.get_points(world.uow(), world.actor("r2"), c.PointsQuery(person_id="r2")).balance == 0
    assert [e[1]["person_id"] for e in world.outbox("points.earned.v1")] == ["r1", "r4"]


def test_a_proposal_explains_every_line_and_goes_through_the_chain(world):
    sales_org(world)
    save_pool(world)
    settle_week(world)
    inputs.on_rating(world.uow(), world.rating("r1", "A", manager="m"), world.settings)
    [proposal] = bonus.list_proposals(world.uow(), world.actor("r1"), c.ListBonusProposals(person_id="r1")).items
    rated, process = proposal.lines
    assert (rated.rule, rated.inputs["base"], rated.inputs["multiplier"], rated.result) == (
        "base * multiplier", "10000", "1.2", D("12000.00"))
    assert process.kind == "process_reward" and process.result == D("200.00")
    assert process.inputs == {"period": W48, "valid_leads": "6", "demo_conversion": "0.3"}
    assert proposal.total == D("12200.00") and proposal.status == "pending"
    assert [(a.step, a.person_id) for a in proposal.approvers] == [("direct_manager", "m"), ("hrbp", "bp")]
    # nobody approves their own bonus; not before their turn; to a peer it does not exist (the 404 of a missing one)
    assert world.failure(bonus.approve_proposal, world.uow(), world.actor("r1"),
                   c.DecideProposal(proposal_id=proposal.id), world.settings).status == 403
    assert world.failure(bonus.approve_proposal, world.uow(), world.actor("bp"),
                   c.DecideProposal(proposal_id=proposal.id), world.settings).status == 403
    assert world.failure(bonus.get_proposal, world.uow(), world.actor("r2"),
                   c.ProposalRef(proposal_id=proposal.id)).status == 404
    after_m = bonus.approve_proposal(world.uow(), world.actor("m"), c.DecideProposal(proposal_id=proposal.id),
                                     world.settings)
    assert after_m.waiting_for.person_id == "bp" and after_m.status == "pending"
    done = bonus.approve_proposal(world.uow(), world.actor("bp"), c.DecideProposal(proposal_id=proposal.id),
                                  world.settings)
    assert done.status == "approved" and done.waiting_for is None
    [(_, approved)] = world.outbox("bonus.approved.v1")
    assert approved["total"] == "12200.00" and approved["approved_by"] == ["m", "bp"]


def test_send_back_needs_a_reason_and_a_corrected_proposal_starts_again(world):
    sales_org(world)
    save_pool(world)
    inputs.on_rating(world.uow(), world.rating("r2", "B", manager="m"), world.settings)
    [proposal] = bonus.list_proposals(world.uow(), world.actor("m"), c.ListBonusProposals(person_id="r2")).items
    assert world.failure(bonus.send_back_proposal, world.uow(), world.actor("m"),
                   c.DecideProposal(proposal_id=proposal.id, reason=" ")).status == 400
    back = bonus.send_back_proposal(world.uow(), world.actor("m"),
                                    c.DecideProposal(proposal_id=proposal.id, reason="wrong grade"))
    assert back.status == "sent_back" and back.decisions[-1].reason == "wrong grade"
    again = bonus.propose(world.uow(), world.actor("hr"), c.ProposeBonus(pool_code="sales_2026", person_id="r2"),
                          world.settings)
    assert again.id == proposal.id and again.status == "pending" and again.waiting_for.person_id == "m"


def test_budget_overrun_is_warned_before_approval_and_refused_after(world):
    sales_org(world)
    save_pool(world, budget="20000")
    for person in ("r1", "r4"):
        inputs.on_rating(world.uow(), world.rating(person, "A", manager="m"), world.settings)
    proposals = {p.person_id: p for p in bonus.list_proposals(world.uow(), world.actor("hr"), c.ListBonusProposals(
        pool_code="sales_2026")).items}
    assert proposals["r1"].budget_warning is None  # 12,000 of 20,000
    assert "over budget" in proposals["r4"].budget_warning  # 18,000 more
    for person in ("r1", "r4"):
        bonus.approve_proposal(world.uow(), world.actor("m"), c.DecideProposal(proposal_id=proposals[person].id),
                               world.settings)
    bonus.approve_proposal(world.uow(), world.actor("bp"), c.DecideProposal(proposal_id=proposals["r1"].id),
                           world.settings)
    refused = world.failure(bonus.approve_proposal, world.uow(), world.actor("bp"),
                      c.DecideProposal(proposal_id=proposals["r4"].id), world.settings)
    assert refused.status == 422 and refused.errors[0]["field"] == "budget"
    still = bonus.get_proposal(world.uow(), world.actor("hr"), c.ProposalRef(proposal_id=proposals["r4"].id))
    assert still.status == "pending" and still.waiting_for.person_id == "bp"  # nothing written
    warn = IncentivesSettings(budget_overrun="warn")
    through = bonus.approve_proposal(world.uow(), world.actor("bp"),
                                     c.DecideProposal(proposal_id=proposals["r4"].id), warn)
    assert through.status == "approved" and "over budget" in through.budget_warning


def test_an_amended_rating_is_a_new_version_and_a_double_delivery_pays_once(world):
    sales_org(world)
    save_pool(world)
    finalized = world.rating("r3", "B", manager="m")
    inputs.on_rating(world.uow(), finalized, world.settings)
    inputs.on_rating(world.uow(), finalized, world.settings)  # the same envelope again
    # the same fact under another envelope id (a republish upstream)
    inputs.on_rating(world.uow(), world.rating("r3", "B", manager="m"), world.settings)
    assert len(world.outbox("bonus.proposed.v1")) == 1
    inputs.on_rating(world.uow(), world.rating("r3", "A", version=2, manager="m", reason="appeal A-7 amended"),
                     world.settings)
    versions = bonus.list_proposals(world.uow(), world.actor("hr"), c.ListBonusProposals(person_id="r3")).items
    assert [(p.version, p.status, p.rating_label, p.total) for p in versions] == [
        (2, "pending", "A", D("12000.00")), (1, "superseded", "B", D("10000.00"))]
    assert world.outbox("bonus.proposed.v1")[-1][1]["supersedes"] == versions[1].id
    # version 1 arriving late changes nothing
    inputs.on_rating(world.uow(), world.rating("r3", "B", manager="m"), world.settings)
    assert len(world.outbox("bonus.proposed.v1")) == 2


def test_bad_input_is_a_4xx_naming_the_field_and_nothing_is_written(world):
    sales_org(world)
    save_pool(world)
    hr = world.actor("hr")
    bad = world.failure(bonus.save_process_rule, world.uow(), hr, c.SaveProcessRule(
        **{**CASE_RULE, "condition": "valid_leads >= 5 and"}))
    assert bad.status == 400 and bad.errors[0]["field"] == "condition" and bad.errors[0]["position"] == 20
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(m.ProcessRule)) == 0
    inputs.on_rating(world.uow(), world.rating("dev", "A", manager="ceo"), world.settings)
    outside = world.failure(bonus.propose, world.uow(), hr, c.ProposeBonus(pool_code="sales_2026", person_id="dev"),
                      world.settings)
    assert outside.status == 400 and outside.errors[0]["field"] == "person_id"
    assert world.failure(bonus.save_pool, world.uow(), hr, c.SavePool(
        code="p2", name="x", org_unit_id="sales", review_cycle_id="rc", starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31), budget=D(1), multipliers={"A": D(1)}, default_base=D(1),
        formula="base * bonus")).errors[0]["field"] == "formula"
    # a manager cannot configure pools; a rep cannot propose their own bonus
    assert world.failure(bonus.propose, world.uow(), world.actor("r1"),
                   c.ProposeBonus(pool_code="sales_2026", person_id="r1"), world.settings).status == 403
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(m.Proposal)) == 0
