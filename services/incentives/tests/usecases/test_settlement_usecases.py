"""The set-based settlement (inputs pivoted in the database, each distinct combination of a rule's inputs evaluated
once, rewards written in bulk) pays exactly what the rule pays each person on their own: generated weeks of
activity in the week running now, on SQLite and PostgreSQL."""
import random
from datetime import date

from sqlalchemy import select

from contracts import incentives as c
from incentives import models as m
from incentives.domain import bonus as rules
from incentives.usecases import bonus, inputs, points

WEEK, MONDAY = "2026-W49", date(2026, 11, 30)  # the week running now
RULES = [
    rules.ProcessRule("leads_and_demos", "周新增有效线索≥5条 且 Demo转化率≥30%", "week",
                      "valid_leads >= 5 and demo_conversion >= 0.3", "200", "cash"),
    rules.ProcessRule("busy_week", "many visits", "week", "visits >= 8", "visits * 10 + opportunities", "points"),
]


def test_the_bulk_settlement_pays_what_each_persons_rule_pays(world):
    people = [f"rep{i:02d}" for i in range(40)]
    world.org(units=[("co", None), ("sales", "co")],
              people=[("m", "sales", None), ("hr", "co", None), *((p, "sales", "m") for p in people)],
              grants={"hr": [("hr", "co")]})
    hr = world.actor("hr")
    for rule in RULES:
        bonus.save_process_rule(world.uow(), hr, c.SaveProcessRule(
            code=rule.code, name=rule.name, period=rule.period, condition=rule.condition, amount=rule.amount,
            reward=rule.reward))
    rng = random.Random(13)
    week = {}
    for person in people[:-5]:  # the last five sent no activity this week
        valid = rng.randint(0, 8)
        opportunities = rng.randint(0, 6)
        visits, demos = valid + rng.randint(0, 3), rng.randint(0, opportunities)
        week[person] = rules.weekly_lead_values(valid, visits, opportunities, demos)
        event = world.leads(person, WEEK, MONDAY, valid, opportunities, demos)
        event.data["visits"] = visits  # world.leads counts valid + 1 visits; vary them
        inputs.on_weekly_leads(world.uow(), event)

    settled = bonus.settle(world.uow(), hr, c.SettleProcessRewards(period=WEEK))

    expected = {(rule.code, person): rules.evaluate_process_rule(rule, values)
                for rule in RULES for person, values in week.items()}
    earned = {key: outcome for key, outcome in expected.items() if outcome.earned}
    assert 0 < len(earned) < len(expected)  # the generated week pays some and not others
    assert (settled.evaluated, settled.earned, settled.already_settled) == (2 * len(week), len(earned), 0)
    for person in people:
        paid = {r.rule_code: r for r in bonus.list_process_rewards(
            world.uow(), hr, c.ListProcessRewards(person_id=person)).items}
        assert set(paid) == {code for code, who in earned if who == person}, person
        for code, reward in paid.items():
            outcome = earned[(code, person)]
            assert reward.amount == outcome.amount and reward.period == WEEK
            assert reward.inputs == {k: rules.plain(v) for k, v in outcome.inputs.items()}
    points_due = {person: int(o.amount) for (code, person), o in earned.items() if code == "busy_week"}
    assert settled.points_posted == sum(points_due.values())
    for person in people:
        balance = points.get_points(world.uow(), hr, c.PointsQuery(person_id=person)).balance
        assert balance == points_due.get(person, 0), person
    assert len(world.outbox("points.earned.v1")) == len(points_due)
    # the ledger: two entries per points reward, one transaction each, the rules' source first, balanced; the
    # events name the transactions
    with world.uow() as uow:
        entries = uow.session.execute(select(m.LedgerEntry.id, m.LedgerEntry.transaction_id, m.LedgerEntry.account,
                                             m.LedgerEntry.delta, m.LedgerEntry.kind)
                                      .order_by(m.LedgerEntry.id)).all()
    settlement = [e for e in entries if e.kind == "earned"]
    assert len(settlement) == 2 * len(points_due) and sum(e.delta for e in entries) == 0
    by_txn = {}
    for entry in settlement:
        by_txn.setdefault(entry.transaction_id, []).append(entry)
    assert {txn: [(e.account, e.delta) for e in pair] for txn, pair in by_txn.items()} == {
        txn: [("source:rules", -points_due[pair[1].account.removeprefix("person:")]),
              (pair[1].account, points_due[pair[1].account.removeprefix("person:")])]
        for txn, pair in by_txn.items()}
    assert {(data["transaction_id"], data["person_id"]) for _, data in world.outbox("points.earned.v1")} == {
        (txn, pair[1].account.removeprefix("person:")) for txn, pair in by_txn.items()}

    again = bonus.settle(world.uow(), hr, c.SettleProcessRewards(period=WEEK))
    assert (again.earned, again.already_settled, again.points_posted) == (0, len(earned), 0)
    assert sum(1 for _ in world.outbox("points.earned.v1")) == len(points_due)
