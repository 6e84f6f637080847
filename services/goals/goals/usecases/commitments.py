"""Resource commitments: what a manager promised for a goal (training, a budget, another unit's collaboration),
tracked as promised -> delivered / missed, every move with who, when and a note."""
from __future__ import annotations

from chassis.errors import InvalidInput
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, can, deny, require
from goals.domain import commitments as rules
from goals.domain.cycles import Change
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import allow, check_version, load_cycle, load_goal, no_commitment, no_goal, touch
from goals.views import commitment_view


def _event(commitment: m.Commitment, goal: m.Goal, before: str | None, note: str) -> c.CommitmentChanged:
    return c.CommitmentChanged(commitment_id=commitment.id, goal_id=goal.id, kind=commitment.kind,
                               description=commitment.description, amount=commitment.amount,
                               provider_id=commitment.provider_id, owner_id=goal.responsible_id, before=before,
                               after=commitment.state, note=note)


def record_commitment(uow: GoalsUnitOfWork, actor: Actor | None, command: c.RecordCommitment) -> c.CommitmentView:
    if command.kind == "budget" and command.amount is None:
        raise InvalidInput.field("amount", "a budget commitment needs an amount")
    if command.amount is not None and command.currency is None:
        raise InvalidInput.field("currency", "an amount needs its currency")
    if command.kind == "collaboration" and command.from_org_unit_id is None:
        raise InvalidInput.field("from_org_unit_id", "say which unit's collaboration is promised")
    with uow:
        goal = load_goal(uow, command.goal_id)
        actor = require(uow, actor, "commitment.record", GoalRef.of(goal), missing=no_goal(goal.id))
        allow(load_cycle(uow, goal.cycle_id), Change.PROGRESS)
        if command.from_org_unit_id is not None and uow.access.index.unit(command.from_org_unit_id) is None:
            raise InvalidInput.field("from_org_unit_id", "no such org unit in the directory")
        shape = rules.Commitment(new_id(), goal.id, command.description, actor.subject, command.due_on)
        now = uow.now()
        commitment = m.Commitment(id=shape.id, goal_id=goal.id, kind=command.kind, description=shape.description,
                                  amount=command.amount, currency=command.currency,
                                  from_org_unit_id=command.from_org_unit_id, provider_id=actor.subject,
                                  due_on=command.due_on, state=shape.state.value, created_at=now, updated_at=now,
                                  version=1)
        change = m.CommitmentChange(commitment_id=commitment.id, before=None, after=commitment.state,
                                    actor_id=actor.subject, at=now, note="")
        uow.session.add(commitment)
        uow.session.flush()
        uow.session.add(change)
        uow.publish(_event(commitment, goal, None, ""))
        return commitment_view(commitment, [change])


def update_commitment(uow: GoalsUnitOfWork, actor: Actor | None, command: c.UpdateCommitment) -> c.CommitmentView:
    with uow:
        commitment = uow.commitments.get(command.commitment_id, lock=True)
        if commitment is None:
            raise no_commitment(command.commitment_id)
        goal = load_goal(uow, commitment.goal_id)
        ref = GoalRef.of(goal)
        # the provider and the owner's managers say it was delivered or missed; so may the owner, who received it
        if actor is None or not (actor.subject in (commitment.provider_id, goal.responsible_id)
                                 or can(uow, actor, "commitment.record", ref)):
            deny(uow, actor, "commitment.update", ref,
                 "only the provider, the goal's owner or their managers update a commitment",
                 missing=no_commitment(commitment.id))
        check_version(commitment, command.expected_version)
        allow(load_cycle(uow, goal.cycle_id), Change.PROGRESS)
        current = rules.Commitment(commitment.id, goal.id, commitment.description, commitment.provider_id,
                                   commitment.due_on, rules.CommitmentState(commitment.state))
        moved, record = rules.move(current, rules.CommitmentState(command.state), actor_id=actor.subject,
                                   at=uow.now(), note=command.note)
        before = commitment.state
        commitment.state = moved.state.value
        touch(commitment, uow)
        uow.session.add(m.CommitmentChange(commitment_id=commitment.id, before=before, after=commitment.state,
                                           actor_id=record.actor_id, at=record.at, note=record.note))
        uow.publish(_event(commitment, goal, before, command.note))
        uow.session.flush()
        return commitment_view(commitment, uow.commitments.history([commitment.id]).get(commitment.id, []))


def list_commitments(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListCommitments) -> c.CommitmentList:
    with uow:
        goal = load_goal(uow, command.goal_id)
        require(uow, actor, "goal.read", GoalRef.of(goal), missing=no_goal(goal.id))
        rows = uow.commitments.of_goal(goal.id)
        history = uow.commitments.history([r.id for r in rows])
        return c.CommitmentList(items=[commitment_view(r, history.get(r.id, [])) for r in rows])
