"""Issue 10 item 8 in feedback, as use cases on SQLite and PostgreSQL: whoever may not know a record exists gets,
for anything done to it by id, exactly the 404 of an id that does not exist — a 403 beside a 404 would confirm it
exists — while someone who may read the record but not do this gets the honest 403. The stranger's attempt is
still recorded as an access denial (compliance audits it). Records of December 2026, the period running now."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chassis.errors import Forbidden, ServiceError
from contracts import feedback as c
from feedback.domain import errors as domain
from feedback.usecases import activity, checkins, keyevents, reviews, surveys

from .test_feedback_reviews import FORMULA, items

GHOST = "00000000-0000-4000-8000-000000000000"  # an id nothing has


def refused(uc, who: str, use_case, command) -> BaseException:
    actor = uc.as_(who)
    try:
        result = use_case(uc.uow(actor), actor, command)
    except (ServiceError, domain.DomainError) as error:
        return error
    pytest.fail(f"{who}: expected a refusal, got {result!r}")


def same_as_missing(uc, who: str, use_case, existing, ghost, record_id: str, ghost_id: str = GHOST) -> None:
    """`who` gets for the existing record the very 404 a missing id gets (the id aside), and the try is audited."""
    denials = len(uc.events(".access.denied.v1"))
    hidden, missing = refused(uc, who, use_case, existing), refused(uc, who, use_case, ghost)
    assert isinstance(hidden, domain.NotFound) and isinstance(missing, domain.NotFound), (hidden, missing)
    assert (hidden.field, str(hidden).replace(record_id, ghost_id)) == (missing.field, str(missing)), (hidden,
                                                                                                      missing)
    assert len(uc.events(".access.denied.v1")) == denials + 1  # the existing record's refusal is recorded


def honest_403(uc, who: str, use_case, command) -> None:
    error = refused(uc, who, use_case, command)
    forbidden = isinstance(error, Forbidden) or (isinstance(error, domain.NotAllowed) and error.field == "actor")
    assert forbidden, f"{who}: expected 403, got {error!r}"


def test_checkins_and_key_events(uc):
    hr, mgr = uc.as_("hr"), uc.as_("mgr")
    [one] = [i for i in checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-12")).items
             if i.person_id == "rep1"]
    for use_case, command in ((checkins.get, c.GetCheckin), (checkins.sign_off, c.SignOffCheckin)):
        same_as_missing(uc, "outsider", use_case, command(checkin_id=one.id), command(checkin_id=GHOST), one.id)
    note = [c.CheckinPoint(section="obstacles", text="the demo environment")]
    same_as_missing(uc, "peer", checkins.add_notes, c.AddCheckinNotes(checkin_id=one.id, points=note),
                    c.AddCheckinNotes(checkin_id=GHOST, points=note), one.id)
    # the skip level reads rep1's check-in but is not a party to it
    honest_403(uc, "dir", checkins.sign_off, c.SignOffCheckin(checkin_id=one.id))
    assert checkins.get(uc.uow(uc.as_("dir")), uc.as_("dir"), c.GetCheckin(checkin_id=one.id)).id == one.id

    event = keyevents.record(uc.uow(mgr), mgr, c.RecordKeyEvent(person_id="rep1", polarity="negative",
                                                               title="missed the demo", occurred_on=date(2026, 12, 1)))
    same_as_missing(uc, "outsider", keyevents.respond, c.RespondKeyEvent(key_event_id=event.id, response="x"),
                    c.RespondKeyEvent(key_event_id=GHOST, response="x"), event.id)
    honest_403(uc, "mgr", keyevents.respond, c.RespondKeyEvent(key_event_id=event.id, response="x"))  # rep1's
    assert uc.scalar("select response from key_events") in (None, "")


def test_someone_elses_sales_opportunity(uc):
    rep1 = uc.as_("rep1")
    activity.register_customer(uc.uow(rep1), rep1, c.RegisterCustomer(customer_id="acme", name="ACME",
                                                                      latitude="31.2304", longitude="121.4737"))
    opp = activity.record_opportunity(uc.uow(rep1), rep1, c.RecordOpportunity(customer_id="acme", stage="lead",
                                                                             amount="120000"))
    move = c.RecordOpportunity(opportunity_id=opp.id, customer_id="acme", stage="won", amount="1")
    same_as_missing(uc, "rep2", activity.record_opportunity, move, move.model_copy(update={"opportunity_id": GHOST}),
                    opp.id)
    visit = c.RecordVisit(customer_id="acme", visited_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
                          check_in=c.CheckIn(latitude="31.2310", longitude="121.4740", accuracy_m="25"),
                          opportunity_id=opp.id)
    same_as_missing(uc, "rep2", activity.record_visit, visit, visit.model_copy(update={"opportunity_id": GHOST}),
                    opp.id)
    # their manager reads rep1's activity: plainly not theirs to move
    assert refused(uc, "mgr", activity.record_opportunity, move).field == "opportunity_id"
    assert uc.scalar("select stage from opportunities") == "lead" and uc.scalar("select count(*) from visits") == 0


def test_360_requests(uc):
    hr, mgr = uc.as_("hr"), uc.as_("mgr")
    surveys.save_questionnaire(uc.uow(hr), hr, c.SaveQuestionnaire(code="light", title="Light 360", questions=[
        c.QuestionInput(code="communication", text="沟通效率")]))
    opened = surveys.open_survey(uc.uow(mgr), mgr, c.OpenSurvey(
        subject_id="rep1", questionnaire_code="light", about="Q4 launch", reviewer_ids=["rep2", "rep3", "peer"],
        closes_on=date(2026, 12, 20)))
    same_as_missing(uc, "outsider", surveys.get, opened.id, GHOST, opened.id)
    same_as_missing(uc, "outsider", surveys.close, c.CloseSurvey(request_id=opened.id), c.CloseSurvey(
        request_id=GHOST), opened.id)
    answer = {"scores": {"communication": 4}}
    same_as_missing(uc, "outsider", surveys.answer, c.AnswerSurvey(request_id=opened.id, **answer),
                    c.AnswerSurvey(request_id=GHOST, **answer), opened.id)
    honest_403(uc, "dir", surveys.close, c.CloseSurvey(request_id=opened.id))  # reads it, did not open it
    honest_403(uc, "dir", surveys.answer, c.AnswerSurvey(request_id=opened.id, **answer))  # not invited
    assert uc.scalar("select count(*) from survey_answers") == 0
    assert uc.scalar("select state from surveys") == "open"


def test_reviews_and_ratings(uc):
    hr = uc.as_("hr")
    cycle = reviews.open_cycle(uc.uow(hr), hr, c.OpenReviewCycle(
        goals_cycle_id="2026", name="Year-end review 2026", formula=FORMULA, people=["rep1", "rep2"],
        deadlines={"self_review": date(2026, 12, 14), "manager_review": date(2026, 12, 21)},
        grades={"rep1": "P5", "rep2": "P5"}, approval_table={"*": ["hr"]}))
    for stage in ("self_review", "manager_review"):
        reviews.advance(uc.uow(hr), hr, c.AdvanceReviewCycle(cycle_id=cycle.id, to_stage=stage))
    manager_review = c.SubmitManagerReview(cycle_id=cycle.id, person_id="rep1", items=items(4))
    # "rep3" is in no review of this cycle: the outsider cannot tell rep1's review from a missing one
    same_as_missing(uc, "outsider", reviews.submit_manager, manager_review,
                    manager_review.model_copy(update={"person_id": "rep3"}), "rep1", "rep3")
    honest_403(uc, "dir", reviews.submit_manager, manager_review)  # the skip level reads it, the manager writes it
    peer_review = c.SubmitPeerReview(cycle_id=cycle.id, person_id="rep1", items=items(4))
    same_as_missing(uc, "outsider", reviews.submit_peer, peer_review,
                    peer_review.model_copy(update={"person_id": "rep3"}), "rep1", "rep3")
    honest_403(uc, "dir", reviews.submit_peer, peer_review)  # not asked by the manager
    mgr = uc.as_("mgr")
    for person in ("rep1", "rep2"):
        reviews.submit_manager(uc.uow(mgr), mgr, c.SubmitManagerReview(cycle_id=cycle.id, person_id=person,
                                                                       items=items(4)))
    reviews.advance(uc.uow(hr), hr, c.AdvanceReviewCycle(cycle_id=cycle.id, to_stage="calibration"))
    rating = {r.person_id: r for r in reviews.calibration(uc.uow(hr), hr, c.GetCalibration(cycle_id=cycle.id))
              .items}["rep1"]
    adjust = c.AdjustRating(rating_id=rating.id, label="B", reason="calibrated", expected_version=1)
    same_as_missing(uc, "outsider", reviews.adjust, adjust, adjust.model_copy(update={"rating_id": GHOST}),
                    rating.id)
    honest_403(uc, "mgr", reviews.adjust, adjust)  # the rater reads the rating, never calibrates it
    decide = c.DecideRating(rating_id=rating.id, decision="approve")
    same_as_missing(uc, "outsider", reviews.decide, decide, decide.model_copy(update={"rating_id": GHOST}),
                    rating.id)
    honest_403(uc, "mgr", reviews.decide, decide)  # reads it, is not its approver
    assert uc.scalar("select version from ratings where id = :id", id=rating.id) == 1  # nothing changed
