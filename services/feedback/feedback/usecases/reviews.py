"""Review cycles (part 2): open a cycle over a goals cycle with its formula and scale pinned, walk it through its
stages, collect self / manager / anonymous peer scores, compute ratings by the pinned formula, calibrate them
against a target distribution (every change a new version with a reason), approve them by grade (chassis
approvals), finalize (RatingFinalized), publish, acknowledge, and apply amended appeal decisions (RatingAmended).

Every state change goes through `domain.reviews.transition` (the data-driven state table)."""
from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from chassis.access import approvals
from chassis.ids import new_id
from contracts import compliance as dsr
from contracts import feedback as c
from contracts.actor import Actor
from contracts.envelope import Envelope
from feedback import access
from feedback import models as m
from feedback.domain import reviews as rules
from feedback.domain.errors import InvalidInput, NotAllowed, NotFound
from feedback.domain.surveys import pseudonym
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import active, check_version, load, missing, require, settings, subject_of, today
from feedback.usecases.evidence import GoalsReader, read_goals

log = logging.getLogger(__name__)


# -- the pinned formula ------------------------------------------------------------------------------------------

def formula_of(spec: c.RatingFormulaSpec) -> tuple[rules.RatingFormula, rules.Scale]:
    names = [p.name for p in spec.components]
    if len(set(names)) != len(names):
        raise InvalidInput("formula.components", "a component appears twice")
    formula = rules.RatingFormula(spec.expression, {p.name: p.weight for p in spec.components},
                                  frozenset(p.name for p in spec.components if p.required))
    formula.check()
    scale = rules.Scale.build(spec.scale.low, spec.scale.high, [(b.label, b.min) for b in spec.scale.bands])
    return formula, scale


_PINNED: dict[tuple[str, int], tuple[rules.RatingFormula, rules.Scale]] = {}


def pinned(uow: Uow, cycle: m.ReviewCycle) -> tuple[rules.RatingFormula, rules.Scale]:
    key = (cycle.id, cycle.formula_version)
    if key not in _PINNED:  # versions are append-only: safe to keep
        row = load(uow, m.RatingFormulaVersion, key, "cycle_id")
        _PINNED[key] = formula_of(c.RatingFormulaSpec.model_validate(row.spec))
    return _PINNED[key]


def _version_view(row: m.RatingFormulaVersion) -> c.FormulaVersionView:
    return c.FormulaVersionView(cycle_id=row.cycle_id, number=row.number, formula=row.spec, reason=row.reason,
                                created_by=row.created_by, created_at=row.created_at)


def cycle_view(uow: Uow, cycle: m.ReviewCycle) -> c.ReviewCycleView:
    counts = dict(uow.session.execute(select(m.Review.state, func.count()).where(m.Review.cycle_id == cycle.id)
                                      .group_by(m.Review.state)).all())
    return c.ReviewCycleView(
        id=cycle.id, goals_cycle_id=cycle.goals_cycle_id, name=cycle.name, stage=cycle.stage,
        formula=_version_view(load(uow, m.RatingFormulaVersion, (cycle.id, cycle.formula_version), "cycle_id")),
        deadlines=cycle.deadlines, distribution=cycle.distribution, peer_minimum=cycle.peer_minimum,
        manager_waits_for_self=cycle.manager_waits_for_self, counts=counts, version=cycle.version)


def _deadlines(cycle: m.ReviewCycle) -> dict[str, date]:
    return {k: date.fromisoformat(v) for k, v in cycle.deadlines.items()}


def _table(cycle: m.ReviewCycle) -> approvals.ApprovalTable | None:
    return None if not cycle.approval_table else approvals.ApprovalTable.parse(cycle.approval_table)


# -- the cycle ---------------------------------------------------------------------------------------------------

