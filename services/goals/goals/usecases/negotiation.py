"""Two-way negotiation: the owner or their manager proposes changes (target, weight, deadline, resources) with a
rationale; the other party counters, accepts or rejects; the proposer may withdraw. The thread is append-only and
stays archived on the goals it touched. An accepted proposal's changes apply in the same transaction as the
acceptance, or not at all."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chassis.errors import InvalidInput, Unprocessable
from chassis.ids import new_id
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import GoalRef, can, deny, manager_of, person_resource, require
from goals.domain import negotiation as n
from goals.domain.cycles import Change
from goals.domain.errors import InvalidInput as DomainInvalidInput
from goals.domain.weights import check_weights
from goals.repositories import GoalsUnitOfWork
from goals.rules import build_schedule, check_kpi, kpi_band, kpi_of, milestones_of, scaled_thresholds, segments_of
from goals.usecases.common import (
    actor_id,
    allow,
    load_cycle,
    load_goal,
    no_goal,
    no_proposal,
    reassess,
    recompute,
    record_change,
    roll_up,
    touch,
)
from goals.views import decode_cursor, encode_cursor

# -- stored changes <-> domain changes -------------------------------------------------------------------------------

def _to_json(change: c.ChangeInput) -> dict[str, Any]:
    value = change.value
    if isinstance(value, Decimal):
        value = str(value)
    elif isinstance(value, date):
        value = value.isoformat()
    else:
        value = list(value)
    return {"goal_id": change.goal_id, "key_result_id": change.key_result_id, "field": change.field, "value": value}


def field_change(item: dict[str, Any]) -> n.FieldChange:
    value = item["value"]
    if item["field"] in ("target", "weight"):
        value = Decimal(value)
    elif item["field"] == "deadline":
        value = date.fromisoformat(value)
    return n.FieldChange(item["key_result_id"] or item["goal_id"], n.ChangeField(item["field"]), value)


def _entry(row: m.NegotiationEntry) -> n.Entry:
    return n.Entry(row.seq, n.Action(row.action), row.proposal_id, row.actor_id, n.Party(row.party), row.at,
                   row.text, tuple(field_change(item) for item in row.changes), row.replaces)


def domain_thread(row: m.Negotiation, entries: Sequence[m.NegotiationEntry]) -> n.Thread:
    return n.Thread(row.id, row.owner_id, row.manager_id, tuple(_entry(e) for e in entries))


def thread_view(row: m.Negotiation, entries: Sequence[m.NegotiationEntry]) -> c.ThreadView:
    domain = domain_thread(row, entries)
    open_entry = domain.open_proposal
    return c.ThreadView(
        id=row.id, cycle_id=row.cycle_id, owner_id=row.owner_id, manager_id=row.manager_id,
        entries=[c.EntryView(seq=e.seq, action=e.action, proposal_id=e.proposal_id, actor_id=e.actor_id,
                             party=e.party, at=e.at, text=e.text,
                             changes=[c.ChangeView(**item) for item in e.changes], replaces=e.replaces)
                 for e in entries],
        open_proposal_id=open_entry.proposal_id if open_entry else None,
        awaiting=domain.awaiting.value if domain.awaiting else None,
    )


# -- planning and applying changes ---------------------------------------------------------------------------------

@dataclass
class Planned:
    goal: m.Goal
    key_result: m.KeyResult | None
    field: str
    before: Any
    after: Any

    def view(self) -> c.FieldChangeApplied:
        return c.FieldChangeApplied(goal_id=self.goal.id, key_result_id=self.key_result.id if self.key_result else None,
                                    field=self.field, before=_plain(self.before), after=_plain(self.after))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _subject(uow: GoalsUnitOfWork, changes: Sequence[c.ChangeInput], *, lock: bool) -> tuple[dict[str, m.Goal], str,
             str]:
    """The goals a proposal touches; they must exist and belong to one person in one cycle.
    Returns (goals by id, cycle id, the person responsible)."""
    ids = [ch.goal_id for ch in changes]
    goals = uow.goals.many(ids, lock=lock)
    for i, change in enumerate(changes):
        if change.goal_id not in goals:
            raise InvalidInput.field(f"changes.{i}.goal_id", "no such goal")
    people = {g.responsible_id for g in goals.values()}
    cycles = {g.cycle_id for g in goals.values()}
    if len(people) > 1 or len(cycles) > 1:
        raise InvalidInput.field("changes", "one proposal is about the goals of one person in one cycle")
    return goals, cycles.pop(), people.pop()


_VALUE_TYPES: dict[str, type] = {"target": Decimal, "weight": Decimal, "deadline": date, "resources": tuple}


def plan(uow: GoalsUnitOfWork, goals: dict[str, m.Goal], changes: Sequence[dict[str, Any]], *,
         field: str = "changes") -> list[Planned]:
    """Check that stored changes can apply now and work out each field's before and after; raises the 4xx a
    bad change deserves (naming it) and changes nothing."""
    key_results = uow.goals.key_results(list(goals))
    planned: list[Planned] = []
    weights: dict[str, dict[str, Decimal]] = {}
    for i, item in enumerate(changes):
        goal = goals[item["goal_id"]]
        where = f"{field}.{i}"
        kind = item["field"]
        value = field_change(item).value
        if not isinstance(value, _VALUE_TYPES[kind]):  # stored changes are not trusted
            raise InvalidInput.field(f"{where}.value", f"is not a valid {kind}")
        kr = None
        if kind == "target" and isinstance(value, Decimal):
            if item["key_result_id"] is not None:
                kr = next((k for k in key_results.get(goal.id, []) if k.id == item["key_result_id"]), None)
                if kr is None:
                    raise InvalidInput.field(f"{where}.key_result_id", "is not a key result of this goal")
                planned.append(Planned(goal, kr, kind, kr.target, value))
            elif goal.kind == "kpi":
                green, yellow = scaled_thresholds(goal, value, field=f"{where}.value")
                check_kpi(kpi_of(goal).direction, value, green, yellow, field=f"{where}.value")
                planned.append(Planned(goal, None, kind, goal.target, value))
            else:
                krs = key_results.get(goal.id, [])
                if len(krs) != 1:
                    raise InvalidInput.field(f"{where}.key_result_id", "this goal has several key results: say which")
                planned.append(Planned(goal, krs[0], kind, krs[0].target, value))
        elif kind == "weight" and isinstance(value, Decimal):
            if goal.owner_kind == "person":
                person = weights.setdefault(goal.responsible_id, {
                    g.id: g.weight for g in uow.goals.person_goals(goal.cycle_id, goal.responsible_id)})
                person[goal.id] = value
            planned.append(Planned(goal, None, kind, goal.weight, value))
        elif kind == "deadline" and isinstance(value, date):
            pieces = uow.goals.segments([goal.id]).get(goal.id, [])
            try:
                build_schedule(goal.start_on, value, milestones_of(goal, pieces))
            except DomainInvalidInput as error:
                raise DomainInvalidInput(f"{where}.value", f"the new deadline does not fit: {error}") from None
            planned.append(Planned(goal, None, kind, goal.due_on, value))
        elif isinstance(value, tuple):
            planned.append(Planned(goal, None, kind, list(goal.resources_needed or []), list(value)))
    for owner, merged in weights.items():
        check_weights(merged, field=f"weights.{owner}")
    return planned


def apply(uow: GoalsUnitOfWork, planned: Sequence[Planned], provider_id: str, proposal_id: str) -> None:
    """Write planned changes (checked by `plan` in the same transaction), settle progress and colours, publish
    what changed per goal."""
    touched: dict[str, m.Goal] = {}
    per_goal: dict[str, dict[str, dict[str, Any]]] = {}
    for change in planned:
        goal = change.goal
        touched[goal.id] = goal
        label = f"key_results.{change.key_result.id}.target" if change.key_result else change.field
        per_goal.setdefault(goal.id, {})[label] = {"before": _plain(change.before), "after": _plain(change.after)}
        if change.field == "target":
            if change.key_result is not None:
                change.key_result.target = change.after
            else:
                goal.green, goal.yellow = scaled_thresholds(goal, change.after)
                goal.target = change.after
                goal.kpi_band = kpi_band(goal)
        elif change.field == "weight":
            goal.weight = change.after
        elif change.field == "deadline":
            pieces = uow.goals.segments([goal.id]).get(goal.id, [])
            milestones = milestones_of(goal, pieces)
            goal.due_on = change.after
            if milestones:
                uow.goals.replace_segments(goal.id, segments_of(build_schedule(goal.start_on, goal.due_on, milestones)))
        else:
            goal.resources_needed = list(change.after)
            _promise_resources(uow, goal, change.after, provider_id)
    settled: list[m.Goal] = []
    for goal in touched.values():
        touch(goal, uow)
        recompute(uow, goal)
        settled += [goal, *roll_up(uow, goal.parent_id)]
    reassess(uow, settled)
    for goal_id, changes in per_goal.items():
        goal = touched[goal_id]
        record_change(uow, goal, actor_id(uow), changes, source="proposal", reason=f"proposal {proposal_id} accepted",
                      via_proposal_id=proposal_id)


def _promise_resources(uow: GoalsUnitOfWork, goal: m.Goal, needs: Sequence[str], provider_id: str) -> None:
    """Agreed resource needs become commitments the manager is now tracked on."""
    for need in needs:
        commitment = m.Commitment(id=new_id(), goal_id=goal.id, kind="other", description=need, amount=None,
                                  currency=None, from_org_unit_id=None, provider_id=provider_id, due_on=None,
                                  state="promised", created_at=uow.now(), updated_at=uow.now(), version=1)
        uow.session.add(commitment)
        uow.session.add(m.CommitmentChange(commitment_id=commitment.id, before=None, after="promised",
                                           actor_id=provider_id, at=uow.now(), note="agreed in negotiation"))
        uow.publish(c.CommitmentChanged(commitment_id=commitment.id, goal_id=goal.id, kind="other", description=need,
                                        amount=None, provider_id=provider_id, owner_id=goal.responsible_id,
                                        before=None, after="promised", note="agreed in negotiation"))


# -- use cases -------------------------------------------------------------------------------------------------------

def _parties(uow: GoalsUnitOfWork, goal: m.Goal) -> tuple[str, str]:
    """(owner, manager) of the thread about this goal."""
    manager = manager_of(uow, goal.responsible_id)
    if manager is None:
        raise Unprocessable(f"{goal.responsible_id} has no manager in the directory to negotiate with",
                            errors=[{"field": "changes", "message": "the owner has no manager"}])
    return goal.responsible_id, manager


def thread_between(uow: GoalsUnitOfWork, cycle_id: str, owner: str, manager: str) -> m.Negotiation:
    row = uow.negotiations.between(cycle_id, owner, manager, lock=True)
    if row is None:
        row = m.Negotiation(id=new_id(), cycle_id=cycle_id, owner_id=owner, manager_id=manager, created_at=uow.now(),
                            entry_count=0)
        uow.session.add(row)
        uow.session.flush()
    return row


def append(uow: GoalsUnitOfWork, row: m.Negotiation, thread: n.Thread, goal_ids: Sequence[str] = (),
           changes: Sequence[dict[str, Any]] = ()) -> m.NegotiationEntry:
    """Store the thread's newest entry (`changes` as stored JSON for a proposal)."""
    entry = thread.entries[-1]
    stored = m.NegotiationEntry(
        negotiation_id=row.id, seq=entry.seq, action=entry.action.value, proposal_id=entry.proposal_id,
        actor_id=entry.actor_id, party=entry.party.value, at=entry.at, text=entry.text, changes=list(changes),
        replaces=entry.replaces)
    uow.session.add(stored)
    for goal_id in sorted(set(goal_ids)):
        uow.session.add(m.ProposalGoal(proposal_id=entry.proposal_id, goal_id=goal_id, negotiation_id=row.id))
    row.entry_count = entry.seq + 1
    return stored


