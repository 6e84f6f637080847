"""Over RabbitMQ and PostgreSQL: the article's case end to end (feedback's weekly activity events -> process
rewards for the reps who met both thresholds, and not for the others -> their bonus proposals through the approval
chain), a rating event delivered twice, goals' indicators as rule inputs, and 50 concurrent redemptions of the last
items in stock (no oversell)."""
from datetime import UTC, date, datetime
from decimal import Decimal

import eventlet

from chassis.testing.plugin import wait_for
from contracts import Envelope
from contracts.feedback import RatingFinalized, WeeklyLeadsCounted
from contracts.goals import GoalCreated, GoalProgressed, OwnerRef

W48, MONDAY = "2026-W48", date(2026, 11, 23)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def leads(person, valid, opportunities, demos):
    return Envelope.wrap(WeeklyLeadsCounted(person_id=person, manager_id=None, week=W48, week_start=MONDAY,
                                            visits=valid + 2, valid_leads=valid, opportunities=opportunities,
                                            demo_conversions=demos))


def test_the_articles_case_end_to_end(incentives_service, uid):
    s = incentives_service
    co, sales = f"{uid}-co", f"{uid}-sales"
    mgr, hr, bp = f"{uid}-m", f"{uid}-hr", f"{uid}-bp"
    reps = {f"{uid}-r{i}": counts for i, counts in enumerate([(6, 10, 3), (4, 10, 5), (7, 10, 2), (5, 3, 1)])}
    s.org(units=[(co, None), (sales, co)],
          people=[(mgr, sales, None, "M2"), (hr, co, None), (bp, co, None),
                  *[(rep, sales, mgr, "P4") for rep in reps]],
          grants={hr: [("hr", co)], bp: [("hrbp", sales)]})
    admin = s.as_(hr)
    bad = s.fails(admin.save_process_rule, {"code": f"r{uid}", "name": "x", "condition": "valid_leads >=",
                                            "amount": "200"})
    assert bad.status == 400 and bad.errors[0]["field"] == "condition"
    admin.save_process_rule({"code": f"leads_{uid}", "name": "周新增有效线索≥5条 且 Demo转化率≥30%",
                             "period": "week", "condition": "valid_leads >= 5 and demo_conversion >= 0.3",
                             "amount": "200"})
    admin.save_pool({"code": f"pool_{uid}", "name": "Sales 2026", "org_unit_id": sales,
                     "review_cycle_id": f"rc-{uid}", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                     "budget": "100000", "multipliers": {"A": "1.2", "B": "1"}, "base_amounts": {"P4": "10000"}})
    # feedback publishes each rep's week; a duplicate delivery is harmless
    s.publish(*(leads(rep, *counts) for rep, counts in reps.items()))
    s.publish(leads(f"{uid}-r0", 6, 10, 3))
    wait_for(lambda: s.scalar("select count(distinct person_id) from inc_observations where person_id like :p",
                              p=f"{uid}-%") == 4, message="weekly activity applied")
    settled = admin.settle_process_rewards({"period": W48})
    assert settled["earned"] >= 2  # other tests' reps may share the week; ours are checked below
    paid = {rep: admin.list_process_rewards({"person_id": rep})["items"] for rep in reps}
    assert [r["amount"] for r in paid[f"{uid}-r0"]] == ["200.00"] and [r["amount"] for r in paid[f"{uid}-r3"]] == [
        "200.00"]
    assert paid[f"{uid}-r1"] == [] and paid[f"{uid}-r2"] == []
    assert admin.settle_process_rewards({"period": W48})["earned"] == 0
    # the ratings arrive: one proposal per rep, even when feedback's event is delivered twice
    rating = Envelope.wrap(RatingFinalized(rating_id=f"rt-{uid}", person_id=f"{uid}-r0", review_cycle_id=f"rc-{uid}",
                                           goals_cycle_id="gc", label="A", score=Decimal(88), components=[],
                                           version=1, manager_id=mgr, finalized_at=NOW))
    s.publish(rating, rating)
    wait_for(lambda: s.scalar("select count(*) from inc_proposals where person_id = :p", p=f"{uid}-r0") == 1,
             message="proposal made")
    [proposal] = s.as_(f"{uid}-r0").list_bonus_proposals({"person_id": f"{uid}-r0"})["items"]
    assert proposal["total"] == "12200.00" and [line["kind"] for line in proposal["lines"]] == [
        "rated_bonus", "process_reward"]
    own = s.fails(s.as_(f"{uid}-r0").approve_bonus_proposal, {"proposal_id": proposal["id"]})
    assert own.status == 403 and own.errors[0]["field"] == "actor_id"
    # a peer learns nothing over the wire, not even that it exists: the answer for a missing proposal
    peer = s.fails(s.as_(f"{uid}-r1").get_bonus_proposal, {"proposal_id": proposal["id"]})
    missing = s.fails(s.as_(f"{uid}-r1").get_bonus_proposal, {"proposal_id": "00000000-0000-4000-8000-000000000000"})
    assert peer.status == missing.status == 404
    assert peer.errors[0]["field"] == missing.errors[0]["field"] == "proposal_id"
    s.as_(mgr).approve_bonus_proposal({"proposal_id": proposal["id"]})
    done = s.as_(bp).approve_bonus_proposal({"proposal_id": proposal["id"]})
    assert done["status"] == "approved"
    assert [e["person_id"] for _, e in s.events("bonus.approved.v1") if e["proposal_id"] == proposal["id"]] == [
        f"{uid}-r0"]
    assert s.scalar("select count(*) from inc_proposals where person_id = :p", p=f"{uid}-r0") == 1