def open_cycle(uow: Uow, actor: Actor | None, command: c.OpenReviewCycle) -> c.ReviewCycleView:
    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        formula_of(command.formula)
        rules.check_deadlines({str(stage): day for stage, day in command.deadlines.items()})
        if command.distribution is not None:
            d = command.distribution
            rules.check_target(d.groups, d.target, [b.label for b in command.formula.scale.bands])
        table = None if command.approval_table is None else approvals.ApprovalTable.parse(command.approval_table)
        index = uow.access.index
        if command.people is None:
            people = sorted(p for p, person in index.people.items() if person.manager_id and active(index, p))
        else:
            people = list(dict.fromkeys(command.people))
            for i, person_id in enumerate(people):
                if not active(index, person_id):
                    raise InvalidInput(f"people[{i}]", f"{person_id} is not a current member of the directory")
        if not people:
            raise InvalidInput("people", "nobody to review")
        for i, person_id in enumerate(people):  # every rating must be approvable: checked now, not at calibration
            if table is not None and not approvals.approval_chain(
                    index, person_id, command.grades.get(person_id), table,
                    requested_by=index.manager_of(person_id)).complete:
                raise InvalidInput(f"people[{i}]", f"nobody can approve the rating of {person_id} "
                                                   "(see approval_table)")
        now, opened_by = uow.now(), subject_of(actor)
        units = {p: person.org_unit_id for p in people if (person := index.person(p)) is not None}
        cycle = m.ReviewCycle(id=new_id(), goals_cycle_id=command.goals_cycle_id, name=command.name, stage="draft",
                              formula_version=1, deadlines={k: v.isoformat() for k, v in command.deadlines.items()},
                              distribution=None if command.distribution is None
                              else command.distribution.model_dump(mode="json"),
                              peer_minimum=command.peer_minimum, manager_waits_for_self=command.manager_waits_for_self,
                              approval_table=command.approval_table, opened_by=opened_by, opened_at=now, version=1)
        uow.repo.add(cycle)
        uow.session.flush()
        uow.repo.add(m.RatingFormulaVersion(cycle_id=cycle.id, number=1, spec=command.formula.model_dump(mode="json"),
                                            reason="pinned when the cycle opened", created_by=opened_by,
                                            created_at=now))
        uow.session.add_all([m.Review(id=new_id(), cycle_id=cycle.id, person_id=p, manager_id=index.manager_of(p),
                                      org_unit_id=units.get(p), grade=command.grades.get(p),
                                      state="not_started", self_comment="", manager_comment="", self_late=False,
                                      manager_late=False, version=1) for p in people])
        uow.session.flush()
        return cycle_view(uow, cycle)


def get_cycle(uow: Uow, actor: Actor | None, cycle_id: str) -> c.ReviewCycleView:
    with uow:
        require(uow, actor, "feedback.company.read", access.company(), "actor")
        return cycle_view(uow, load(uow, m.ReviewCycle, cycle_id, "cycle_id"))


def revise_formula(uow: Uow, actor: Actor | None, command: c.ReviseRatingFormula) -> c.FormulaVersionView:
    """A new version with a reason; only before any rating exists (from calibration on, the formula is fixed)."""
    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id", lock=True)
        reason = rules.check_reason(command.reason)
        if cycle.stage not in ("draft", "self_review", "manager_review"):
            raise NotAllowed(f"the formula is fixed once ratings exist (the cycle is in {cycle.stage}); a rating "
                             "changes only by calibration or amendment", field="stage")
        formula_of(command.formula)
        cycle.formula_version += 1
        cycle.version += 1
        row = m.RatingFormulaVersion(cycle_id=cycle.id, number=cycle.formula_version,
                                     spec=command.formula.model_dump(mode="json"), reason=reason,
                                     created_by=subject_of(actor), created_at=uow.now())
        uow.repo.add(row)
        return _version_view(row)


def advance(uow: Uow, actor: Actor | None, command: c.AdvanceReviewCycle) -> c.ReviewCycleView:
    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id", lock=True)
        check_version(cycle, command.expected_version)
        following = rules.next_stage(cycle.stage)
        if command.to_stage != following:
            raise NotAllowed(f"a {cycle.stage} cycle moves to {following} only (stages are never skipped)",
                             field="to_stage")
        previous = cycle.stage
        if following == "calibration":
            _compute_ratings(uow, cycle)
        elif following == "finalized":
            _finalize(uow, actor, cycle)
        cycle.stage, cycle.version = following, cycle.version + 1
        uow.publish(c.ReviewCycleAdvanced(cycle_id=cycle.id, goals_cycle_id=cycle.goals_cycle_id, stage=following,
                                          previous=previous, deadline=_deadlines(cycle).get(following)))
        return cycle_view(uow, cycle)


def _components(review: m.Review, peer: Decimal | None) -> dict[str, Decimal | None]:
    def avg(items: list[dict[str, Any]] | None) -> Decimal | None:
        return None if not items else rules.average(Decimal(str(i["score"])) for i in items)
    return {"self": avg(review.self_items), "manager": avg(review.manager_items), "peer": peer}


def _peer_scores(uow: Uow, cycle_id: str) -> dict[str, list[Decimal]]:
    found: dict[str, list[Decimal]] = {}
    rows = uow.session.execute(select(m.PeerAnswer.review_id, m.PeerAnswer.average).join(
        m.Review, m.Review.id == m.PeerAnswer.review_id).where(m.Review.cycle_id == cycle_id)).tuples()
    for review_id, average in rows:
        found.setdefault(review_id, []).append(Decimal(average))
    return found


def _components_json(rating: rules.Rating) -> list[dict[str, str | None]]:
    return [{"name": n, "score": None if s is None else str(s.quantize(rules.QUANTUM)), "weight": str(w)}
            for n, s, w in rating.components]