def _load(uow: GoalsUnitOfWork, proposal_id: str) -> tuple[m.Negotiation, list[m.NegotiationEntry]]:
    negotiation_id = uow.negotiations.of_proposal(proposal_id)
    if negotiation_id is None:
        raise no_proposal(proposal_id)
    row = uow.negotiations.get(negotiation_id, lock=True)
    if row is None:
        raise no_proposal(proposal_id)
    return row, uow.negotiations.entries([row.id]).get(row.id, [])


def _require_party(uow: GoalsUnitOfWork, actor: Actor | None, row: m.Negotiation, proposal_id: str,
                   entries: Sequence[m.NegotiationEntry]) -> Actor:
    """Only the owner and their manager act in a thread. Anyone else who reads one of the proposal's goals (as
    `get_negotiation` shows the thread) gets 403; a caller who reads none of them the 404 of a missing proposal."""
    if actor is not None and actor.subject in (row.owner_id, row.manager_id):
        return actor
    reason = "only the owner and their manager take part in this negotiation"
    goal_ids = sorted({item["goal_id"] for e in entries if e.proposal_id == proposal_id for item in e.changes})
    if any(can(uow, actor, "goal.read", GoalRef.of(goal)) for goal in uow.goals.many(goal_ids).values()):
        deny(uow, actor, "goal.negotiate", person_resource(row.owner_id), reason)
    uow.record_denial(actor, "goal.negotiate", person_resource(row.owner_id), reason)
    raise no_proposal(proposal_id)


