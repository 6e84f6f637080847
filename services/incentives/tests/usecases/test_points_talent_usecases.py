"""Points, the reward menu and redemptions; development plans; the 9-box; analytics; data-subject requests — use
cases on SQLite."""
from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from contracts import Envelope
from contracts import incentives as c
from contracts.compliance import ErasureRequested, ExportSubjectData
from incentives import models as m
from incentives.usecases import analytics, inputs, people, points, talent


def team(world):
    world.org(units=[("co", None), ("ops", "co")],
              people=[("boss", "co", None, "M4"), ("m", "ops", "boss", "M2"),
                      ("e1", "ops", "m", "P5", date(2024, 1, 8)), ("e2", "ops", "m", "P3", date(2026, 10, 1)),
                      ("hr", "co", "boss")],
              grants={"hr": [("hr", "co")]})


def test_points_grants_redemptions_and_refunds_exactly_once(world):
    team(world)
    hr, mgr, e1, e2 = (world.actor(x) for x in ("hr", "m", "e1", "e2"))
    # a manager grants only within the unit's budget
    assert world.failure(points.grant, world.uow(), mgr, c.GrantPoints(person_id="e1", points=100, reason="demo")
                   ).errors[0]["field"] == "points"
    points.fund_budget(world.uow(), hr, c.FundPointsBudget(org_unit_id="ops", points=150))
    points.grant(world.uow(), mgr, c.GrantPoints(person_id="e1", points=100, reason="great demo"))
    assert world.failure(points.grant, world.uow(), e1,
                         c.GrantPoints(person_id="e1", points=1, reason="me")).status == 403
    assert world.failure(points.grant, world.uow(), e2,
                         c.GrantPoints(person_id="e1", points=1, reason="peer")).status == 403
    assert points.get_points(world.uow(), e1, c.PointsQuery(person_id="e1")).balance == 100
    assert world.failure(points.get_points, world.uow(), e2, c.PointsQuery(person_id="e1")).status == 403  # never peers
    assert points.get_budget(world.uow(), hr, c.BudgetQuery(org_unit_id="ops")).balance == 50
    points.save_reward(world.uow(), hr, c.SaveReward(code="flex_leave", name="弹性休假 1 day", cost=60, stock=1,
                                                     eligibility=c.EligibilityInput(min_grade="P4",
                                                                                    min_tenure_months=12)))
    points.save_reward(world.uow(), hr, c.SaveReward(code="trainer", name="内部讲师资格", cost=30, stock=None,
                                                     requires_approval=False))
    menu = {r.code: r for r in points.list_rewards(world.uow(), e2, c.ListRewards()).items}
    assert menu["flex_leave"].eligible is False and "grade" in menu["flex_leave"].why_not
    assert world.failure(points.redeem, world.uow(), e2, c.Redeem(reward_code="flex_leave"), world.settings
                   ).errors[0]["field"] == "reward_code"
    assert world.failure(points.redeem, world.uow(), e1, c.Redeem(reward_code="flex_leave", quantity=2), world.settings
                   ).errors[0]["field"] == "points"  # 120 > 100
    taken = points.redeem(world.uow(), e1, c.Redeem(reward_code="flex_leave"), world.settings)
    assert taken.status == "requested" and taken.waiting_for.person_id == "m"
    assert points.get_points(world.uow(), e1, c.PointsQuery(person_id="e1")).balance == 40
    points.grant(world.uow(), mgr, c.GrantPoints(person_id="e1", points=50, reason="again"))
    sold_out = world.failure(points.redeem, world.uow(), e1, c.Redeem(reward_code="flex_leave"), world.settings)
    assert sold_out.status == 422 and sold_out.errors[0]["field"] == "quantity"
    assert points.get_points(world.uow(), e1, c.PointsQuery(person_id="e1")).balance == 90  # nothing taken
    assert world.failure(points.approve_redemption, world.uow(), e1,
                         c.RedemptionRef(redemption_id=taken.id)).status == 403
    declined = points.decline_redemption(world.uow(), mgr, c.RedemptionRef(redemption_id=taken.id,
                                                                          reason="peak season"))
    assert declined.status == "declined" and declined.refunded
    for again in (points.decline_redemption, points.cancel_redemption):
        assert world.failure(again, world.uow(), mgr if again is points.decline_redemption else e1,
                       c.RedemptionRef(redemption_id=taken.id, reason="x")).status in (403, 422)
    assert points.get_points(world.uow(), e1, c.PointsQuery(person_id="e1")).balance == 150
    assert len(world.outbox("points.refunded.v1")) == 1
    # no approval needed: approved at once; cancelled by the person: refunded once
    trainer = points.redeem(world.uow(), e1, c.Redeem(reward_code="trainer"), world.settings)
    assert trainer.status == "approved"
    points.cancel_redemption(world.uow(), e1, c.RedemptionRef(redemption_id=trainer.id))
    assert points.get_points(world.uow(), e1, c.PointsQuery(person_id="e1")).balance == 150
    with world.uow() as uow:  # the ledger balances: every transaction sums to zero
        assert uow.session.scalar(select(func.sum(m.LedgerEntry.delta))) == 0
        assert uow.session.scalar(select(m.Reward.stock).where(m.Reward.code == "flex_leave")) == 1