def _compute_ratings(uow: Uow, cycle: m.ReviewCycle) -> None:
    """Entering calibration: every reviewed person gets a rating by the pinned formula (version 1)."""
    from feedback.usecases import manager_assessment  # the manager's own components (coaching, participation)

    formula, scale = pinned(uow, cycle)
    peers = _peer_scores(uow, cycle.id)
    table = _table(cycle)
    now = uow.now()
    reviews = list(uow.session.scalars(select(m.Review).where(m.Review.cycle_id == cycle.id,
                                                              m.Review.state == "manager_submitted")))
    extra = manager_assessment.components(uow, cycle, [r.person_id for r in reviews], formula)
    for review in reviews:
        scores = _components(review, rules.peer_component(peers.get(review.id, []), cycle.peer_minimum))
        scores.update(extra.get(review.person_id, {}))
        try:
            rating = rules.rate(formula, scale, scores)
        except NotAllowed as error:
            raise NotAllowed(f"{review.person_id}: {error.message}", field=f"reviews.{review.person_id}") from None
        row = m.Rating(id=new_id(), review_id=review.id, cycle_id=cycle.id, person_id=review.person_id,
                       org_unit_id=review.org_unit_id, label=rating.label, score=rating.score,
                       components=_components_json(rating), formula_version=cycle.formula_version, version=1)
        if table is not None:
            chain = approvals.approval_chain(uow.access.index, review.person_id, review.grade, table,
                                             requested_by=review.manager_id)
            row.approval = approvals.start(chain).to_json()
        uow.session.add(row)
        uow.session.add(m.RatingVersion(rating_id=row.id, version=1, label=row.label, score=row.score,
                                        components=row.components, kind="computed",
                                        reason=f"formula version {cycle.formula_version}", changed_by=None, at=now))
        if row.approval:
            first = row.approval["approvers"][0]
            uow.publish(c.RatingApprovalStep(rating_id=row.id, person_id=row.person_id, cycle_id=cycle.id,
                                             status="waiting", step=first["step"], approver_id=first["person_id"]))
    uow.session.flush()


def _finalize(uow: Uow, actor: Actor | None, cycle: m.ReviewCycle) -> None:
    """Every review rated and approved, the distribution within the target (hard setting), then each review
    goes calibrated (confirmed as it stands when not adjusted) -> finalized, and RatingFinalized is published."""
    missing = uow.session.scalar(select(func.count()).select_from(m.Review).where(
        m.Review.cycle_id == cycle.id, m.Review.state.not_in(("manager_submitted", "calibrated"))))
    if missing:
        raise NotAllowed(f"{missing} review(s) have no manager review; finish or remove them first",
                         field="reviews")
    pairs = list(uow.session.execute(select(m.Review, m.Rating).join(m.Rating, m.Rating.review_id == m.Review.id)
                                     .where(m.Review.cycle_id == cycle.id)).tuples())
    unrated = uow.session.scalar(select(func.count()).select_from(m.Review).where(m.Review.cycle_id == cycle.id))
    if unrated != len(pairs):
        raise NotAllowed("some reviews have no rating", field="reviews")
    pending = [r.person_id for _, r in pairs if r.approval and r.approval["status"] != "approved"]
    if pending:
        raise NotAllowed(f"{len(pending)} rating(s) are not approved yet (e.g. {pending[0]})", field="approval")
    if cycle.distribution:
        d = c.DistributionTarget.model_validate(cycle.distribution)
        off = rules.deviations([r.label for _, r in pairs], d.groups, d.target, d.tolerance)
        if off and d.hard:
            worst = off[0]
            raise NotAllowed(f"the distribution is off target: {worst.group} is {worst.actual:.0%} against "
                             f"{worst.target:.0%} (±{d.tolerance:.0%})", field=f"distribution.{worst.group}")
    now = uow.now()
    events = []
    reasons = dict(uow.session.execute(  # each rating's current version's reason, in one query
        select(m.RatingVersion.rating_id, m.RatingVersion.reason).join(
            m.Rating, (m.Rating.id == m.RatingVersion.rating_id) & (m.Rating.version == m.RatingVersion.version))
        .where(m.Rating.cycle_id == cycle.id)).all())
    for review, rating in pairs:
        state = review.state
        if state == "manager_submitted":
            state = rules.transition("calibrate", "calibration", state, "calibrator")
        review.state = rules.transition("finalize", "calibration", state, "hr")
        review.version += 1
        events.append(c.RatingFinalized(
            rating_id=rating.id, person_id=rating.person_id, review_cycle_id=cycle.id,
            goals_cycle_id=cycle.goals_cycle_id, label=rating.label, score=rating.score,
            components=rating.components, version=rating.version, reason=reasons.get(rating.id, ""),
            manager_id=review.manager_id, finalized_at=now))
    uow.publish(*events)


# -- scores ------------------------------------------------------------------------------------------------------

def _review(uow: Uow, cycle_id: str, person_id: str, field: str, *, lock: bool = False) -> m.Review:
    stmt = select(m.Review).where(m.Review.cycle_id == cycle_id, m.Review.person_id == person_id)
    row = uow.session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(_not_in_cycle(cycle_id, person_id), field=field)
    return row


def _not_in_cycle(cycle_id: str, person_id: str) -> str:
    return f"{person_id} is not in review cycle {cycle_id}"


def _items(scale: rules.Scale, items: list[c.ScoreItem]) -> list[dict[str, Any]]:
    rules.check_items(scale, [(i.code, i.score) for i in items])
    return [i.model_dump(mode="json") for i in items]