def test_goals_indicators_feed_the_rules(incentives_service, uid):
    s = incentives_service
    co, rep, hr = f"{uid}-co", f"{uid}-rep", f"{uid}-hr"
    s.org(units=[(co, None)], people=[(rep, co, None), (hr, co, None)], grants={hr: [("hr", co)]})
    s.as_(hr).save_process_rule({"code": f"conv_{uid}", "name": "monthly conversion", "period": "month",
                                 "condition": f"conv_{uid} >= 30", "amount": "10", "reward": "points"})
    goal = f"g-{uid}"
    s.publish(Envelope.wrap(GoalCreated(goal_id=goal, cycle_id="c", parent_id=None, owner=OwnerRef(kind="person",
                                                                                                    id=rep),
                                        responsible_id=rep, org_unit_id=co, title="Demo conversion", kind="kpi",
                                        weight=Decimal(50), start_on=date(2026, 10, 1), due_on=date(2026, 12, 31),
                                        target=Decimal(30), unit="%", indicator_code=f"conv-{uid}")))
    wait_for(lambda: s.scalar("select count(*) from inc_tracked_goals where goal_id = :g", g=goal) == 1,
             message="goal tracked")
    s.publish(Envelope.wrap(GoalProgressed(goal_id=goal, cycle_id="c", responsible_id=rep, key_result_id=None,
                                           update_id=1, before_value=None, after_value=Decimal(34),
                                           before_progress=Decimal(0), after_progress=Decimal("1"),
                                           confidence=None, comment="", at=datetime(2026, 11, 20, tzinfo=UTC))))
    wait_for(lambda: s.scalar("select count(*) from inc_observations where person_id = :p", p=rep) == 2,
             message="indicator observed")
    s.as_(hr).settle_process_rewards({"period": "2026-11"})
    assert s.as_(rep).get_points({"person_id": rep})["balance"] == 10


def test_fifty_concurrent_redemptions_of_the_last_items_never_oversell(incentives_service, uid):
    s = incentives_service
    co = f"{uid}-co"
    hr, mgr = f"{uid}-hr", f"{uid}-m"
    people = [f"{uid}-p{i}" for i in range(50)]
    s.org(units=[(co, None)], people=[(mgr, co, None), (hr, co, None), *[(p, co, mgr) for p in people]],
          grants={hr: [("hr", co)]})
    s.as_(hr).fund_points_budget({"org_unit_id": co, "points": 5000})
    for p in people:
        s.as_(mgr).grant_points({"person_id": p, "points": 100, "reason": "quarter"})
    s.as_(hr).save_reward({"code": f"proj_{uid}", "name": "核心项目参与权", "cost": 80, "stock": 5,
                           "requires_approval": False})

    def attempt(person):
        try:
            return s.as_(person).redeem({"reward_code": f"proj_{uid}"})["status"]
        except Exception as error:
            return getattr(error, "errors", [{}])[0].get("field", repr(error))

    outcomes = list(eventlet.GreenPool(50).imap(attempt, people))
    assert outcomes.count("approved") == 5 and outcomes.count("quantity") == 45, outcomes
    assert s.scalar("select stock from inc_rewards where code = :c", c=f"proj_{uid}") == 0
    spent = s.scalar("select count(*) from inc_balances where account like :a and balance = 20", a=f"person:{uid}-%")
    assert spent == 5
    assert s.scalar("select sum(delta) from inc_ledger") == 0
