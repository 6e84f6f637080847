"""Pay and talent records are the person's, their line's and HR's only (issue 10, item 8): to anyone else an
existing proposal, pool, redemption, development plan, nomination or unpublished star answers exactly what a
missing one answers (the same 404 problem, the same field), so that a 403 never confirms that it exists. Someone
who may see the record but not do this gets the honest 403. Use cases on SQLite and PostgreSQL, in the review cycle
and the quarter running now."""
import json
from datetime import date
from decimal import Decimal as D

from chassis.errors import ServiceError
from contracts import incentives as c
from incentives.usecases import bonus, careers, inputs, points, talent

PANELS = {"technical": ["arch"], "management": ["vp"]}
MISSING = "00000000-0000-4000-8000-000000000000"



def assert_hidden(hidden: ServiceError, missing: ServiceError, real_id: str, missing_id: str = MISSING) -> None:
    """The stranger's problem document is the missing record's, word for word, but for the id asked about."""
    assert missing.status == 404 and missing.errors and missing.errors[0]["field"]
    assert json.dumps(hidden.problem(), sort_keys=True) == json.dumps(missing.problem(), sort_keys=True).replace(
        missing_id, real_id)


def org(world):
    world.org(units=[("co", None), ("sales", "co"), ("rd", "co")],
              people=[("vp", "co", None, "M5"), ("arch", "co", "vp", "P7"), ("m", "sales", "vp", "M2"),
                      ("r1", "sales", "m", "P4"), ("r2", "sales", "m", "P4"), ("dev", "rd", "vp", "P5"),
                      ("hr", "co", "vp"), ("bp", "co", "vp")],
              grants={"hr": [("hr", "co")], "bp": [("hrbp", "sales")]})
    world.settings = world.settings.model_copy(update={"promotion_panels": PANELS})


def test_a_strangers_bonus_proposal_and_pool_do_not_exist_for_them(world):
    failure = world.failure
    org(world)
    hr = world.actor("hr")
    bonus.save_pool(world.uow(), hr, c.SavePool(
        code="sales_2026", name="Sales 2026", org_unit_id="sales", review_cycle_id="rc-2026",
        starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), budget=D(100000),
        multipliers={"A": D("1.2"), "B": D(1)}, base_amounts={"P4": D(10000)}))
    inputs.on_rating(world.uow(), world.rating("r1", "A", manager="m"), world.settings)
    [proposal] = bonus.list_proposals(world.uow(), world.actor("r1"), c.ListBonusProposals(person_id="r1")).items
    decide = c.DecideProposal(proposal_id=proposal.id, reason="x")
    for stranger in ("r2", "dev"):  # a peer in the same team, someone in another unit
        actor = world.actor(stranger)
        assert_hidden(failure(bonus.get_proposal, world.uow(), actor, c.ProposalRef(proposal_id=proposal.id)),
                      failure(bonus.get_proposal, world.uow(), actor, c.ProposalRef(proposal_id=MISSING)),
                      proposal.id)
        assert_hidden(failure(bonus.approve_proposal, world.uow(), actor, decide, world.settings),
                      failure(bonus.approve_proposal, world.uow(), actor, decide.model_copy(
                          update={"proposal_id": MISSING}), world.settings), proposal.id)
        assert_hidden(failure(bonus.send_back_proposal, world.uow(), actor, decide),
                      failure(bonus.send_back_proposal, world.uow(), actor,
                              decide.model_copy(update={"proposal_id": MISSING})), proposal.id)
        assert_hidden(failure(bonus.get_pool, world.uow(), actor, c.PoolRef(code="sales_2026")),
                      failure(bonus.get_pool, world.uow(), actor, c.PoolRef(code="no_such_pool")),
                      "sales_2026", "no_such_pool")
        assert_hidden(failure(bonus.list_proposals, world.uow(), actor, c.ListBonusProposals(pool_code="sales_2026")),
                      failure(bonus.list_proposals, world.uow(), actor,
                              c.ListBonusProposals(pool_code="no_such_pool")), "sales_2026", "no_such_pool")
    # those who may read it but not do this are told so: the person, HR before the line manager's turn
    for reader in ("r1", "hr"):
        refused = failure(bonus.approve_proposal, world.uow(), world.actor(reader), decide, world.settings)
        assert refused.status == 403, reader
    assert bonus.get_proposal(world.uow(), world.actor("m"), c.ProposalRef(proposal_id=proposal.id)).id == proposal.id
    assert bonus.get_proposal(world.uow(), world.actor("bp"), c.ProposalRef(proposal_id=proposal.id)).id == proposal.id
    assert bonus.approve_proposal(world.uow(), world.actor("m"), decide, world.settings).waiting_for.person_id == "bp"


