"""The review form with the real goals service (issue 12 item 2), over RabbitMQ and PostgreSQL: feedback asks
goals, as the manager reading the form, for the person's goals in the review cycle's goals cycle and shows them
with their final progress and colour, and the score card of the template assigned to them, beside its own
evidence. The goals cycle is private (only the line reads it), so the goals shown are goals' own access decision
for the manager."""
from __future__ import annotations

import time
from decimal import Decimal

from chassis.errors import Forbidden
from chassis.testing.plugin import wait_for
from contracts import Actor
from feedback.service import FeedbackService
from goals.service import GoalsService

CONFIG = {"OUTBOX_POLL_INTERVAL": 0.2, "EVENT_RETRY_DELAYS": [0.05, 0.1], "FEEDBACK_SWEEP_SECONDS": 3600,
          "FEEDBACK_GOALS_EVIDENCE_TIMEOUT": 5}  # generous on a loaded CI machine; the unit tests cover a timeout
KPI = {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}
FORMULA = {"expression": "manager", "components": [{"name": "manager", "weight": "1", "required": True}],
           "scale": {"low": 1, "high": 5, "bands": [{"label": "A", "min": "3"}, {"label": "B", "min": "1"}]}}


def test_the_managers_review_form_shows_the_persons_goals_with_their_colour(
        pg_database, amqp_uri, run_services, rpc_client, harness_on):  # databases dropped after the services stop
    feedback_db = pg_database("feedback")
    run_services({FeedbackService: {"DATABASE_URL": feedback_db}, GoalsService: {"DATABASE_URL": pg_database("goals")}},
                 AMQP_URI=amqp_uri, **CONFIG)
    h = harness_on(amqp_uri, feedback_db)
    h.org(units=[("co", None), ("sales", "co")],
          people=[("dir", "sales", None), ("mgr", "sales", "dir"), ("rep1", "sales", "mgr"), ("hr", "co", None)],
          grants={"hr": [("hr", "co")]})

    def goals_as(who):
        return rpc_client(amqp_uri, actor=Actor(subject=who, kind="person")).goals

    def fy2026():
        try:
            return goals_as("hr").create_cycle({"name": "FY2026", "period": "year", "year": 2026,
                                                "visibility": "private"})
        except Forbidden:
            return None  # goals' read model has not caught up with the grant yet
    cycle = wait_for(fy2026, message="goals knows hr as company HR")
    # the sales preset's template gives rep1 goals from the library, hence a score card
    installed = goals_as("hr").install_preset({"code": "sales"})
    template = installed["templates"][0]
    assigned = goals_as("hr").assign_template({"template_code": template, "cycle_id": cycle["id"],
                                               "assignees": [{"person_id": "rep1"}]}, timeout=20)
    assert assigned["created"] == 1, assigned
    goals_as("hr").transition_cycle({"cycle_id": cycle["id"], "to": "open"})
    rep = goals_as("rep1")
    made = {}
    for title, weight, actual in (("Revenue", "0", "40"), ("New accounts", "0", "95")):  # the template holds 100
        made[title] = rep.create_goal({"cycle_id": cycle["id"], "title": title, "kind": "kpi", "weight": weight,
                                       "owner": {"id": "rep1"}, "kpi": KPI})
        rep.record_progress({"goal_id": made[title]["id"], "value": actual})
    expected = {g["title"]: g for g in rep.list_goals({"cycle_id": cycle["id"], "limit": 200})["items"]}
    assert expected["Revenue"]["colour"] == "red" and expected["New accounts"]["colour"] == "green"
    card = goals_as("mgr").get_scorecard({"cycle_id": cycle["id"], "person_id": "rep1", "template_code": template})

    review = h.as_("hr").open_review_cycle({"goals_cycle_id": cycle["id"], "name": "Year-end review 2026",
                                            "formula": FORMULA, "people": ["rep1"]})
    form = h.as_("mgr").get_review({"cycle_id": review["id"], "person_id": "rep1"})
    assert form["evidence_missing"] == []
    assert form["scorecards"] == [{"template_code": template, "total": card["total"], "items": card["items"]}]
    assert "checkins_held" in form["evidence"]  # feedback's own evidence beside goals'
    shown = {g["title"]: (g["kind"], Decimal(g["weight"]), Decimal(g["progress"]), g["colour"])
             for g in form["goals"]}
    assert shown == {t: (g["kind"], Decimal(g["weight"]), Decimal(g["progress"]), g["colour"])
                     for t, g in expected.items()}
    assert shown["Revenue"][3] == "red" and shown["New accounts"][3] == "green"
    assert shown["Revenue"][2] == Decimal("0.4")  # final progress as goals gives it (a fraction)


def test_without_goals_the_review_form_answers_in_time_and_names_the_missing_goals(
        pg_database, amqp_uri, run_services, harness_on):
    """No goals service at all: the form comes back within the budget (plus a margin), never a 500 or a hang."""
    feedback_db = pg_database("feedback")
    run_services({FeedbackService: {"DATABASE_URL": feedback_db}}, AMQP_URI=amqp_uri,
                 **{**CONFIG, "FEEDBACK_GOALS_EVIDENCE_TIMEOUT": 0.5})
    h = harness_on(amqp_uri, feedback_db)
    h.org(units=[("co", None), ("sales", "co")],
          people=[("mgr", "sales", None), ("rep1", "sales", "mgr"), ("hr", "co", None)],
          grants={"hr": [("hr", "co")]})
    review = h.as_("hr").open_review_cycle({"goals_cycle_id": "fy2026", "name": "Year-end review 2026",
                                            "formula": FORMULA, "people": ["rep1"]})
    started = time.monotonic()
    form = h.as_("mgr").get_review({"cycle_id": review["id"], "person_id": "rep1"})
    assert time.monotonic() - started < 5
    assert form["evidence_missing"] == ["goals"] and form["goals"] is None and "in time" in \
        form["evidence_notes"]["goals"]
    assert form["person_id"] == "rep1" and "checkins_held" in form["evidence"]