def propose(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ProposeChange) -> c.ProposalView:
    with uow:
        return _propose(uow, actor, command.changes, command.rationale, None)


def counter(uow: GoalsUnitOfWork, actor: Actor | None, command: c.CounterProposal) -> c.ProposalView:
    with uow:
        return _propose(uow, actor, command.changes, command.rationale, command.proposal_id)


def _propose(uow: GoalsUnitOfWork, actor: Actor | None, changes: Sequence[c.ChangeInput], rationale: str,
             replaces: str | None) -> c.ProposalView:
    goals, cycle_id, responsible = _subject(uow, changes, lock=False)
    first = goals[changes[0].goal_id]
    if replaces is not None:
        row, entries = _load(uow, replaces)
        actor = _require_party(uow, actor, row, replaces, entries)
        if row.owner_id != responsible or row.cycle_id != cycle_id:
            raise InvalidInput.field("changes", "a counter-proposal is about the same person's goals")
    else:
        # a goal the actor may not read is, to them, a goal that does not exist (as _subject answers)
        actor = require(uow, actor, "goal.negotiate", GoalRef.of(first),
                        missing=InvalidInput.field("changes.0.goal_id", "no such goal"))
        owner, manager = _parties(uow, first)
        row = thread_between(uow, cycle_id, owner, manager)
        entries = uow.negotiations.entries([row.id]).get(row.id, [])
    allow(load_cycle(uow, cycle_id), Change.PROPOSE)
    stored_changes = [_to_json(ch) for ch in changes]
    plan(uow, goals, stored_changes)
    thread = domain_thread(row, entries)
    proposal_id = new_id()
    domain_changes = [field_change(item) for item in stored_changes]
    if replaces is None:
        thread = n.propose(thread, actor_id=actor.subject, proposal_id=proposal_id, changes=domain_changes,
                           rationale=rationale, at=uow.now())
    else:
        thread = n.counter(thread, actor_id=actor.subject, replaces=replaces, proposal_id=proposal_id,
                           changes=domain_changes, rationale=rationale, at=uow.now())
        uow.publish(c.ProposalResolved(negotiation_id=row.id, proposal_id=replaces, cycle_id=row.cycle_id,
                                       owner_id=row.owner_id, manager_id=row.manager_id, outcome="countered",
                                       comment=rationale))
    stored = append(uow, row, thread, list(goals), stored_changes)
    uow.publish(c.ProposalOpened(negotiation_id=row.id, proposal_id=proposal_id, cycle_id=row.cycle_id,
                                 owner_id=row.owner_id, manager_id=row.manager_id, proposed_by=stored.party,
                                 replaces=replaces, changes=[c.ChangeView(**x) for x in stored_changes],
                                 rationale=rationale))
    entries = [*entries, stored]
    return c.ProposalView(negotiation_id=row.id, proposal_id=proposal_id, state="open",
                          thread=thread_view(row, entries))