def test_a_redemptions_writes_refuse_what_changed_since_its_read_and_write_nothing(world):
    """redeem() decides from a read with no lock; its writes (`spend_on_reward`) are conditional updates that see
    the committed rows: a balance spent or a stock taken since the read refuses there, and the unit of work's
    rollback leaves nothing behind (the balance is moved before the stock is tried)."""
    team(world)
    hr = world.actor("hr")
    points.fund_budget(world.uow(), hr, c.FundPointsBudget(org_unit_id="ops", points=100))
    points.grant(world.uow(), world.actor("m"), c.GrantPoints(person_id="e1", points=100, reason="demo"))
    points.save_reward(world.uow(), hr, c.SaveReward(code="last", name="核心项目参与权", cost=30, stock=1,
                                                     requires_approval=False))

    def spend(code, cost, quantity=1):
        now = world.clock()
        row = {"id": f"r-{code}-{cost}", "person_id": "e1", "reward_code": code, "quantity": quantity,
               "points": cost * quantity, "status": "approved", "approval": None, "refunded": False, "note": "",
               "created_at": now, "updated_at": now}
        entries = [{"transaction_id": f"t-{code}-{cost}", "account": account, "delta": delta, "kind": "redeemed",
                    "reason": "test", "ref": f"redemption:{row['id']}", "at": now}
                   for account, delta in (("person:e1", -cost * quantity), ("sink:redeemed", cost * quantity))]
        try:
            with world.uow() as uow:
                spent = uow.points.spend_on_reward(row, entries)
                if not spent.taken:
                    raise LookupError  # what redeem() does: a refusal rolls the unit of work back
                return spent
        except LookupError:
            return spent

    def state():
        with world.uow() as uow:
            return (uow.points.balance("person:e1"), uow.session.scalar(select(m.Reward.stock)
                                                                         .where(m.Reward.code == "last")),
                    uow.session.scalar(select(func.count()).select_from(m.Redemption)),
                    uow.session.scalar(select(func.count()).select_from(m.LedgerEntry)))

    before = state()
    assert spend("last", 101) == (False, False) and state() == before  # spent elsewhere since the read
    assert spend("last", 30, quantity=2) == (True, False) and state() == before  # stock taken since the read
    assert spend("last", 30) == (True, True)
    assert state() == (70, 0, before[2] + 1, before[3] + 2)
    assert spend("last", 30) == (True, False) and state() == (70, 0, before[2] + 1, before[3] + 2)  # sold out
    with world.uow() as uow:
        assert uow.session.scalar(select(func.sum(m.LedgerEntry.delta))) == 0


def test_concurrent_offer_reads_are_gathered_and_each_gets_its_own_row(world):
    """On PostgreSQL, redemptions asking for their offer at the same time share reads (OfferReads): each still gets
    its own row (its balance and card, the item as read after it asked), in fewer statements than asks."""
    import eventlet
    from sqlalchemy import event

    team(world)
    hr = world.actor("hr")
    points.fund_budget(world.uow(), hr, c.FundPointsBudget(org_unit_id="ops", points=100))
    points.grant(world.uow(), world.actor("m"), c.GrantPoints(person_id="e1", points=70, reason="demo"))
    points.save_reward(world.uow(), hr, c.SaveReward(code="last", name="核心项目参与权", cost=30, stock=3,
                                                     requires_approval=False))
    sent = []

    def count(*_):
        sent.append(1)

    def offer(person):
        with world.uow() as uow:
            return person, uow.points.offer("last" if person != "ghost" else "nothing", person)

    event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        asks = ["e1", "e2", "hr", "ghost"] * 10
        found = list(eventlet.GreenPool(40).imap(offer, asks))
    finally:
        event.remove(world.store.engine, "before_cursor_execute", count)
    for person, row in found:
        if person == "ghost":
            assert row is None  # no such reward
            continue
        assert (row.code, row.stock, row.person_id, row.balance) == ("last", 3, person, 70 if person == "e1" else 0)
        assert row.grade == {"e1": "P5", "e2": "P3", "hr": None}[person]
    if world.store.engine.dialect.name == "postgresql":
        assert len(sent) < len(asks)  # gathered


