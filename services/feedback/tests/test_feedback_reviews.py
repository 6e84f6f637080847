"""Review cycles (part 2) as use cases on SQLite and PostgreSQL, no broker: a Q4 2026 cycle from open to
published for a small org — stages and deadlines, scores on the scale, anonymous peers, the pinned formula with a
missing self review, calibration against a hard target with 409 for the stale calibrator, approval by grade,
finalize (RatingFinalized), acknowledge, the appeal check and an amended appeal (RatingAmended, once)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chassis.errors import ServiceError
from contracts import Envelope
from contracts import compliance as dsr
from contracts import feedback as c
from feedback.domain import errors as domain
from feedback.usecases import coaching, reviews

FORMULA = c.RatingFormulaSpec(
    expression="manager * 0.6 + self * 0.2 + peer * 0.2",
    components=[c.FormulaComponent(name="manager", weight="0.6", required=True),
                c.FormulaComponent(name="self", weight="0.2"), c.FormulaComponent(name="peer", weight="0.2")],
    scale=c.RatingScale(low=1, high=5, bands=[c.ScaleBand(label="S", min="4.5"), c.ScaleBand(label="A", min="3.75"),
                                              c.ScaleBand(label="B", min="2.75"), c.ScaleBand(label="C", min="2"),
                                              c.ScaleBand(label="D", min=1)]))
TARGET = c.DistributionTarget(groups={"top": ["S", "A"], "middle": ["B"], "bottom": ["C", "D"]},
                              target={"top": "0.34", "middle": "0.66", "bottom": "0"}, tolerance="0.05", hard=True)


def fails(call, *args) -> BaseException:
    try:
        result = call(*args)
    except (ServiceError, domain.DomainError) as error:
        return error
    pytest.fail(f"expected an error, got {result!r}")


def field_of(error) -> str:
    return error.field if isinstance(error, domain.DomainError) else error.errors[0]["field"]


def status_of(error) -> int:
    if isinstance(error, ServiceError):
        return error.status
    return {domain.InvalidInput: 400, domain.NotFound: 404, domain.Conflict: 409}.get(
        type(error), 403 if error.field == "actor" else 422)


def items(*scores, kind="goal"):
    return [c.ScoreItem(code=f"g{i}", kind=kind, score=s, comment=f"item {i}") for i, s in enumerate(scores)]


def call(uc, who, fn, command):
    actor = uc.as_(who)
    return fn(uc.uow(actor), actor, command)


def advance(uc, cycle_id, stage):
    return call(uc, "hr", reviews.advance, c.AdvanceReviewCycle(cycle_id=cycle_id, to_stage=stage))


def open_cycle(uc, **kw):
    return call(uc, "hr", reviews.open_cycle, c.OpenReviewCycle(
        goals_cycle_id="2026", name="Year-end review 2026", formula=FORMULA, people=["rep1", "rep2", "rep3"],
        **kw))


def test_a_cycle_from_open_to_published_with_calibration_approval_and_an_amended_appeal(uc):
    cycle = open_cycle(uc, deadlines={"self_review": date(2026, 12, 1), "manager_review": date(2026, 12, 18)},
                       distribution=TARGET, grades={"rep1": "P7", "rep2": "P5", "rep3": "P5"},
                       approval_table={"P>=7": ["direct_manager", "hr"], "*": ["direct_manager"]})
    assert cycle.stage == "draft" and cycle.formula.number == 1 and cycle.counts == {"not_started": 3}
    cid = cycle.id
    self_review = c.SubmitSelfReview(cycle_id=cid, items=items(4, 4))
    assert field_of(fails(call, uc, "rep1", reviews.submit_self, self_review)) == "stage"  # still a draft
    # the formula changes only by a new version with a reason
    bad = c.ReviseRatingFormula(cycle_id=cid, formula=FORMULA, reason=" ")
    assert field_of(fails(call, uc, "hr", reviews.revise_formula, bad)) == "reason"
    assert call(uc, "hr", reviews.revise_formula, c.ReviseRatingFormula(
        cycle_id=cid, formula=FORMULA, reason="peer weight confirmed by the committee")).number == 2
    # a stale click cannot skip a stage
    assert field_of(fails(advance, uc, cid, "manager_review")) == "to_stage"
    advance(uc, cid, "self_review")

    mine = call(uc, "rep1", reviews.submit_self, self_review)
    assert mine.state == "self_submitted" and mine.self_review.late  # the self review was due Dec 1
    # the manager waits for the self review window (the company's setting); a score off the scale names it
    early = c.SubmitManagerReview(cycle_id=cid, person_id="rep1", items=items(4, 5), peers=["peer", "dir", "hr"])
    assert field_of(fails(call, uc, "mgr", reviews.submit_manager, early)) == "stage"
    advance(uc, cid, "manager_review")
    off_scale = c.SubmitManagerReview(cycle_id=cid, person_id="rep2", items=items(3, 6))
    error = fails(call, uc, "mgr", reviews.submit_manager, off_scale)
    assert status_of(error) == 400 and field_of(error) == "items[1].score"
    assert uc.scalar("select manager_items from reviews where person_id = 'rep2'") is None  # nothing written
    late = call(uc, "hr", reviews.late_reviews, c.ListLateReviews(cycle_id=cid)).items
    assert {(x.person_id, x.stage, x.submitted_at is None) for x in late} == {
        ("rep1", "self_review", False), ("rep2", "self_review", True), ("rep3", "self_review", True)}
    # someone outside rep1's line may not even learn rep1 is reviewed (the 404 of a missing review); the
    # skip level reads the review but may not write the manager's part (an honest 403); the self review is closed
    assert status_of(fails(call, uc, "peer", reviews.submit_manager, early)) == 404
    assert status_of(fails(call, uc, "dir", reviews.submit_manager, early)) == 403
    assert field_of(fails(call, uc, "rep3", reviews.submit_self,
                          c.SubmitSelfReview(cycle_id=cid, items=items(5)))) == "stage"
    call(uc, "mgr", reviews.submit_manager, early)
    call(uc, "mgr", reviews.submit_manager, c.SubmitManagerReview(cycle_id=cid, person_id="rep2", items=items(3)))
    call(uc, "mgr", reviews.submit_manager, c.SubmitManagerReview(cycle_id=cid, person_id="rep3", items=items(2)))
    # peers: only the invited answer, anonymously; the subject sees counts until the minimum is met
    peer_review = c.SubmitPeerReview(cycle_id=cid, person_id="rep1", items=items(5, 5), comment="great partner")
    assert status_of(fails(call, uc, "rep2", reviews.submit_peer, peer_review)) == 404  # not asked, not the line
    for who in ("peer", "dir"):
        assert call(uc, who, reviews.submit_peer, peer_review) == c.Answered()
    assert field_of(fails(call, uc, "peer", reviews.submit_peer, peer_review)) == "person_id"  # twice
    seen = call(uc, "rep1", reviews.get_review, c.GetReview(cycle_id=cid))
    assert (seen.peer.answered, seen.peer.counted, seen.peer.average, seen.peer.comments) == (2, False, None, [])
    assert seen.manager_review is None and seen.rating is None  # not before publication
    call(uc, "hr", reviews.submit_peer, peer_review)
    seen = call(uc, "rep1", reviews.get_review, c.GetReview(cycle_id=cid))
    assert seen.peer.counted and seen.peer.average == 5 and seen.peer.comments == ["great partner"] * 3
    body = seen.model_dump_json()
    assert '"peer"' not in body.replace('"peer":', "") and "dir" not in body and '"hr"' not in body

    advance(uc, cid, "calibration")
    view = call(uc, "hr", reviews.calibration, c.GetCalibration(cycle_id=cid))
    ratings = {r.person_id: r for r in view.items}
    # rep1: 4.5*0.6 + 4*0.2 + 5*0.2 = 4.5 -> S; rep2 has no self review and no peers: neutral, 3 -> B (counted as
    # zero it would be 1.8, a D); rep3: 2 -> C
    assert {p: (r.label, r.score) for p, r in ratings.items()} == {
        "rep1": ("S", Decimal("4.5")), "rep2": ("B", Decimal(3)), "rep3": ("C", Decimal(2))}
    assert [(x.name, x.score) for x in ratings["rep2"].components] == [
        ("manager", Decimal(3)), ("self", None), ("peer", None)]
    assert {x.group: x.off for x in view.distribution} == {"top": False, "middle": True, "bottom": True}
    assert [a.person_id for a in ratings["rep1"].approvers] == ["dir", "hr"]  # P7: skip-level (mgr rated) + HR
    assert [a.person_id for a in ratings["rep2"].approvers] == ["dir"]
    assert {r.formula_version for r in ratings.values()} == {2}  # the version in force when rated

    # finalizing now: the hard distribution and the approvals stop it, nothing written
    assert field_of(fails(advance, uc, cid, "finalized")) == "approval"
    for person in ("rep1", "rep3"):
        call(uc, "dir", reviews.decide, c.DecideRating(rating_id=ratings[person].id, decision="approve"))
    # sent back with a reason, corrected by a calibrator (a new version), then the chain starts again
    back = call(uc, "dir", reviews.decide, c.DecideRating(rating_id=ratings["rep2"].id, decision="send_back",
                                                           reason="the score does not match the comments"))
    assert (back.approval_status, back.waiting_for) == ("sent_back", None)
    fixed = call(uc, "hr", reviews.adjust, c.AdjustRating(rating_id=ratings["rep2"].id, label="B", score="3.2",
                                                          reason="aligned with the comments", expected_version=1))
    assert (fixed.approval_status, fixed.waiting_for, fixed.version) == ("pending", "dir", 2)
    call(uc, "dir", reviews.decide, c.DecideRating(rating_id=ratings["rep2"].id, decision="approve"))
    nodes = [(e["data"]["person_id"], e["data"]["status"]) for _, e in uc.events(".rating.approval.v1")]
    assert ("rep2", "sent_back") in nodes and nodes.count(("rep2", "complete")) == 1
    sent = c.DecideRating(rating_id=ratings["rep1"].id, decision="send_back")
    assert field_of(fails(call, uc, "hr", reviews.decide, sent)) == "reason"
    call(uc, "hr", reviews.decide, c.DecideRating(rating_id=ratings["rep1"].id, decision="approve"))
    assert field_of(fails(advance, uc, cid, "finalized")) == "distribution.middle"
    assert uc.scalar("select stage from review_cycles") == "calibration"

    # calibration: a reason is mandatory; two calibrators on one rating: the second gets 409
    change = {"rating_id": ratings["rep3"].id, "label": "B", "expected_version": 1}
    assert field_of(fails(call, uc, "dir", reviews.adjust, c.AdjustRating(**change, reason=""))) == "reason"
    assert status_of(fails(call, uc, "mgr", reviews.adjust, c.AdjustRating(**change, reason="x"))) == 403
    after = call(uc, "dir", reviews.adjust, c.AdjustRating(**change, reason="delivered the Q4 migration"))
    assert (after.label, after.score, after.version) == ("B", Decimal("2.75"), 2)
    # dir had approved the C: the changed rating needs approving again
    assert (after.approval_status, after.waiting_for) == ("pending", "dir")
    assert field_of(fails(advance, uc, cid, "finalized")) == "approval"
    call(uc, "dir", reviews.decide, c.DecideRating(rating_id=after.id, decision="approve"))
    assert [(h.kind, h.label) for h in after.history] == [("computed", "C"), ("calibration", "B")]
    stale = fails(call, uc, "hr", reviews.adjust, c.AdjustRating(**{**change, "label": "A"}, reason="other view"))
    assert status_of(stale) == 409 and field_of(stale) == "expected_version"
    session = call(uc, "hr", reviews.record_session, c.RecordCalibrationSession(
        cycle_id=cid, attendees=["dir", "hr", "mgr"], decisions=["rep3 up to B: migration"]))
    assert [(a.label, a.reason) for a in session.adjustments] == [("B", "aligned with the comments"),
                                                                  ("B", "delivered the Q4 migration")]
    adjusted = {e["data"]["person_id"]: e["data"] for _, e in uc.events(".rating.adjusted.v1")}
    assert (adjusted["rep3"]["before_label"], adjusted["rep3"]["after_label"]) == ("C", "B")
    assert [Decimal(adjusted["rep2"][k]) for k in ("before_score", "after_score")] == [3, Decimal("3.2")]

    done = advance(uc, cid, "finalized")
    assert done.counts == {"finalized": 3}
    finalized = {e["data"]["person_id"]: e["data"] for _, e in uc.events(".rating.finalized.v1")}
    assert {p: (d["label"], d["version"]) for p, d in finalized.items()} == {
        "rep1": ("S", 1), "rep2": ("B", 2), "rep3": ("B", 2)}
    assert finalized["rep3"]["reason"] == "delivered the Q4 migration"
    # nothing changes after finalize except by amendment
    late_change = c.AdjustRating(rating_id=ratings["rep2"].id, label="A", reason="x", expected_version=2)
    assert field_of(fails(call, uc, "dir", reviews.adjust, late_change)) == "stage"
    assert field_of(fails(call, uc, "mgr", reviews.submit_manager, early)) == "stage"

    advance(uc, cid, "published")
    mine = call(uc, "rep2", reviews.get_review, c.GetReview(cycle_id=cid))
    assert mine.rating.label == "B" and mine.manager_review.average == 3 and "checkins_held" in mine.evidence
    assert call(uc, "rep2", reviews.acknowledge, c.AcknowledgeRating(cycle_id=cid)).state == "acknowledged"

    # the appeal: compliance checks the rating is the appellant's
    rid = ratings["rep2"].id
    facts = call(uc, "rep2", reviews.describe_appeal_target, dsr.DescribeAppealTarget(kind="rating", ref=rid))
    assert (facts.owner_id, facts.rated_by, facts.current["label"]) == ("rep2", "mgr", "B")
    assert status_of(fails(call, uc, "rep1", reviews.describe_appeal_target,
                           dsr.DescribeAppealTarget(kind="rating", ref=rid))) == 404
    decided = Envelope.wrap(dsr.AppealDecided(
        appeal_id="ap-1", appellant="rep2", outcome="amended", reason="key account win not counted",
        target_kind="rating", target_ref=rid, target_id=rid, owning_service="feedback", decided_by="hr",
        changes=[dsr.AmendmentChange(field="label", before="B", after="A")],
        decided_at=datetime(2026, 12, 2, 9, tzinfo=UTC)))
    reviews.apply_appeal_decision(uc.uow(), decided)
    reviews.apply_appeal_decision(uc.uow(), decided)  # redelivered: applied once
    [(_, amended)] = uc.events(".rating.amended.v1")
    assert (amended["data"]["label"], amended["data"]["previous_label"], amended["data"]["version"],
            amended["data"]["appeal_id"]) == ("A", "B", 3, "ap-1")
    mine = call(uc, "rep2", reviews.get_review, c.GetReview(cycle_id=cid))
    assert (mine.rating.label, mine.rating.score, mine.rating.history[-1].reason) == (
        "A", Decimal("3.75"), "key account win not counted")
    # an amendment off the scale is not applied (logged), nor one naming someone else's rating
    odd = Envelope.wrap(dsr.AppealDecided(**{**decided.payload().model_dump(), "appeal_id": "ap-3",
                                             "changes": [], "amendment": {"label": "Z"}}))
    reviews.apply_appeal_decision(uc.uow(), odd)
    assert len(uc.events(".rating.amended.v1")) == 1
    forged = Envelope.wrap(dsr.AppealDecided(**{**decided.payload().model_dump(), "appeal_id": "ap-2",
                                                "appellant": "rep1"}))
    reviews.apply_appeal_decision(uc.uow(), forged)
    assert len(uc.events(".rating.amended.v1")) == 1


def test_an_unbalanced_soft_distribution_finalizes_and_the_formula_is_fixed_once_ratings_exist(uc):
    soft = TARGET.model_copy(update={"hard": False})
    cid = open_cycle(uc, distribution=soft, manager_waits_for_self=False).id
    advance(uc, cid, "self_review")
    for person, score in (("rep1", 2), ("rep2", 2), ("rep3", 2)):  # early manager review allowed by this cycle
        call(uc, "mgr", reviews.submit_manager, c.SubmitManagerReview(cycle_id=cid, person_id=person,
                                                                       items=items(score)))
    advance(uc, cid, "manager_review")
    advance(uc, cid, "calibration")
    revise = c.ReviseRatingFormula(cycle_id=cid, formula=FORMULA, reason="too late")
    assert field_of(fails(call, uc, "hr", reviews.revise_formula, revise)) == "stage"
    view = call(uc, "hr", reviews.calibration, c.GetCalibration(cycle_id=cid, limit=2))
    assert view.by_label == {"C": 3} and view.next_cursor == "rep2" and not view.hard
    assert advance(uc, cid, "finalized").counts == {"finalized": 3}


def test_a_cycle_cannot_finalize_with_a_review_missing_and_bad_input_names_the_field(uc):
    bad_scale = FORMULA.model_copy(update={"expression": "manager * 0.6 + bonus"})
    error = fails(call, uc, "hr", reviews.open_cycle, c.OpenReviewCycle(goals_cycle_id="2026", name="x",
                                                                        formula=bad_scale))
    assert field_of(error) == "formula.expression"
    error = fails(call, uc, "hr", reviews.open_cycle, c.OpenReviewCycle(
        goals_cycle_id="2026", name="x", formula=FORMULA, approval_table={"*": ["hrbp"]},
        people=["rep1"]))
    assert field_of(error) == "people[0]"  # nobody holds HRBP over sales: nobody could approve
    assert status_of(fails(call, uc, "mgr", reviews.open_cycle, c.OpenReviewCycle(
        goals_cycle_id="2026", name="x", formula=FORMULA))) == 403
    assert uc.scalar("select count(*) from review_cycles") == 0
    cid = open_cycle(uc).id
    for stage in ("self_review", "manager_review", "calibration"):
        advance(uc, cid, stage)
    assert field_of(fails(advance, uc, cid, "finalized")) == "reviews"


def test_the_managers_own_assessment_fills_coaching_and_participation(uc):
    formula = FORMULA.model_copy(update={
        "expression": "manager * 0.6 + coaching * 0.2 + participation * 0.2",
        "components": [c.FormulaComponent(name="manager", weight="0.6", required=True),
                       c.FormulaComponent(name="coaching", weight="0.2"),
                       c.FormulaComponent(name="participation", weight="0.2")]})
    mgr = uc.as_("mgr")
    for day in (3, 10, 17):  # three touches in each of the last three months: the standard (3/month) is met
        for month in (10, 11):
            coaching.record(uc.uow(mgr), mgr, c.RecordCoaching(person_id="rep1", on=date(2026, month, day),
                                                               minutes=30, topic="pipeline"))
    cid = call(uc, "hr", reviews.open_cycle, c.OpenReviewCycle(
        goals_cycle_id="2026", name="Managers 2026", formula=formula, people=["mgr", "rep1"],
        manager_waits_for_self=False)).id
    advance(uc, cid, "self_review")
    call(uc, "dir", reviews.submit_manager, c.SubmitManagerReview(cycle_id=cid, person_id="mgr", items=items(4)))
    call(uc, "mgr", reviews.submit_manager, c.SubmitManagerReview(cycle_id=cid, person_id="rep1", items=items(4)))
    advance(uc, cid, "manager_review")
    advance(uc, cid, "calibration")
    view = {r.person_id: r for r in call(uc, "hr", reviews.calibration, c.GetCalibration(cycle_id=cid)).items}
    parts = {x.name: x.score for x in view["mgr"].components}
    # coaching: 6 touches over Oct-Dec = 2/month against 3 -> 1 + 4 * 2/3; participation: no reports -> 1 (the low)
    assert parts["coaching"] == Decimal("3.67") and parts["participation"] == Decimal(1)
    assert {x.name: x.score for x in view["rep1"].components} == {"manager": Decimal(4), "coaching": None,
                                                                  "participation": None}
    assert view["rep1"].score == 4  # a person who manages nobody is not dragged down by the manager's components


def test_a_persons_reviews_are_in_their_export_and_erasure_clears_what_they_wrote(uc):
    from feedback.usecases import people

    cid = open_cycle(uc).id
    advance(uc, cid, "self_review")
    call(uc, "rep1", reviews.submit_self, c.SubmitSelfReview(cycle_id=cid, items=items(4), comment="my own words"))
    hr = uc.as_("hr")
    export = people.export_subject_data(uc.uow(hr), hr, dsr.ExportSubjectData(request_id="r1", subject="rep1"))
    [mine] = export.records["reviews"]
    assert mine["self_comment"] == "my own words" and export.records["ratings"] == []
    people.erase_subject(uc.uow(), Envelope.wrap(dsr.ErasureRequested(
        request_id="e1", person_id="rep1", pseudonym="anon-1", services=["feedback"])))
    assert uc.scalar("select self_comment from reviews where person_id = 'anon-1'") == ""
    assert uc.scalar("select count(*) from reviews where person_id = 'rep1'") == 0
    # retention: a cycle past `retention_days` goes with everything under it
    from datetime import timedelta

    from feedback.usecases import sweeps

    uc.now += timedelta(days=uc.settings.retention_days + 1)
    sweeps.purge(uc.uow())
    assert uc.scalar("select count(*) from review_cycles") == 0 and uc.scalar("select count(*) from reviews") == 0


def test_reminders_go_before_and_after_a_stage_deadline_once_each(uc):
    from datetime import timedelta

    from feedback.usecases import sweeps

    cid = open_cycle(uc, deadlines={"self_review": date(2026, 12, 4), "manager_review": date(2026, 12, 11)}).id
    advance(uc, cid, "self_review")
    call(uc, "rep1", reviews.submit_self, c.SubmitSelfReview(cycle_id=cid, items=items(4)))
    assert reviews.remind(uc.uow()) == 2  # Dec 2: two days before the deadline
    assert reviews.remind(uc.uow()) == 0
    sent = [e["data"] for _, e in uc.events(".review.reminder.v1")]
    assert {(d["recipient_id"], d["kind"]) for d in sent} == {("rep2", "due_soon"), ("rep3", "due_soon")}
    uc.now += timedelta(days=3)  # Dec 5: past it
    assert sweeps.run(uc.uow())["review_reminders"] == 2
    advance(uc, cid, "manager_review")
    uc.now += timedelta(days=4)  # Dec 9: the manager's stage is due on the 11th; all three reviews are missing
    assert reviews.remind(uc.uow()) == 1
    [last] = [e["data"] for _, e in uc.events(".review.reminder.v1")][-1:]
    assert (last["recipient_id"], last["people"], last["stage"]) == ("mgr", ["rep1", "rep2", "rep3"],
                                                                      "manager_review")