def submit_self(uow: Uow, actor: Actor | None, command: c.SubmitSelfReview) -> c.ReviewView:
    with uow:
        person = subject_of(actor)
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        review = _review(uow, cycle.id, person, "cycle_id", lock=True)
        require(uow, actor, "feedback.review.self", access.of(access.REVIEW, person), "actor")
        review.state = rules.transition("submit_self", cycle.stage, review.state, "self")
        _, scale = pinned(uow, cycle)
        review.self_items, review.self_comment = _items(scale, command.items), command.comment
        review.self_submitted_at = uow.now()
        review.self_late = rules.is_late("self_review", _deadlines(cycle), today(uow))
        review.version += 1
        return review_view(uow, cycle, review, person)


def submit_manager(uow: Uow, actor: Actor | None, command: c.SubmitManagerReview) -> c.ReviewView:
    with uow:
        manager = subject_of(actor)
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        review = _review(uow, cycle.id, command.person_id, "person_id", lock=True)
        require(uow, actor, "feedback.review.manager", access.of(access.REVIEW, command.person_id), "person_id",
                hidden=_not_in_cycle(cycle.id, command.person_id), visible_with="feedback.review.read")
        review.state = rules.transition("submit_manager", cycle.stage, review.state, "manager",
                                        manager_waits_for_self=cycle.manager_waits_for_self)
        _, scale = pinned(uow, cycle)
        review.manager_items, review.manager_comment = _items(scale, command.items), command.comment
        review.manager_submitted_at = uow.now()
        review.manager_late = rules.is_late("manager_review", _deadlines(cycle), today(uow))
        review.version += 1
        index = uow.access.index
        asked = set(uow.session.scalars(select(m.PeerInvitation.peer_id)
                                        .where(m.PeerInvitation.review_id == review.id)))
        for i, peer in enumerate(command.peers):
            if peer in (command.person_id, manager) or not active(index, peer):
                raise InvalidInput(f"peers[{i}]", "a peer is a current colleague, not the person or their manager")
            if peer not in asked:
                asked.add(peer)
                uow.session.add(m.PeerInvitation(review_id=review.id, peer_id=peer))
        uow.session.flush()
        return review_view(uow, cycle, review, manager)


def submit_peer(uow: Uow, actor: Actor | None, command: c.SubmitPeerReview) -> c.Answered:
    """An invited peer's scores, kept under a keyed pseudonym. Answers {"answered": true} and nothing else."""
    with uow:
        peer = subject_of(actor)
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        review = _review(uow, cycle.id, command.person_id, "person_id")
        if uow.repo.get(m.PeerInvitation, (review.id, peer)) is None:
            # not asked: whoever may not read the review learns nothing from the answer, not even that it exists
            require(uow, actor, "feedback.review.read", access.of(access.REVIEW, command.person_id), "person_id",
                    hidden=_not_in_cycle(cycle.id, command.person_id))
            raise NotAllowed("only the peers the manager asked review this person", field="actor")
        rules.transition("submit_peer", cycle.stage, review.state, "peer")
        _, scale = pinned(uow, cycle)
        items = _items(scale, command.items)
        key = pseudonym(settings(uow).pseudonym_key, review.id, peer)
        if uow.repo.get(m.PeerAnswer, (review.id, key)) is not None:
            raise InvalidInput("person_id", "already answered for this person")
        uow.repo.add(m.PeerAnswer(review_id=review.id, pseudonym=key, items=items, comment=command.comment,
                                  average=rules.average(i.score for i in command.items)))
        return c.Answered()


def late_reviews(uow: Uow, actor: Actor | None, command: c.ListLateReviews) -> c.LateReviewList:
    """For HR: submissions after their stage's deadline, and those still missing past it."""
    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        deadlines, now = _deadlines(cycle), today(uow)
        items = []
        for review in uow.session.scalars(select(m.Review).where(m.Review.cycle_id == cycle.id)
                                          .order_by(m.Review.person_id)):
            for stage, at, late in (("self_review", review.self_submitted_at, review.self_late),
                                    ("manager_review", review.manager_submitted_at, review.manager_late)):
                due = deadlines.get(stage)
                if due is not None and (late or (at is None and now > due)):
                    items.append(c.LateReview(person_id=review.person_id, manager_id=review.manager_id, stage=stage,
                                              due=due, submitted_at=at))
        return c.LateReviewList(items=items)