def test_concurrent_redemptions_of_the_last_items_beyond_the_stock_as_read_wait_instead_of_trying_the_write(world):
    """30 people redeem the last 3 items at once on green workers, as the service runs them: exactly 3 get one, the
    27 others a 422 naming `quantity`, nothing oversold, the ledger balanced and a refusal writes nothing. On
    PostgreSQL the ones whose read stock was already being written by others wait for those writes (StockGate)
    and are refused from a fresh read: the redemption's write statement runs once per winner, not for losers."""
    import eventlet
    from sqlalchemy import event

    from chassis.errors import to_service_error
    from incentives.domain import points as ledger

    crowd = [f"p{i:02d}" for i in range(30)]
    world.org(units=[("co", None), ("ops", "co")],
              people=[("hr", "co", None), *((p, "ops", "hr", "P5", date(2020, 1, 6)) for p in crowd)],
              grants={"hr": [("hr", "co")]})
    with world.uow() as uow:
        points.credit_many(uow, "earned", ledger.RULES, [(p, 100, "seed", f"seed:{p}") for p in crowd],
                           event_source="rule")
    points.save_reward(world.uow(), world.actor("hr"), c.SaveReward(code="last", name="核心项目参与权", cost=40,
                                                                    stock=3, requires_approval=False))
    writes = []

    def count(_conn, _cursor, statement, *_):
        if "WITH spent AS" in statement or statement.lstrip().upper().startswith("UPDATE INC_REWARDS"):
            writes.append(1)

    def redeem(person):
        try:
            return points.redeem(world.uow(), world.actor(person), c.Redeem(reward_code="last"), world.settings)
        except Exception as exc:  # the problem document it maps to is checked below
            return to_service_error(exc)

    event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        answers = list(eventlet.GreenPool(16).imap(redeem, crowd))
    finally:
        event.remove(world.store.engine, "before_cursor_execute", count)
    won = [a for a in answers if isinstance(a, c.RedemptionView)]
    lost = [a for a in answers if not isinstance(a, c.RedemptionView)]
    assert len(won) == 3 and all(a.status == "approved" for a in won)
    assert {(a.status, a.errors[0]["field"]) for a in lost} == {(422, "quantity")} and len(lost) == 27
    with world.uow() as uow:
        assert uow.session.scalar(select(m.Reward.stock).where(m.Reward.code == "last")) == 0
        assert uow.session.scalar(select(func.count()).select_from(m.Redemption)) == 3
        assert uow.session.scalar(select(func.sum(m.LedgerEntry.delta))) == 0
        spent = {p: uow.points.balance(f"person:{p}") for p in crowd}
    assert sorted(spent.values()) == [60] * 3 + [100] * 27
    assert len(world.outbox("points.redeemed.v1")) == 3
    if world.store.engine.dialect.name == "postgresql":
        assert len(writes) == 3  # the losers never queued behind the winners' lock on the stock's row


