"""Promotion tracks (nominations reviewed by the separate panel of each sequence, with the evidence pack and a
decision with reasons) and performance stars (a quarter's stories, published with consent, earning points)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chassis.ids import new_id
from contracts import incentives as c
from contracts.actor import Actor
from incentives import access
from incentives import models as m
from incentives.domain import points as ledger
from incentives.domain import promotion, stars
from incentives.domain.errors import NotAllowed, NotFound
from incentives.settings import IncentivesSettings
from incentives.usecases import points as points_uc
from incentives.usecases.common import Uow, card, require_or_hide, subject, today

# -- promotion -------------------------------------------------------------------------------------------------

def _evidence(uow: Uow, person_id: str) -> tuple[dict[str, Any], list[promotion.RatedCycle]]:
    r = m.Rating
    newest: dict[str, m.Rating] = {}
    for rating in uow.session.scalars(select(r).where(r.person_id == person_id).order_by(r.at, r.version)):
        newest[rating.review_cycle_id] = rating  # the last version of each cycle's rating
    history = [promotion.RatedCycle(x.review_cycle_id, x.label, None if x.attainment is None else float(x.attainment))
               for x in sorted(newest.values(), key=lambda x: x.at)]
    plan = uow.talent.idp(person_id)
    boxes = uow.session.execute(select(m.Placement.review_cycle_id, m.Placement.box)
                                .where(m.Placement.person_id == person_id)).all()
    evidence = {
        "ratings": [{"review_cycle_id": h.review_cycle_id, "label": h.label, "attainment": h.attainment}
                    for h in history],
        "development_plan": None if plan is None else {"track": plan.track, "rating_label": plan.rating_label,
                                                       "version": plan.version},
        "nine_box": {row.review_cycle_id: row.box for row in boxes},
    }
    return evidence, history


def _criteria(sequence: str, history: list[promotion.RatedCycle]) -> list[c.CriterionView]:
    return [c.CriterionView(criterion=name, met=met, evidence=shown)
            for name, met, shown in promotion.criteria_met(promotion.DEFAULT_CRITERIA[sequence], history)]


def _nomination_criteria(row: m.Nomination) -> list[c.CriterionView]:
    """The criteria judged on the evidence kept at nomination (so the same before and after the decision)."""
    history = [promotion.RatedCycle(x["review_cycle_id"], x["label"], x["attainment"])
               for x in row.evidence.get("ratings", [])]
    return _criteria(row.sequence, history)


def _nomination_view(uow: Uow, row: m.Nomination) -> c.NominationView:
    criteria = _nomination_criteria(row)
    return c.NominationView(id=row.id, person_id=row.person_id, sequence=row.sequence, target_level=row.target_level,
                            nominated_by=row.nominated_by, reason=row.reason, status=row.status,
                            evidence=row.evidence, criteria=criteria,
                            decided_by=row.decided_by, decision_reason=row.decision_reason,
                            criteria_overridden=promotion.overridden(row.status, criteria_unmet(criteria)),
                            created_at=row.created_at, decided_at=row.decided_at)


def criteria_unmet(criteria: list[c.CriterionView]) -> list[str]:
    return [criterion.criterion for criterion in criteria if not criterion.met]


def nominate(uow: Uow, actor: Actor | None, command: c.Nominate) -> c.NominationView:
    promotion.check_level(command.sequence, command.target_level)
    with uow:
        me = subject(actor)
        if me != command.person_id:  # self-nomination, or the line (never a peer)
            uow.access.require(actor, "incentives.talent.assess", access.of(access.TALENT, command.person_id))
        else:
            uow.access.require(actor, "incentives.talent.read", access.of(access.TALENT, command.person_id))
        card(uow, command.person_id)
        evidence, _ = _evidence(uow, command.person_id)
        row = m.Nomination(id=new_id(), person_id=command.person_id, sequence=command.sequence,
                           target_level=command.target_level, nominated_by=me or "", reason=command.reason,
                           evidence=evidence, status="nominated", decided_by=None, decision_reason="",
                           created_at=uow.now(), decided_at=None)
        uow.session.add(row)
        return _nomination_view(uow, row)


def _no_nomination(nomination_id: str) -> NotFound:
    return NotFound(f"nomination {nomination_id} does not exist", field="nomination_id", ids=[nomination_id])


def _load_nomination(uow: Uow, nomination_id: str, *, lock: bool = False) -> m.Nomination:
    row = uow.talent.nomination(nomination_id, lock=lock)
    if row is None:
        raise _no_nomination(nomination_id)
    return row


def _panels(settings: IncentivesSettings) -> dict[str, list[str]]:
    """sequence -> the members of its review panel."""
    return {str(sequence): members for sequence, members in settings.promotion_panels.items()}


def _may_read_nomination(uow: Uow, actor: Actor | None, row: m.Nomination, settings: IncentivesSettings) -> None:
    """The panel of the sequence, the person, their line and HR; to anyone else it does not exist."""
    if subject(actor) in _panels(settings).get(row.sequence, ()):
        return  # the panel of the sequence reviews its nominations
    require_or_hide(uow, actor, "incentives.talent.read", access.of(access.TALENT, row.person_id),
                    _no_nomination(row.id))


def get_nomination(uow: Uow, actor: Actor | None, command: c.NominationRef,
                   settings: IncentivesSettings) -> c.NominationView:
    with uow:
        row = _load_nomination(uow, command.nomination_id)
        _may_read_nomination(uow, actor, row, settings)
        return _nomination_view(uow, row)


def list_nominations(uow: Uow, actor: Actor | None, command: c.ListNominations,
                     settings: IncentivesSettings) -> c.Items:
    with uow:
        stmt = select(m.Nomination)
        me = subject(actor)
        if command.person_id is not None:
            uow.access.require(actor, "incentives.talent.read", access.of(access.TALENT, command.person_id))
            stmt = stmt.where(m.Nomination.person_id == command.person_id)
        else:  # a panel's queue: the sequences the caller reviews
            mine = [seq for seq, members in settings.promotion_panels.items() if me in members]
            if command.sequence is not None:
                mine = [seq for seq in mine if seq == command.sequence]
            if not mine:
                raise NotAllowed("only a panel member lists a sequence's nominations", field="actor_id")
            stmt = stmt.where(m.Nomination.sequence.in_(mine))
        if command.status is not None:
            stmt = stmt.where(m.Nomination.status == command.status)
        rows = uow.session.scalars(stmt.order_by(m.Nomination.created_at, m.Nomination.id).limit(500))
        return c.Items(items=[_nomination_view(uow, row) for row in rows])


def decide_nomination(uow: Uow, actor: Actor | None, command: c.DecideNomination,
                      settings: IncentivesSettings) -> c.NominationView:
    with uow:
        row = _load_nomination(uow, command.nomination_id, lock=True)
        _may_read_nomination(uow, actor, row, settings)
        promotion.may_decide(_panels(settings), row.sequence, subject(actor) or "", row.person_id,
                             row.nominated_by)
        if row.status != "nominated":
            raise NotAllowed(f"the nomination was already decided: {row.status}", field="status")
        unmet = criteria_unmet(_nomination_criteria(row))
        promotion.check_override(command.outcome, unmet, command.override_criteria)
        row.status, row.decided_by, row.decision_reason, row.decided_at = (command.outcome, subject(actor),
                                                                           command.reason, uow.now())
        uow.publish(c.NominationDecided(nomination_id=row.id, person_id=row.person_id, sequence=row.sequence,
                                        target_level=row.target_level, outcome=command.outcome,
                                        decided_by=row.decided_by or "", reason=command.reason,
                                        criteria_overridden=promotion.overridden(command.outcome, unmet)))
        return _nomination_view(uow, row)


# -- performance stars -----------------------------------------------------------------------------------------

def _star_view(row: m.Star) -> c.StarView:
    return c.StarView(id=row.id, person_id=row.person_id, quarter=row.quarter, title=row.title,
                      goal_path=row.goal_path, learned=row.learned, nominated_by=row.nominated_by,
                      consent=row.consent, status=row.status, points=row.points, published_at=row.published_at)


def _no_star(star_id: str) -> NotFound:
    return NotFound(f"star {star_id} does not exist", field="star_id", ids=[star_id])


def _load_star(uow: Uow, actor: Actor | None, star_id: str, *, lock: bool = False) -> m.Star:
    """The nomination of a star, to those who may see it: the person, their line and HR, or everyone once it is
    published with consent (the dashboard shows it). To anyone else it does not exist."""
    row = uow.talent.star(star_id, lock=lock)
    if row is None:
        raise _no_star(star_id)
    if not (row.status == stars.StarState.PUBLISHED.value and row.consent):
        require_or_hide(uow, actor, "incentives.talent.read", access.of(access.TALENT, row.person_id),
                        _no_star(star_id))
    return row


def nominate_star(uow: Uow, actor: Actor | None, command: c.NominateStar, settings: IncentivesSettings) -> c.StarView:
    with uow:
        stars.check_quarter(command.quarter, today(uow))
        uow.access.require(actor, "incentives.talent.assess", access.of(access.TALENT, command.person_id))
        card(uow, command.person_id)
        taken = uow.session.scalar(select(m.Star.id).where(m.Star.person_id == command.person_id,
                                                           m.Star.quarter == command.quarter))
        if taken is not None:
            raise NotAllowed(f"{command.person_id} is already nominated for {command.quarter}", field="person_id")
        row = m.Star(id=new_id(), person_id=command.person_id, quarter=command.quarter, title=command.title,
                     goal_path=command.goal_path, learned=command.learned, nominated_by=subject(actor) or "",
                     consent=False, status=stars.StarState.NOMINATED.value, approved_by=None,
                     points=settings.star_points, created_at=uow.now(), published_at=None)
        uow.session.add(row)
        return _star_view(row)


def consent_star(uow: Uow, actor: Actor | None, command: c.StarConsent) -> c.StarView:
    """Only the person decides whether their story is told."""
    with uow:
        row = _load_star(uow, actor, command.star_id, lock=True)
        if subject(actor) != row.person_id:
            raise NotAllowed("only the person consents to their story", field="actor_id")
        if row.status == stars.StarState.PUBLISHED and not command.consent:
            row.status = stars.StarState.WITHDRAWN.value  # consent withdrawn: off the dashboard (points stay)
        row.consent = command.consent
        return _star_view(row)


def approve_star(uow: Uow, actor: Actor | None, command: c.StarRef) -> c.StarView:
    with uow:
        row = _load_star(uow, actor, command.star_id, lock=True)
        uow.access.require(actor, "incentives.talent.calibrate", access.of(access.TALENT, row.person_id))
        stars.may_approve(stars.StarState(row.status))
        if subject(actor) == row.nominated_by:
            raise NotAllowed("the nominator does not approve their own nomination", field="actor_id")
        row.status, row.approved_by = stars.StarState.APPROVED.value, subject(actor)
        return _star_view(row)


def publish_star(uow: Uow, actor: Actor | None, command: c.StarRef) -> c.StarView:
    with uow:
        row = _load_star(uow, actor, command.star_id, lock=True)
        uow.access.require(actor, "incentives.talent.calibrate", access.of(access.TALENT, row.person_id))
        stars.may_publish(stars.StarState(row.status), row.consent)
        row.status, row.published_at = stars.StarState.PUBLISHED.value, uow.now()
        points_uc.credit_many(uow, "earned", ledger.RULES,
                              [(row.person_id, row.points, f"performance star {row.quarter}", f"star:{row.id}")],
                              event_source="rule")
        uow.publish(c.StarPublished(star_id=row.id, person_id=row.person_id, quarter=row.quarter, title=row.title,
                                    points=row.points))
        return _star_view(row)


def list_stars(uow: Uow, actor: Actor | None, command: c.ListStars) -> c.Items:
    """The dashboard's story collection: published stories with consent, readable by every employee."""
    with uow:
        uow.access.require(actor, "incentives.config.read", access.company())
        rows = uow.session.scalars(select(m.Star).where(m.Star.quarter == command.quarter,
                                                        m.Star.status == stars.StarState.PUBLISHED.value,
                                                        m.Star.consent.is_(True)).order_by(m.Star.published_at))
        return c.Items(items=[_star_view(row) for row in rows])