def remind(uow: Uow) -> int:
    """The sweep: in a self or manager review stage near (or past) its deadline, one reminder per person who still
    has to submit (the manager: with whose reviews are missing), once per cycle, stage, kind and recipient."""
    with uow:
        on, days = today(uow), settings(uow).review_reminder_days
        sent = 0
        for cycle in uow.session.scalars(select(m.ReviewCycle).where(m.ReviewCycle.stage.in_(
                ("self_review", "manager_review")))):
            due = _deadlines(cycle).get(cycle.stage)
            if due is None or (due - on).days > days:
                continue
            kind = "overdue" if on > due else "due_soon"
            waiting = (("not_started",) if cycle.stage == "self_review"
                       else ("not_started", "self_submitted"))
            pending: dict[str, list[str]] = {}
            for person, manager in uow.session.execute(select(m.Review.person_id, m.Review.manager_id).where(
                    m.Review.cycle_id == cycle.id, m.Review.state.in_(waiting)).order_by(m.Review.person_id)):
                recipient = person if cycle.stage == "self_review" else manager
                if recipient:
                    pending.setdefault(recipient, []).append(person)
            marker = f"rr.{cycle.stage[:4]}.{kind[:3]}"  # sweep_runs: kind <= 32, key <= 32
            events = []
            for recipient, people in pending.items():
                key = hashlib.sha256(f"{cycle.id}/{recipient}".encode()).hexdigest()[:32]
                if uow.sweeps.claim(marker, key, uow.now()):
                    events.append(c.ReviewReminder(cycle_id=cycle.id, stage=cycle.stage, recipient_id=recipient,
                                                   people=people, due=due, kind=kind))
            uow.publish(*events)
            sent += len(events)
        return sent


# -- views -------------------------------------------------------------------------------------------------------

def _score_set(items: list[dict[str, Any]] | None, comment: str, at: datetime | None,
               late: bool) -> c.ScoreSet | None:
    if items is None:
        return None
    return c.ScoreSet(items=items, comment=comment, submitted_at=at, late=late,
                      average=rules.average(Decimal(str(i["score"])) for i in items))


def histories(uow: Uow, ids: list[str]) -> dict[str, list[m.RatingVersion]]:
    found: dict[str, list[m.RatingVersion]] = {i: [] for i in ids}
    for row in uow.session.scalars(select(m.RatingVersion).where(m.RatingVersion.rating_id.in_(ids))
                                   .order_by(m.RatingVersion.rating_id, m.RatingVersion.version)):
        found[row.rating_id].append(row)
    return found


def rating_view(uow: Uow, row: m.Rating, history: list[m.RatingVersion] | None = None) -> c.RatingView:
    if history is None:
        history = histories(uow, [row.id])[row.id]
    approval = None if not row.approval else approvals.Approval.from_json(row.approval)
    current = None if approval is None else approval.current
    return c.RatingView(
        id=row.id, cycle_id=row.cycle_id, person_id=row.person_id, label=row.label, score=row.score,
        components=row.components, formula_version=row.formula_version, version=row.version,
        approval_status="none" if approval is None else approval.status.value,
        approvers=[] if approval is None else [c.ApprovalStepView(step=a.step.value, person_id=a.person_id)
                                               for a in approval.approvers],
        waiting_for=None if current is None else current.person_id,
        history=[c.RatingChange(version=h.version, label=h.label, score=h.score, kind=h.kind, reason=h.reason,
                                changed_by=h.changed_by, appeal_id=h.appeal_id, at=h.at) for h in history])


def _evidence(uow: Uow, cycle: m.ReviewCycle, person_id: str) -> dict[str, int]:
    """What feedback holds on the person's year (the review form's evidence), counted."""
    year = cycle.opened_at.year
    first = date(year, 1, 1)

    def count(stmt: Select[int]) -> int:
        return int(uow.session.scalar(stmt) or 0)

    return {
        "checkins_held": count(select(func.count()).select_from(m.Checkin).where(
            m.Checkin.person_id == person_id, m.Checkin.state != "scheduled", m.Checkin.month >= f"{year}-01")),
        "reports": count(select(func.count()).select_from(m.Report).where(m.Report.person_id == person_id,
                                                                           m.Report.period >= str(year))),
        "key_events_positive": count(select(func.count()).select_from(m.KeyEvent).where(
            m.KeyEvent.person_id == person_id, m.KeyEvent.polarity == "positive", m.KeyEvent.occurred_on >= first)),
        "key_events_negative": count(select(func.count()).select_from(m.KeyEvent).where(
            m.KeyEvent.person_id == person_id, m.KeyEvent.polarity == "negative", m.KeyEvent.occurred_on >= first)),
        "coaching_received": count(select(func.count()).select_from(m.CoachingTouch).where(
            m.CoachingTouch.person_id == person_id, m.CoachingTouch.on >= first)),
    }


