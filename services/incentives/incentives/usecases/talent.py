"""Development plans from finalized ratings, potential assessments and the 9-box talent review."""
from __future__ import annotations

from typing import cast

from chassis.ids import new_id
from contracts import incentives as c
from contracts.actor import Actor
from incentives import access, views
from incentives import models as m
from incentives.domain import idp as plans
from incentives.domain import ninebox
from incentives.domain.errors import InvalidInput, NotAllowed, NotFound
from incentives.settings import IncentivesSettings
from incentives.usecases.common import Uow, bulk_objects, card, members_of, require_or_hide, subject, today

# -- IDP -------------------------------------------------------------------------------------------------------

def plan_from_rating(uow: Uow, rating: m.Rating, reason: str) -> None:
    """Create or update the person's plan for the rating's cycle (in the rating event's unit of work). A rating
    in the middle of the scale creates nothing; an amended rating that changes the track replaces the actions not
    yet done, and one that calls for no plan any more (a C amended to a B) withdraws them: the plan keeps its
    track and the actions done as history, follows the new rating and loses its check-in cadence."""
    track, actions = plans.plan_for(rating.label, rating.person_id, rating.manager_id, rating.at.date())
    plan = uow.talent.idp(rating.person_id, rating.review_cycle_id, lock=True)
    now = uow.now()
    if track is None and plan is None:
        return
    if plan is None:
        assert track is not None  # narrowed: no plan and no track returned above
        plan = m.Idp(id=new_id(), person_id=rating.person_id, review_cycle_id=rating.review_cycle_id, track=track,
                     rating_label=rating.label, version=1,
                     checkin_every_days=plans.CHECKIN_EVERY_DAYS if track == "improvement" else None,
                     created_at=now, updated_at=now)
        uow.session.add(plan)
        uow.session.add_all(_action_rows(plan.id, actions))
        uow.publish(c.IdpCreated(plan_id=plan.id, person_id=plan.person_id, review_cycle_id=plan.review_cycle_id,
                                 track=track, rating_label=rating.label, actions=[a.code for a in actions]))
        return
    if plan.rating_label == rating.label:
        return  # the same rating delivered again, or an amendment that changes nothing for the plan
    if plan.track != track:
        for action in uow.talent.actions(plan.id):
            if action.done_on is None:
                uow.session.delete(action)
        uow.session.flush()
        done = {a.code for a in uow.talent.actions(plan.id)}
        uow.session.add_all(_action_rows(plan.id, [a for a in actions if a.code not in done]))
    kept: plans.Track = track if track is not None else cast(plans.Track, plan.track)
    plan.track, plan.rating_label, plan.version, plan.updated_at = kept, rating.label, plan.version + 1, now
    plan.checkin_every_days = plans.CHECKIN_EVERY_DAYS if track == "improvement" else None
    uow.publish(c.IdpUpdated(plan_id=plan.id, person_id=plan.person_id, review_cycle_id=plan.review_cycle_id,
                             track=kept, rating_label=rating.label, version=plan.version, reason=reason))


def _action_rows(plan_id: str, actions: list[plans.PlannedAction]) -> list[m.IdpAction]:
    return [m.IdpAction(plan_id=plan_id, code=a.code, title=a.title, owner_id=a.owner_id, due_on=a.due_on,
                        priority=a.priority, done_on=None, note="") for a in actions]


def get_idp(uow: Uow, actor: Actor | None, command: c.IdpQuery) -> c.IdpView:
    with uow:
        uow.access.require(actor, "incentives.talent.read", access.of(access.TALENT, command.person_id))
        plan = uow.talent.idp(command.person_id)
        if plan is None:
            raise NotFound(f"{command.person_id} has no development plan", field="person_id")
        return views.idp_view(plan, uow.talent.actions(plan.id))


def complete_action(uow: Uow, actor: Actor | None, command: c.CompleteIdpAction) -> c.IdpView:
    with uow:
        plan = uow.talent.idp_by_id(command.plan_id, lock=True)
        missing = NotFound(f"plan {command.plan_id} does not exist", field="plan_id", ids=[command.plan_id])
        if plan is None:
            raise missing
        require_or_hide(uow, actor, "incentives.idp.update", access.of(access.TALENT, plan.person_id), missing,
                        visible_with="incentives.talent.read")
        action = next((a for a in uow.talent.actions(plan.id) if a.code == command.action_code), None)
        if action is None:
            raise NotFound(f"the plan has no action {command.action_code}", field="action_code")
        if action.done_on is not None:
            raise NotAllowed(f"{command.action_code} was completed on {action.done_on}", field="action_code")
        action.done_on, action.note = today(uow), command.note
        plan.updated_at = uow.now()
        return views.idp_view(plan, uow.talent.actions(plan.id))


# -- potential and the 9-box ------------------------------------------------------------------------------------

def assess_potential(uow: Uow, actor: Actor | None, command: c.AssessPotential,
                     settings: IncentivesSettings) -> c.PotentialView:
    level = ninebox.potential_from_rubric({str(item): score for item, score in command.rubric.items()})
    with uow:
        uow.access.require(actor, "incentives.talent.assess", access.of(access.TALENT, command.person_id))
        card(uow, command.person_id)
        row = uow.talent.potential(command.person_id, command.review_cycle_id, lock=True)
        if row is None:
            row = m.Potential(person_id=command.person_id, review_cycle_id=command.review_cycle_id, calibrated=None,
                              calibrated_by=None, reason="")
            uow.session.add(row)
        row.assessed, row.rubric, row.assessed_by = level, dict(command.rubric), subject(actor)
        row.updated_at = uow.now()
        uow.session.flush()
        return _potential_view(uow, row, settings)