def answer(uow: GoalsUnitOfWork, actor: Actor | None, command: c.AnswerProposal, action: str) -> c.ProposalView:
    with uow:
        row, entries = _load(uow, command.proposal_id)
        actor = _require_party(uow, actor, row, command.proposal_id, entries)
        thread = domain_thread(row, entries)
        applied: list[Planned] = []
        if action == "accept":
            proposal = next(e for e in entries if e.proposal_id == command.proposal_id
                            and e.action in ("propose", "counter"))
            thread, _ = n.accept(thread, actor_id=actor.subject, proposal_id=command.proposal_id, at=uow.now(),
                                 comment=command.comment)
            goals = uow.goals.many([item["goal_id"] for item in proposal.changes], lock=True)
            for cycle_id in sorted({g.cycle_id for g in goals.values()}):
                allow(load_cycle(uow, cycle_id), Change.DEFINE, via_accepted_proposal=True)
            applied = plan(uow, goals, proposal.changes, field="proposal.changes")
            apply(uow, applied, row.manager_id, command.proposal_id)
        elif action == "reject":
            thread = n.reject(thread, actor_id=actor.subject, proposal_id=command.proposal_id, at=uow.now(),
                              comment=command.comment)
        else:
            thread = n.withdraw(thread, actor_id=actor.subject, proposal_id=command.proposal_id, at=uow.now(),
                                comment=command.comment)
        stored = append(uow, row, thread)
        outcome = {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn"}[action]
        uow.publish(c.ProposalResolved(negotiation_id=row.id, proposal_id=command.proposal_id, cycle_id=row.cycle_id,
                                       owner_id=row.owner_id, manager_id=row.manager_id, outcome=outcome,
                                       comment=command.comment, applied=[p.view() for p in applied]))
        return c.ProposalView(negotiation_id=row.id, proposal_id=command.proposal_id, state=outcome,
                              thread=thread_view(row, [*entries, stored]), applied=[p.view() for p in applied])


def get_negotiation(uow: GoalsUnitOfWork, actor: Actor | None, command: c.GetNegotiation) -> c.NegotiationHistory:
    with uow:
        goal = load_goal(uow, command.goal_id)
        require(uow, actor, "goal.read", GoalRef.of(goal), missing=no_goal(goal.id))
        rows = uow.negotiations.of_goal(goal.id)
        entries = uow.negotiations.entries([r.id for r in rows])
        return c.NegotiationHistory(goal_id=goal.id, threads=[thread_view(r, entries.get(r.id, [])) for r in rows])


def list_proposals(uow: GoalsUnitOfWork, actor: Actor | None, command: c.ListProposals) -> c.ProposalList:
    """The proposals of the threads the actor is a party to (nobody else's: the actor decides, not the payload)."""
    after = decode_cursor(command.cursor, 3)
    try:
        position = (datetime.fromisoformat(after[0]), after[1], int(after[2])) if after else None
    except (TypeError, ValueError):
        raise InvalidInput.field("cursor", "is not a cursor this list gave") from None
    if position is not None and position[0].tzinfo is None:
        raise InvalidInput.field("cursor", "is not a cursor this list gave")
    me = actor.subject if actor is not None and actor.kind == "person" else None
    if me is None:
        return c.ProposalList(items=[])
    open_only = command.state == "open"
    with uow:
        rows = uow.negotiations.proposals_of(me, cycle_id=command.cycle_id, open_only=open_only,
                                             awaiting=command.awaiting == "me", after=position,
                                             limit=command.limit + 1)
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        closed = [] if open_only or command.awaiting else [r.negotiation_id for r in rows]
        states = {thread: n.proposal_states(entries)
                  for thread, entries in uow.negotiations.actions(closed).items()}
    items = []
    for row in rows:
        state = states[row.negotiation_id][row.proposal_id] if row.negotiation_id in states else n.ProposalState.OPEN
        items.append(c.ProposalSummary(
            negotiation_id=row.negotiation_id, proposal_id=row.proposal_id, cycle_id=row.cycle_id,
            owner_id=row.owner_id, manager_id=row.manager_id, state=state.value, proposed_by=row.party,
            proposer_id=row.actor_id,
            awaiting=(("manager" if row.party == "owner" else "owner") if state is n.ProposalState.OPEN else None),
            opened_at=row.at, rationale=row.text, replaces=row.replaces,
            changes=[c.ChangeView(**item) for item in row.changes]))
    last = rows[-1] if more else None
    return c.ProposalList(items=items, next_cursor=encode_cursor(last.at.isoformat(), last.negotiation_id, last.seq)
                          if last is not None else None)