def test_a_strangers_redemption_does_not_exist_for_them(world):
    failure = world.failure
    org(world)
    hr, mgr, r1 = world.actor("hr"), world.actor("m"), world.actor("r1")
    points.fund_budget(world.uow(), hr, c.FundPointsBudget(org_unit_id="sales", points=500))
    points.grant(world.uow(), mgr, c.GrantPoints(person_id="r1", points=200, reason="the Q4 pipeline"))
    points.save_reward(world.uow(), hr, c.SaveReward(code="key_project", name="核心项目参与权", cost=100, stock=3))
    taken = points.redeem(world.uow(), r1, c.Redeem(reward_code="key_project"), world.settings)
    assert taken.status == "requested" and taken.waiting_for.person_id == "m"
    for stranger in ("r2", "dev"):
        actor = world.actor(stranger)
        for call in (points.approve_redemption, points.decline_redemption, points.cancel_redemption,
                     points.fulfil_redemption):
            assert_hidden(failure(call, world.uow(), actor, c.RedemptionRef(redemption_id=taken.id, reason="x")),
                          failure(call, world.uow(), actor, c.RedemptionRef(redemption_id=MISSING, reason="x")),
                          taken.id)
    # the person sees it but neither approves nor fulfils it; HR sees it but is not the approver
    assert failure(points.approve_redemption, world.uow(), r1, c.RedemptionRef(redemption_id=taken.id)).status == 403
    assert failure(points.fulfil_redemption, world.uow(), r1, c.RedemptionRef(redemption_id=taken.id)).status == 403
    assert failure(points.decline_redemption, world.uow(), hr,
                   c.RedemptionRef(redemption_id=taken.id, reason="x")).status == 403
    approved = points.approve_redemption(world.uow(), mgr, c.RedemptionRef(redemption_id=taken.id))
    assert approved.status == "approved"
    assert points.get_points(world.uow(), r1, c.PointsQuery(person_id="r1")).balance == 100  # nothing moved twice


def test_a_strangers_development_plan_does_not_exist_for_them(world):
    failure = world.failure
    org(world)
    inputs.on_rating(world.uow(), world.rating("r1", "C", manager="m"), world.settings)
    plan = talent.get_idp(world.uow(), world.actor("r1"), c.IdpQuery(person_id="r1"))
    action = plan.actions[0].code
    for stranger in ("r2", "dev"):
        actor = world.actor(stranger)
        assert_hidden(failure(talent.complete_action, world.uow(), actor,
                              c.CompleteIdpAction(plan_id=plan.id, action_code=action, note="done")),
                      failure(talent.complete_action, world.uow(), actor,
                              c.CompleteIdpAction(plan_id=MISSING, action_code=action, note="done")), plan.id)
    # HR reads the plan but the person and their line carry it out
    assert failure(talent.complete_action, world.uow(), world.actor("hr"),
                   c.CompleteIdpAction(plan_id=plan.id, action_code=action, note="done")).status == 403
    done = talent.complete_action(world.uow(), world.actor("r1"),
                                  c.CompleteIdpAction(plan_id=plan.id, action_code=action, note="done"))
    assert next(a for a in done.actions if a.code == action).done_on is not None


def test_a_strangers_nomination_and_unpublished_star_do_not_exist_for_them(world):
    failure = world.failure
    org(world)
    nomination = careers.nominate(world.uow(), world.actor("m"), c.Nominate(
        person_id="r1", sequence="management", target_level="M1", reason="leads the Q4 pipeline"))
    star = careers.nominate_star(world.uow(), world.actor("m"), c.NominateStar(
        person_id="r1", quarter="2026-Q4", title="Pipeline", goal_path="from 3 to 9 demos a week",
        learned="qualify early"), world.settings)
    for stranger in ("r2", "dev"):
        actor = world.actor(stranger)
        assert_hidden(failure(careers.get_nomination, world.uow(), actor,
                              c.NominationRef(nomination_id=nomination.id), world.settings),
                      failure(careers.get_nomination, world.uow(), actor,
                              c.NominationRef(nomination_id=MISSING), world.settings), nomination.id)
        decision = c.DecideNomination(nomination_id=nomination.id, outcome="promoted", reason="x")
        assert_hidden(failure(careers.decide_nomination, world.uow(), actor, decision, world.settings),
                      failure(careers.decide_nomination, world.uow(), actor,
                              decision.model_copy(update={"nomination_id": MISSING}), world.settings),
                      nomination.id)
        for call in (careers.approve_star, careers.publish_star):
            assert_hidden(failure(call, world.uow(), actor, c.StarRef(star_id=star.id)),
                          failure(call, world.uow(), actor, c.StarRef(star_id=MISSING)), star.id)
        assert_hidden(failure(careers.consent_star, world.uow(), actor, c.StarConsent(star_id=star.id, consent=True)),
                      failure(careers.consent_star, world.uow(), actor,
                              c.StarConsent(star_id=MISSING, consent=True)), star.id)
    # the person reads their nomination but does not decide it; the panel (of the other sequence too) is told no
    decision = c.DecideNomination(nomination_id=nomination.id, outcome="promoted", reason="x")
    assert failure(careers.decide_nomination, world.uow(), world.actor("r1"), decision, world.settings).status == 403
    assert careers.get_nomination(world.uow(), world.actor("vp"), c.NominationRef(nomination_id=nomination.id),
                                  world.settings).id == nomination.id
    # once published with the person's consent the story is public: a stranger is refused, not told it is missing
    careers.approve_star(world.uow(), world.actor("hr"), c.StarRef(star_id=star.id))
    careers.consent_star(world.uow(), world.actor("r1"), c.StarConsent(star_id=star.id, consent=True))
    careers.publish_star(world.uow(), world.actor("hr"), c.StarRef(star_id=star.id))
    assert failure(careers.approve_star, world.uow(), world.actor("r2"), c.StarRef(star_id=star.id)).status == 403