def review_view(uow: Uow, cycle: m.ReviewCycle, review: m.Review, viewer: str) -> c.ReviewView:
    invited = uow.session.scalar(select(func.count()).select_from(m.PeerInvitation)
                                 .where(m.PeerInvitation.review_id == review.id)) or 0
    answers = list(uow.session.scalars(select(m.PeerAnswer).where(m.PeerAnswer.review_id == review.id)))
    counted = len(answers) >= cycle.peer_minimum
    comments = [a.comment for a in answers if a.comment] if counted else []
    random.shuffle(comments)  # no order to link a comment to an answer
    peer = c.PeerAggregate(invited=invited, answered=len(answers), minimum=cycle.peer_minimum, counted=counted,
                           average=rules.peer_component([Decimal(a.average) for a in answers], cycle.peer_minimum),
                           comments=comments)
    rating = uow.session.scalars(select(m.Rating).where(m.Rating.review_id == review.id)).first()
    # the person sees their rating once it is published; the line and HR see it from calibration on
    shown = rating is not None and (viewer != review.person_id or cycle.stage == "published")
    return c.ReviewView(
        id=review.id, cycle_id=cycle.id, person_id=review.person_id, manager_id=review.manager_id,
        grade=review.grade, state=review.state,
        self_review=_score_set(review.self_items, review.self_comment, review.self_submitted_at, review.self_late),
        manager_review=(_score_set(review.manager_items, review.manager_comment, review.manager_submitted_at,
                                   review.manager_late)
                        if viewer != review.person_id or cycle.stage == "published" else None),
        peer=peer, rating=rating_view(uow, rating) if shown and rating is not None else None,
        evidence=_evidence(uow, cycle, review.person_id), acknowledged_at=review.acknowledged_at,
        version=review.version)


def get_review(uow: Uow, actor: Actor | None, command: c.GetReview, goals: GoalsReader | None = None) -> c.ReviewView:
    """The review form. With `goals` (a reader acting as the viewer), the evidence includes the person's goals and
    score cards from the goals service; when goals cannot answer, the view names the missing part instead."""
    with uow:
        viewer = subject_of(actor)
        person = command.person_id or viewer
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        require(uow, actor, "feedback.review.read", access.of(access.REVIEW, person), "person_id")
        view = review_view(uow, cycle, _review(uow, cycle.id, person, "person_id"), viewer)
        goals_cycle_id = cycle.goals_cycle_id
    if goals is None:
        return view
    # after the unit of work: no transaction or connection is held while goals answers
    return view.model_copy(update=read_goals(goals, goals_cycle_id, person).update())


# -- calibration -------------------------------------------------------------------------------------------------

def adjust(uow: Uow, actor: Actor | None, command: c.AdjustRating) -> c.RatingView:
    with uow:
        who = subject_of(actor)
        rating = load(uow, m.Rating, command.rating_id, "rating_id", lock=True)
        require(uow, actor, "feedback.review.calibrate", access.of(access.REVIEW, rating.person_id), "rating_id",
                hidden=missing(m.Rating, command.rating_id), visible_with="feedback.review.read")
        cycle = load(uow, m.ReviewCycle, rating.cycle_id, "cycle_id")
        review = load(uow, m.Review, rating.review_id, "rating_id", lock=True)
        review.state = rules.transition("calibrate", cycle.stage, review.state, "calibrator")
        reason = rules.check_reason(command.reason)
        check_version(rating, command.expected_version)  # two calibrators: the second gets 409
        _, scale = pinned(uow, cycle)
        score = _score_for(scale, rating, command)
        before_label, before_score = rating.label, rating.score
        rating.label, rating.score, rating.version = command.label, score, rating.version + 1
        if rating.approval:  # approvers approved another value: a changed rating goes through its chain again
            approval = approvals.Approval.from_json(rating.approval)
            approval = (approvals.resubmit(approval) if approval.status is approvals.Status.SENT_BACK
                        else replace(approval, position=0, status=approvals.Status.PENDING))
            rating.approval = approval.to_json()
            first = approval.approvers[0]
            uow.publish(c.RatingApprovalStep(rating_id=rating.id, person_id=rating.person_id, cycle_id=cycle.id,
                                             status="waiting", step=first.step.value, approver_id=first.person_id))
        review.version += 1
        uow.repo.add(m.RatingVersion(rating_id=rating.id, version=rating.version, label=rating.label, score=score,
                                     components=rating.components, kind="calibration", reason=reason, changed_by=who,
                                     at=uow.now()))
        uow.publish(c.RatingAdjusted(rating_id=rating.id, person_id=rating.person_id, cycle_id=cycle.id,
                                     before_label=before_label, after_label=rating.label, before_score=before_score,
                                     after_score=score, reason=reason, version=rating.version, adjusted_by=who))
        uow.session.flush()
        return rating_view(uow, rating)


def _score_for(scale: rules.Scale, rating: m.Rating, command: c.AdjustRating | dict[str, Any]) -> Decimal:
    label = command["label"] if isinstance(command, dict) else command.label
    given = command.get("score") if isinstance(command, dict) else command.score
    if label not in {b.label for b in scale.bands}:
        raise InvalidInput("label", f"{label} is not a label of the cycle's scale")
    if given is None:
        if label == rating.label:
            return Decimal(rating.score)
        return max(scale.low, next(b.minimum for b in scale.bands if b.label == label))
    score = Decimal(str(given))
    scale.check_score(score, "score")
    if scale.label_for(score) != label:
        raise InvalidInput("score", f"{score} is in band {scale.label_for(score)}, not {label}")
    return score