def test_development_plans_follow_finalized_and_amended_ratings(world):
    team(world)
    inputs.on_rating(world.uow(), world.rating("e1", "S", manager="m"), world.settings)
    plan = talent.get_idp(world.uow(), world.actor("e1"), c.IdpQuery(person_id="e1"))
    assert plan.track == "growth" and [a.code for a in plan.actions] == ["rotation", "external_training", "mentor"]
    assert plan.actions[0].owner_id == "m" and plan.actions[0].due_on == date(2027, 3, 2)
    assert world.failure(talent.get_idp, world.uow(), world.actor("e2"), c.IdpQuery(person_id="e1")).status == 403
    done = talent.complete_action(world.uow(), world.actor("e1"), c.CompleteIdpAction(
        plan_id=plan.id, action_code="external_training", note="AWS course booked"))
    assert done.progress == 33
    inputs.on_rating(world.uow(), world.rating("e1", "C", version=2, manager="m", reason="appeal lost"),
                     world.settings)
    plan = talent.get_idp(world.uow(), world.actor("m"), c.IdpQuery(person_id="e1"))
    assert plan.track == "improvement" and plan.version == 2 and plan.checkin_every_days == 14
    assert {a.code for a in plan.actions} >= {"improvement_goals", "checkin_cadence", "external_training"}
    inputs.on_rating(world.uow(), world.rating("e2", "B", manager="m"), world.settings)
    assert world.failure(talent.get_idp, world.uow(), world.actor("e2"), c.IdpQuery(person_id="e2")).status == 404
    assert [t for t, _ in world.outbox("idp.created.v1")] and len(world.outbox("idp.updated.v1")) == 1


def test_an_improvement_plan_amended_to_the_middle_of_the_scale_withdraws_its_open_actions(world):
    team(world)
    inputs.on_rating(world.uow(), world.rating("e1", "C", manager="m"), world.settings)
    plan = talent.get_idp(world.uow(), world.actor("e1"), c.IdpQuery(person_id="e1"))
    assert (plan.track, plan.rating_label, plan.version, plan.checkin_every_days) == ("improvement", "C", 1, 14)
    first = plan.actions[0].code
    talent.complete_action(world.uow(), world.actor(plan.actions[0].owner_id),
                           c.CompleteIdpAction(plan_id=plan.id, action_code=first, note="agreed"))
    amended = world.rating("e1", "B", version=2, manager="m", reason="appeal a-1 amended")
    inputs.on_rating(world.uow(), amended, world.settings)
    inputs.on_rating(world.uow(), amended, world.settings)  # delivered twice: one update
    plan = talent.get_idp(world.uow(), world.actor("e1"), c.IdpQuery(person_id="e1"))
    assert (plan.rating_label, plan.version, plan.checkin_every_days) == ("B", 2, None)
    assert [a.code for a in plan.actions] == [first]  # what was done stays as history; nothing is left to do
    assert len(world.outbox("idp.updated.v1")) == 1


def test_the_nine_box_from_rating_and_calibrated_potential(world):
    team(world)
    rubric = {"learning_agility": 5, "drive": 4, "leadership": 4, "scope": 4}
    assert world.failure(talent.assess_potential, world.uow(), world.actor("e1"), c.AssessPotential(
        person_id="e1", review_cycle_id="rc-2026", rubric=rubric), world.settings).status == 403
    assessed = talent.assess_potential(world.uow(), world.actor("m"), c.AssessPotential(
        person_id="e1", review_cycle_id="rc-2026", rubric=rubric), world.settings)
    assert assessed.potential == "high" and assessed.box is None  # no rating yet
    inputs.on_rating(world.uow(), world.rating("e1", "A", manager="m"), world.settings)
    view = talent.nine_box(world.uow(), world.actor("hr"), c.NineBoxQuery(review_cycle_id="rc-2026",
                                                                          org_unit_id="ops"), world.settings)
    star = next(cell for cell in view.cells if cell.code == "star")
    assert star.zh == "明星" and [p.person_id for p in star.people] == ["e1"]
    assert "promotion_nomination" in star.people[0].decisions
    calibrated = talent.calibrate_potential(world.uow(), world.actor("hr"), c.CalibratePotential(
        person_id="e1", review_cycle_id="rc-2026", potential="medium", reason="new in role"), world.settings)
    assert calibrated.box == "high_performer"
    assert [e[1]["box"] for e in world.outbox("ninebox.placed.v1")] == ["star", "high_performer"]
    assert world.failure(talent.nine_box, world.uow(), world.actor("m"), c.NineBoxQuery(
        review_cycle_id="rc-2026", org_unit_id="ops"), world.settings).status == 403