def calibrate_potential(uow: Uow, actor: Actor | None, command: c.CalibratePotential,
                        settings: IncentivesSettings) -> c.PotentialView:
    with uow:
        uow.access.require(actor, "incentives.talent.calibrate", access.of(access.TALENT, command.person_id))
        row = uow.talent.potential(command.person_id, command.review_cycle_id, lock=True)
        if row is None or row.assessed is None:
            raise NotAllowed("HR calibrates a potential the manager assessed first", field="person_id")
        row.calibrated, row.calibrated_by, row.reason, row.updated_at = (command.potential, subject(actor),
                                                                         command.reason, uow.now())
        uow.session.flush()
        return _potential_view(uow, row, settings)


def _potential_view(uow: Uow, row: m.Potential, settings: IncentivesSettings) -> c.PotentialView:
    potential = row.calibrated or row.assessed
    box = place(uow, row.person_id, row.review_cycle_id, settings)
    return c.PotentialView(person_id=row.person_id, review_cycle_id=row.review_cycle_id, assessed=row.assessed,
                           calibrated=row.calibrated, potential=potential, box=None if box is None else box.code)


def place(uow: Uow, person_id: str, review_cycle_id: str, settings: IncentivesSettings) -> ninebox.Box | None:
    """(Re)place a person once both a finalized rating and a potential exist; publish when the box changes."""
    rating = uow.inputs.latest_rating(person_id, review_cycle_id)
    potential = uow.talent.potential(person_id, review_cycle_id)
    level = None if potential is None else cast(ninebox.Level | None, potential.calibrated or potential.assessed)
    if rating is None or level is None:
        return None
    box = ninebox.place(ninebox.performance_level(rating.label, settings.performance_levels), level)
    before = uow.talent.placements(review_cycle_id, [person_id]).get(person_id)
    if before is not None and before.box == box.code:
        return box
    previous = _previous_box(uow, person_id, review_cycle_id)
    uow.talent.place({"person_id": person_id, "review_cycle_id": review_cycle_id, "box": box.code,
                      "performance": ninebox.performance_level(rating.label, settings.performance_levels),
                      "potential": level, "placed_at": uow.now()})
    uow.publish(c.NineBoxPlaced(person_id=person_id, review_cycle_id=review_cycle_id, box=box.code,
                                performance=ninebox.performance_level(rating.label, settings.performance_levels),
                                potential=level, movement=ninebox.movement(previous, box)))
    return box


def _previous_box(uow: Uow, person_id: str, review_cycle_id: str) -> ninebox.Box | None:
    from sqlalchemy import select

    row = uow.session.execute(select(m.Placement.box).where(m.Placement.person_id == person_id,
                                                            m.Placement.review_cycle_id != review_cycle_id)
                              .order_by(m.Placement.placed_at.desc()).limit(1)).first()
    return None if row is None else _box(row.box)


def _box(code: str) -> ninebox.Box:
    return next(box for box in ninebox.BOXES.values() if box.code == code)


def nine_box(uow: Uow, actor: Actor | None, command: c.NineBoxQuery, settings: IncentivesSettings) -> c.NineBoxView:
    """The unit's people (and those of the units below it) placed by their newest rating in the cycle and their
    potential (HR's calibration, else the manager's assessment); movement against a previous cycle's placements.

    For whole companies: three plain queries, the unit filtered in memory, one trusted model per person (built from
    the service's own rows: no validation, no per-field lookups) and the view around them validated once."""
    with uow, bulk_objects():
        uow.access.require(actor, "incentives.unit.read", access.unit(command.org_unit_id))
        members = members_of(uow, command.org_unit_id)
        ratings = {person: label for person, label in uow.inputs.labels(command.review_cycle_id).items()
                   if person in members}
        levels = uow.talent.levels(command.review_cycle_id)
        before = {} if command.previous_cycle_id is None else uow.talent.boxes(command.previous_cycle_id)
        rows = [(pid, label, levels[pid]) for pid, label in sorted(ratings.items()) if pid in levels]
        try:
            placed = ninebox.place_many(rows, settings.performance_levels)
        except KeyError as missing:
            raise InvalidInput("performance_levels", f"no performance level for rating {missing}") from None
        by_code = {box.code: box for box in ninebox.BOXES.values()}
        moves: dict[tuple[str | None, str], str] = {}
        cells: dict[str, list[c.NineBoxPerson]] = {box.code: [] for box in ninebox.BOXES.values()}
        for (pid, label, level), (_, box) in zip(rows, placed, strict=True):
            previous = before.get(pid)
            move = moves.get((previous, box.code))
            if move is None:
                move = moves[(previous, box.code)] = ninebox.movement(
                    None if previous is None else by_code[previous], box)
            cells[box.code].append(views.trusted(c.NineBoxPerson, {
                "person_id": pid, "rating_label": label, "potential": level, "movement": move,
                "decisions": list(box.decisions)}))
        return c.NineBoxView.model_validate({
            "review_cycle_id": command.review_cycle_id, "org_unit_id": command.org_unit_id,
            "cells": [{"code": box.code, "name": box.name, "zh": box.zh, "performance": perf, "potential": pot,
                       "people": cells[box.code]} for (perf, pot), box in ninebox.BOXES.items()],
            "unplaced": len(ratings) - len(rows)})