def calibration(uow: Uow, actor: Actor | None, command: c.GetCalibration) -> c.CalibrationView:
    with uow:
        if command.org_unit_id is None:
            require(uow, actor, "feedback.company.manage", access.company(), "actor")
        else:
            require(uow, actor, "feedback.unit.read", access.unit(command.org_unit_id), "org_unit_id")
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        where = [m.Rating.cycle_id == cycle.id]
        if command.org_unit_id is not None:
            where.append(m.Rating.org_unit_id.in_(uow.access.index.units_within(command.org_unit_id)))
        by_label = dict(uow.session.execute(select(m.Rating.label, func.count()).where(*where)
                                            .group_by(m.Rating.label)).all())
        total = sum(by_label.values())
        lines: list[c.DistributionLine] = []
        hard = False
        if cycle.distribution:
            d = c.DistributionTarget.model_validate(cycle.distribution)
            hard = d.hard
            for group, labels in d.groups.items():
                count = sum(by_label.get(x, 0) for x in labels)
                actual = Decimal(count) / total if total else Decimal(0)
                lines.append(c.DistributionLine(group=group, labels=labels, target=d.target[group],
                                                actual=actual.quantize(Decimal("0.0001")), count=count,
                                                off=abs(actual - d.target[group]) > d.tolerance))
        stmt = select(m.Rating).where(*where)
        if command.cursor:
            stmt = stmt.where(m.Rating.person_id > command.cursor)
        rows = list(uow.session.scalars(stmt.order_by(m.Rating.person_id).limit(command.limit + 1)))
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        found = histories(uow, [r.id for r in rows])
        return c.CalibrationView(cycle_id=cycle.id, org_unit_id=command.org_unit_id, total=total, by_label=by_label,
                                 distribution=lines, hard=hard, items=[rating_view(uow, r, found[r.id]) for r in rows],
                                 next_cursor=rows[-1].person_id if more and rows else None)


def record_session(uow: Uow, actor: Actor | None, command: c.RecordCalibrationSession) -> c.CalibrationSessionView:
    with uow:
        if command.org_unit_id is None:
            require(uow, actor, "feedback.company.manage", access.company(), "actor")
        else:
            require(uow, actor, "feedback.unit.read", access.unit(command.org_unit_id), "org_unit_id")
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        if cycle.stage != "calibration":
            raise NotAllowed(f"calibration sessions are recorded during calibration, not {cycle.stage}", field="stage")
        for i, person in enumerate(command.attendees):
            if not active(uow.access.index, person):
                raise InvalidInput(f"attendees[{i}]", f"{person} is not a current member of the directory")
        row = m.CalibrationSession(id=new_id(), cycle_id=cycle.id, org_unit_id=command.org_unit_id,
                                   attendees=list(dict.fromkeys(command.attendees)), decisions=command.decisions,
                                   notes=command.notes, recorded_by=subject_of(actor), held_at=uow.now())
        uow.repo.add(row)
        where = [m.Rating.cycle_id == cycle.id, m.RatingVersion.kind == "calibration"]
        if command.org_unit_id is not None:
            where.append(m.Rating.org_unit_id.in_(uow.access.index.units_within(command.org_unit_id)))
        changes = uow.session.scalars(select(m.RatingVersion).join(m.Rating, m.Rating.id == m.RatingVersion.rating_id)
                                      .where(*where).order_by(m.RatingVersion.at))
        return c.CalibrationSessionView(
            id=row.id, cycle_id=cycle.id, org_unit_id=row.org_unit_id, attendees=row.attendees,
            decisions=row.decisions, notes=row.notes, recorded_by=row.recorded_by, held_at=row.held_at,
            adjustments=[c.RatingChange(version=h.version, label=h.label, score=h.score, kind=h.kind,
                                        reason=h.reason, changed_by=h.changed_by, appeal_id=h.appeal_id, at=h.at)
                         for h in changes])


# -- approval by grade (chassis approvals) -----------------------------------------------------------------------

def decide(uow: Uow, actor: Actor | None, command: c.DecideRating) -> c.RatingView:
    with uow:
        who = subject_of(actor)
        rating = load(uow, m.Rating, command.rating_id, "rating_id", lock=True)
        approvers = {a["person_id"] for a in (rating.approval or {}).get("approvers", [])}
        if who not in approvers:  # who may not read the rating gets the 404 of a missing one, before any rule
            require(uow, actor, "feedback.review.read", access.of(access.REVIEW, rating.person_id), "rating_id",
                    hidden=missing(m.Rating, command.rating_id))
        cycle = load(uow, m.ReviewCycle, rating.cycle_id, "cycle_id")
        if cycle.stage != "calibration":
            raise NotAllowed(f"ratings are approved during calibration, not {cycle.stage}", field="stage")
        if not rating.approval:
            raise NotAllowed("this cycle's ratings need no approval", field="rating_id")
        approval = approvals.Approval.from_json(rating.approval)
        step = approval.current
        if command.decision == "approve":
            approval = approvals.approve(approval, who, command.reason)
        else:
            approval = approvals.send_back(approval, who, command.reason)
        rating.approval = approval.to_json()
        status = ("sent_back" if approval.status is approvals.Status.SENT_BACK
                  else "complete" if approval.status is approvals.Status.APPROVED else "approved")
        events = [c.RatingApprovalStep(rating_id=rating.id, person_id=rating.person_id, cycle_id=cycle.id,
                                       status=status, step=step.step.value if step else None, approver_id=who,
                                       reason=command.reason)]
        nxt = approval.current
        if nxt is not None:
            events.append(c.RatingApprovalStep(rating_id=rating.id, person_id=rating.person_id, cycle_id=cycle.id,
                                               status="waiting", step=nxt.step.value, approver_id=nxt.person_id))
        uow.publish(*events)
        return rating_view(uow, rating)