def test_rotation_is_flagged_to_hr_once_with_the_evidence(world):
    world.org(units=[("co", None), ("t", "co")],
              people=[("boss", "co", None), ("lead", "t", "boss"), *[(f"p{i}", "t", "lead") for i in range(5)],
                      ("hr", "co", "boss")], grants={"hr": [("hr", "co")]})
    cycles = ["rc-2022", "rc-2023", "rc-2024", "rc-2025", "rc-2026"]
    for k, cycle in enumerate(cycles):
        for i in range(5):  # p0 always attains most; the top rating goes round p1..p4
            label = "S" if i == k % 4 + 1 else "B"
            inputs.on_rating(world.uow(), world.rating(f"p{i}", label, cycle=cycle, manager="lead",
                                                       goals=str(100 - 20 * i)), world.settings)
    query = c.RotationQuery(org_unit_id="co", review_cycle_ids=cycles)
    report = analytics.detect_rotation(world.uow(), world.actor("hr"), query, world.settings)
    [group] = report.groups
    assert group.manager_id == "lead" and group.flagged and group.score == D("0.55")
    assert [(a.cycle, a.person_id) for a in group.awards][:2] == [("rc-2022", "p1"), ("rc-2023", "p2")]
    analytics.detect_rotation(world.uow(), world.actor("hr"), query, world.settings)
    [(_, suspected)] = world.outbox("rotation.suspected.v1")
    assert suspected["manager_id"] == "lead" and suspected["people"] == ["p1", "p2", "p3", "p4"]
    dist = analytics.distribution(world.uow(), world.actor("hr"), c.DistributionQuery(
        review_cycle_id="rc-2026", org_unit_id="co"), world.settings)
    assert {r.label: r.count for r in dist.overall if r.count} == {"S": 1, "B": 4}
    assert world.failure(analytics.detect_rotation, world.uow(), world.actor("lead"), query,
                         world.settings).status == 403


def test_export_and_erasure_of_a_person(world):
    team(world)
    points.fund_budget(world.uow(), world.actor("hr"), c.FundPointsBudget(org_unit_id="ops", points=100))
    points.grant(world.uow(), world.actor("m"), c.GrantPoints(person_id="e1", points=40, reason="help"))
    inputs.on_rating(world.uow(), world.rating("e1", "S", manager="m"), world.settings)
    assert world.failure(people.export_subject_data, world.uow(), world.actor("e2"),
                   ExportSubjectData(request_id="r1", subject="e1")).status == 403
    export = people.export_subject_data(world.uow(), world.actor("e1"), ExportSubjectData(request_id="r1",
                                                                                          subject="e1"))
    assert len(export.records["ratings"]) == 1 and len(export.records["ledger_entries"]) == 1
    assert len(export.records["development_plans"]) == 1
    erasure = Envelope.wrap(ErasureRequested(request_id="d1", person_id="e1", pseudonym="anon-1",
                                             services=["incentives"], holds=[]))
    people.erase_subject(world.uow(), erasure)
    gone = people.export_subject_data(world.uow(), world.actor("service:compliance", "service"),
                                      ExportSubjectData(request_id="r2", subject="e1"))
    assert all(not rows for rows in gone.records.values())
    with world.uow() as uow:
        assert uow.session.scalar(select(func.sum(m.LedgerEntry.delta))) == 0  # still balances
        assert uow.session.get(m.Balance, "person:anon-1").balance == 40
    [(_, done)] = world.outbox("erasure.completed.v1")
    assert done["person_id"] == "e1" and done["erased_records"] >= 3


def test_retention_purges_what_the_policy_says_and_keeps_what_a_hold_covers(world):
    from datetime import UTC, datetime

    from contracts.compliance import HoldRef, RetentionSweepRequested

    team(world)
    inputs.on_rating(world.uow(), world.rating("e1", "S", manager="m"), world.settings)
    inputs.on_rating(world.uow(), world.rating("e2", "B", manager="m"), world.settings)
    world.clock = lambda: datetime(2030, 1, 10, tzinfo=UTC)  # three years on
    sweep = RetentionSweepRequested(sweep_date="2030-01-10", policies={
        "incentives_rating": {"purge_after_years": 2}, "incentives_observation": {"anonymize_after_years": 1}},
        holds=[HoldRef(hold_id="h1", record_type="incentives_rating", record_ids=["r-e2-rc-2026"],
                       reason="appeal pending")])
    people.apply_retention(world.uow(), Envelope.wrap(sweep))
    with world.uow() as uow:
        assert sorted(uow.session.scalars(select(m.Rating.person_id))) == ["e2"]
    [(_, purged)] = world.outbox("records.purged.v1")
    assert purged["record_type"] == "incentives_rating" and purged["record_ids"] == ["r-e1-rc-2026"]


