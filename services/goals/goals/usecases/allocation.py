"""Weighted target allocation: split a parent goal's target among its children (equally, by given shares, or by
weighted factors such as city GDP and customer density), within per-child minimums and maximums, keeping the
exact total. Preview first; applying opens one proposal per child owner, so each owner can accept or push back."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from chassis.errors import Forbidden, InvalidInput, Unprocessable
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, require
from goals.domain import allocation as rules
from goals.domain import negotiation as n
from goals.domain.cycles import Change
from goals.repositories import GoalsUnitOfWork, bulk_insert, table_of
from goals.usecases.common import allow, load_cycle, load_goal, no_goal
from goals.usecases.negotiation import domain_thread, field_change
from goals.views import headline_target


def _preview(uow: GoalsUnitOfWork, actor: Actor | None, command: c.PreviewAllocation
             ) -> tuple[Actor, c.AllocationPreview, list[tuple[Any, str | None]]]:
    """(the actor, allowed to change the parent; the preview; the children's goals and key results)."""
    parent = load_goal(uow, command.parent_goal_id, field="parent_goal_id")
    actor = require(uow, actor, "goal.update", GoalRef.of(parent), missing=no_goal(parent.id, "parent_goal_id"))
    if command.children:
        goals = uow.goals.summaries([ch.goal_id for ch in command.children])
        for i, child in enumerate(command.children):
            goal = goals.get(child.goal_id)
            if goal is None or goal.parent_id != parent.id:
                raise InvalidInput.field(f"children.{i}.goal_id", "is not a child of the parent goal")
        requested = command.children
    else:
        goals = uow.goals.children_summaries(parent.id)
        requested = [c.AllocationChild(goal_id=goal_id) for goal_id in sorted(goals)]
    if not requested:
        raise InvalidInput.field("children", "the parent goal has no children to allocate to")
    ids = [ch.goal_id for ch in requested]
    if len(set(ids)) != len(ids):
        raise InvalidInput.field("children", "a child is listed twice")
    key_results = uow.goals.key_result_targets([parent.id, *(i for i in ids if goals[i].kind == "okr")])
    total = command.total if command.total is not None else headline_target(parent, key_results.get(parent.id, []))
    if total is None:
        raise InvalidInput.field("total", "the parent has no single target: give the total to allocate")
    children, targets = [], []
    for i, child in enumerate(requested):
        goal = goals[child.goal_id]
        krs = key_results.get(goal.id, [])
        if child.key_result_id is not None:
            kr = next((k for k in krs if k.id == child.key_result_id), None)
            if kr is None:
                raise InvalidInput.field(f"children.{i}.key_result_id", "is not a key result of this child")
            current = kr.target
        elif goal.kind == "kpi" or len(krs) == 1:
            current = headline_target(goal, krs)
            kr = krs[0] if goal.kind == "okr" else None
        else:
            raise InvalidInput.field(f"children.{i}.key_result_id", "this child has several key results: say which")
        if command.method == "weighted" and child.weight is None:
            raise InvalidInput.field(f"children.{i}.weight", "the weighted method needs every child's weight")
        children.append(rules.Child(goal.id, child.minimum, child.maximum, child.weight or Decimal(1),
                                    dict(child.factors)))
        targets.append((goal, kr.id if kr is not None else None, current))
    if command.method == "equal":
        parts = rules.allocate_equal(total, children, command.places)
    elif command.method == "weighted":
        parts = rules.allocate_weighted(total, children, command.places)
    else:
        if not command.factor_weights:
            raise InvalidInput.field("factor_weights", "the factors method needs the factors' weights")
        parts = rules.allocate_by_factors(total, children, command.factor_weights, command.places)
    items = [c.AllocationItem(goal_id=goal.id, key_result_id=kr_id, owner_id=goal.responsible_id,
                              current_target=current, allocated=parts[goal.id])
             for goal, kr_id, current in targets]
    preview = c.AllocationPreview(parent_goal_id=parent.id, total=total, method=command.method, items=items)
    return actor, preview, [(goal, kr_id) for goal, kr_id, _ in targets]


def preview_allocation(uow: GoalsUnitOfWork, actor: Actor | None, command: c.PreviewAllocation) -> c.AllocationPreview:
    with uow:
        return _preview(uow, actor, command)[1]


def apply_allocation(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ApplyAllocation) -> c.AllocationResult:
    """One proposal per child (target change, with the rationale) from the actor, who must be the direct
    manager of every child's owner; all or nothing."""
    with uow:
        actor, preview, children = _preview(uow, actor, command)
        index = uow.access.index
        strangers = [g.id for g, _ in children if index.manager_of(g.responsible_id) != actor.subject]
        if strangers:
            reason = "allocation proposes to the owners the actor manages directly"
            uow.record_denial(actor, "goal.negotiate", GoalRef.of(children[0][0]).resource, reason)
            raise Forbidden(f"{reason}; not the manager of the owners of {', '.join(strangers[:20])}",
                            errors=[{"field": "children", "message": "not your direct report's goal",
                                     "ids": strangers}])
        for cycle_id in sorted({g.cycle_id for g, _ in children}):
            allow(load_cycle(uow, cycle_id), Change.PROPOSE)
        allocation_id = new_id()
        proposals = _open_proposals(uow, actor.subject, command.rationale, preview, children, allocation_id)
        uow.session.add(m.Allocation(
            id=allocation_id, parent_goal_id=preview.parent_goal_id, method=preview.method, total=preview.total,
            factor_weights={k: str(v) for k, v in command.factor_weights.items()},
            items=[item.model_dump(mode="json") for item in preview.items], created_by=actor.subject,
            created_at=uow.now()))
        uow.publish(c.AllocationApplied(allocation_id=allocation_id, parent_goal_id=preview.parent_goal_id,
                                        method=preview.method, factor_weights=command.factor_weights,
                                        total=preview.total, items=preview.items))
        return c.AllocationResult(allocation_id=allocation_id, preview=preview, proposals=proposals)


def _open_proposals(uow: GoalsUnitOfWork, manager: str, rationale: str, preview: c.AllocationPreview,
                    children: Sequence[tuple[Any, str | None]], allocation_id: str) -> list[c.AppliedProposal]:
    """The proposals, in bulk: one thread per owner (found or started), one entry per owner, one goal link per
    child; new threads, entries and links are written in one statement each."""

    by_cycle: dict[str, list[int]] = {}
    for i, (goal, _) in enumerate(children):
        by_cycle.setdefault(goal.cycle_id, []).append(i)
    now = uow.now()
    new_threads: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    results: list[c.AppliedProposal] = []
    events: list[c.ProposalOpened] = []
    for cycle_id, positions in by_cycle.items():
        owners = sorted({children[i][0].responsible_id for i in positions})
        threads = uow.negotiations.between_many(cycle_id, owners, manager)
        history = uow.negotiations.entries([t.id for t in threads.values()])
        domain: dict[str, n.Thread] = {}
        thread_ids: dict[str, str] = {}
        for owner in owners:
            found = threads.get(owner)
            if found is None:
                new = {"id": new_id(), "cycle_id": cycle_id, "owner_id": owner, "manager_id": manager,
                       "created_at": now, "entry_count": 1}
                new_threads.append(new)
                thread_ids[owner] = new["id"]
                domain[owner] = n.Thread(new["id"], owner, manager)
            else:
                thread_ids[owner] = found.id
                domain[owner] = domain_thread(found, history.get(found.id, []))
        busy = [children[i][0].id for i in positions if domain[children[i][0].responsible_id].open_proposal]
        if busy:
            raise Unprocessable("some owners already have an open proposal to answer first",
                                errors=[{"field": "children", "message": "an open proposal is waiting",
                                         "ids": busy[:100]}])
        per_owner: dict[str, list[int]] = {}
        for i in positions:
            per_owner.setdefault(children[i][0].responsible_id, []).append(i)
        for owner, mine in per_owner.items():  # an owner with several children gets one proposal for them all
            changes = [{"goal_id": children[i][0].id, "key_result_id": children[i][1], "field": "target",
                        "value": str(preview.items[i].allocated)} for i in mine]
            thread_id = thread_ids[owner]
            proposal_id = new_id()
            thread = n.propose(domain[owner], actor_id=manager, proposal_id=proposal_id,
                               changes=[field_change(change) for change in changes], rationale=rationale, at=now)
            entry = thread.entries[-1]
            entries.append({"negotiation_id": thread_id, "seq": entry.seq, "action": entry.action.value,
                            "proposal_id": proposal_id, "actor_id": manager, "party": entry.party.value,
                            "at": now, "text": rationale, "changes": changes, "replaces": None})
            if (found := threads.get(owner)) is not None:
                found.entry_count = entry.seq + 1
            for i in mine:
                goal_id = children[i][0].id
                links.append({"proposal_id": proposal_id, "goal_id": goal_id, "negotiation_id": thread_id})
                results.append(c.AppliedProposal(goal_id=goal_id, negotiation_id=thread_id, proposal_id=proposal_id))
            events.append(c.ProposalOpened(negotiation_id=thread_id, proposal_id=proposal_id, cycle_id=cycle_id,
                                           owner_id=owner, manager_id=manager,
                                           proposed_by=entry.party.value, replaces=None,
                                           changes=[c.ChangeView(**change) for change in changes],
                                           rationale=rationale, allocation_id=allocation_id))
    session = uow.session
    session.flush()
    bulk_insert(session, table_of(m.Negotiation), new_threads)
    bulk_insert(session, table_of(m.NegotiationEntry), entries)
    bulk_insert(session, table_of(m.ProposalGoal), links)
    uow.publish(*events)
    return results