# -- published results, acknowledgement, appeals -----------------------------------------------------------------

def acknowledge(uow: Uow, actor: Actor | None, command: c.AcknowledgeRating) -> c.ReviewView:
    with uow:
        person = subject_of(actor)
        cycle = load(uow, m.ReviewCycle, command.cycle_id, "cycle_id")
        review = _review(uow, cycle.id, person, "cycle_id", lock=True)
        review.state = rules.transition("acknowledge", cycle.stage, review.state, "self")
        review.acknowledged_at, review.version = uow.now(), review.version + 1
        return review_view(uow, cycle, review, person)


def describe_appeal_target(uow: Uow, actor: Actor | None, command: dsr.DescribeAppealTarget) -> dsr.AppealTargetFacts:
    """For compliance, as the appellant: a finalized rating of theirs, or 404 (never confirms someone else's)."""
    with uow:
        person = subject_of(actor)
        if command.kind != "rating":
            raise InvalidInput("kind", "feedback describes ratings only")
        rating = uow.repo.get(m.Rating, command.ref)
        cycle = None if rating is None else uow.repo.get(m.ReviewCycle, rating.cycle_id)
        if (rating is None or cycle is None or rating.person_id != person
                or cycle.stage not in ("finalized", "published")):
            raise NotFound(f"no finalized rating {command.ref} of yours", field="ref")
        review = load(uow, m.Review, rating.review_id, "ref")
        return dsr.AppealTargetFacts(owner_id=person, rated_by=review.manager_id, org_unit_id=rating.org_unit_id,
                                     current={"label": rating.label, "score": str(rating.score)})


def _amendment(event: dsr.AppealDecided) -> dict[str, Any]:
    found = dict(event.amendment or {})
    for change in event.changes:
        found.setdefault(change.field, change.after)
    return found


def apply_appeal_decision(uow: Uow, envelope: Envelope) -> None:
    """compliance's appeal.decided for a rating, amended: a new version with the appeal as its reason, and
    RatingAmended. Once per appeal (the version row's unique appeal_id); anything unverifiable is logged, not
    applied (the appellant must own the rating, the label must be on the scale)."""
    event = envelope.payload()
    if (not isinstance(event, dsr.AppealDecided) or event.target_kind != "rating"
            or event.owning_service != "feedback" or event.outcome != "amended"):
        return
    with uow:
        ref = event.target_id or event.target_ref
        if uow.session.scalars(select(m.RatingVersion).where(m.RatingVersion.appeal_id == event.appeal_id)).first():
            return  # applied already
        rating = uow.repo.get(m.Rating, ref, lock=True)
        if rating is None or rating.person_id != event.appellant:
            log.warning("appeal %s names rating %s, not a rating of %s: not applied", event.appeal_id, ref,
                        event.appellant)
            return
        cycle = load(uow, m.ReviewCycle, rating.cycle_id, "ref")
        review = load(uow, m.Review, rating.review_id, "ref", lock=True)
        rules.transition("amend", cycle.stage, review.state, "appeal")
        _, scale = pinned(uow, cycle)
        try:
            change = c.RatingAmendment.model_validate({"label": rating.label, **_amendment(event)})
            score = _score_for(scale, rating, {"label": change.label, "score": change.score})
        except (InvalidInput, ValueError) as error:  # pydantic's ValidationError is a ValueError
            log.warning("appeal %s: amendment refused (%s)", event.appeal_id, error)
            return
        before_label, before_score = rating.label, rating.score
        rating.label = change.label
        rating.score, rating.version = score, rating.version + 1
        reason = rules.check_reason(event.reason or f"appeal {event.appeal_id}")
        now = uow.now()
        uow.repo.add(m.RatingVersion(rating_id=rating.id, version=rating.version, label=rating.label, score=score,
                                     components=rating.components, kind="amendment", reason=reason,
                                     changed_by=event.decided_by, appeal_id=event.appeal_id, at=now))
        uow.publish(c.RatingAmended(
            rating_id=rating.id, person_id=rating.person_id, review_cycle_id=cycle.id,
            goals_cycle_id=cycle.goals_cycle_id, label=rating.label, score=score, components=rating.components,
            version=rating.version, previous_label=before_label, previous_score=before_score, reason=reason,
            appeal_id=event.appeal_id, manager_id=review.manager_id, amended_at=now))