def test_recognition_and_ratings_earn_points_by_rule_once(world):
    from contracts.feedback import PraiseGiven
    from incentives.settings import IncentivesSettings

    team(world)
    rules = IncentivesSettings(praise_points=10, rating_points={"S": 300, "A": 100})
    praise = Envelope.wrap(PraiseGiven(praise_id="pr-1", person_id="e1", given_by="e2"))
    inputs.on_praise(world.uow(), praise, rules)
    inputs.on_praise(world.uow(), Envelope.wrap(PraiseGiven(praise_id="pr-1", person_id="e1", given_by="e2")), rules)
    inputs.on_praise(world.uow(), Envelope.wrap(PraiseGiven(praise_id="pr-2", person_id="e1", given_by="e1")), rules)
    inputs.on_rating(world.uow(), world.rating("e1", "S", manager="m"), rules)
    inputs.on_rating(world.uow(), world.rating("e1", "A", version=2, manager="m"), rules)  # no second payment
    assert points.get_points(world.uow(), world.actor("e1"), c.PointsQuery(person_id="e1")).balance == 310
    assert [e[1]["ref"] for e in world.outbox("points.earned.v1")] == ["praise:pr-1", "rating:r-e1-rc-2026"]


def test_rotation_computed_by_the_database_is_the_statistic_over_every_rating(world):
    """The report's set-wise path (newest versions, window counts, award rows only) gives exactly what the domain
    statistic gives over all the ratings in memory: generated teams with tied and unknown attainments, an amended
    rating, a rating without a manager and someone rated outside the unit asked about."""
    import random

    from incentives.domain.analytics import Rated
    from incentives.domain.analytics import detect_rotation as in_memory
    from incentives.usecases.common import members_of

    rng = random.Random(5)
    leads = {"l1": "t1", "l2": "t1", "l3": "t2"}
    people = [(f"{lead}-{i}", unit, lead) for lead, unit in leads.items() for i in range(5)]
    world.org(units=[("co", None), ("t1", "co"), ("t2", "co"), ("x", None)],
              people=[("boss", "co", None), *[(lead, unit, "boss") for lead, unit in leads.items()],
                      *[(p, unit, lead) for p, unit, lead in people], ("out", "x", None), ("hr", "co", "boss")],
              grants={"hr": [("hr", "co")]})
    cycles = ["rc-2023", "rc-2024", "rc-2025", "rc-2026"]
    for cycle in cycles:
        for person, _, lead in [*people, ("out", "x", "l1")]:
            inputs.on_rating(world.uow(), world.rating(
                person, rng.choice("SSABC"), cycle=cycle, manager=None if person == "l3-4" else lead,
                goals=rng.choice([None, "60", "80", "80", "95"])), world.settings)
    inputs.on_rating(world.uow(), world.rating("l1-0", "S", cycle="rc-2025", version=2, manager="l1", goals="99"),
                     world.settings)
    query = c.RotationQuery(org_unit_id="co", review_cycle_ids=cycles, threshold=D("0.1"))
    report = analytics.detect_rotation(world.uow(), world.actor("hr"), query, world.settings)
    order = {cycle: f"{i:03d}" for i, cycle in enumerate(cycles)}
    with world.uow() as uow:
        members = members_of(uow, "co")
        expected = in_memory([Rated(manager or "(none)", order[cycle], person, label, attainment)
                              for _, _, person, cycle, label, manager, attainment in uow.inputs.rotation_rows(cycles)
                              if person in members], top=tuple(world.settings.rotation_top_labels), threshold=0.1)
    assert "out" not in {a.person_id for g in report.groups for a in g.awards}
    assert {g.manager_id for g in report.groups} == {"l1", "l2", "l3", "(none)"}
    assert any(a.person_id == "l1-0" and a.cycle == "rc-2025" for g in report.groups for a in g.awards)
    assert [(g.manager_id, g.score, g.flagged) for g in report.groups] == [
        (g.group, analytics._dec(g.score), g.flagged) for g in expected]
    assert [[(a.cycle, a.person_id, a.label, a.percentile, a.explained) for a in g.awards] for g in report.groups] == [
        [(cycles[int(a.cycle)], a.person, a.label, analytics._dec(a.percentile), a.explained) for a in g.awards]
        for g in expected]
