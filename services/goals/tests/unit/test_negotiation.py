from dataclasses import FrozenInstanceError, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from goals.domain.negotiation import (
    Action,
    ChangeField,
    FieldChange,
    Party,
    ProposalState,
    Thread,
    accept,
    counter,
    propose,
    reject,
    withdraw,
)
from goals.domain.weights import check_weights

T0 = datetime(2025, 1, 10, 9, tzinfo=UTC)


def t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


THREAD = Thread("n1", owner_id="alice", manager_id="mgr")
RAISE_TARGET = (FieldChange("g1", ChangeField.TARGET, D(120)),)


def opened() -> Thread:
    return propose(THREAD, actor_id="alice", proposal_id="p1", changes=RAISE_TARGET, rationale="market grew", at=t(0))


def test_propose_then_accept_yields_the_changes():
    changes = (
        FieldChange("g1", ChangeField.WEIGHT, D(30)),
        FieldChange("g2", ChangeField.WEIGHT, D(70)),
        FieldChange("g1", ChangeField.DEADLINE, date(2025, 6, 30)),
        FieldChange("g1", ChangeField.RESOURCES, ["one more engineer"]),
    )
    thread = propose(THREAD, actor_id="mgr", proposal_id="p1", changes=changes, rationale="rebalance", at=t(0))
    assert thread.awaiting is Party.OWNER and thread.state_of("p1") is ProposalState.OPEN
    thread, change_set = accept(thread, actor_id="alice", proposal_id="p1", at=t(5), comment="ok")
    assert thread.state_of("p1") is ProposalState.ACCEPTED and thread.open_proposal is None
    assert change_set.proposal_id == "p1"
    assert change_set.goal_ids() == ["g1", "g2"]
    assert change_set.for_goal("g1") == {
        ChangeField.WEIGHT: D(30),
        ChangeField.DEADLINE: date(2025, 6, 30),
        ChangeField.RESOURCES: ("one more engineer",),
    }
    current = {"g1": D(50), "g2": D(50)}
    check_weights({**current, **change_set.weights()})


def test_only_the_other_party_may_accept_or_reject():
    thread = opened()
    with pytest.raises(NotAllowed, match="other party"):
        accept(thread, actor_id="alice", proposal_id="p1", at=t(1))
    with pytest.raises(NotAllowed, match="other party"):
        reject(thread, actor_id="alice", proposal_id="p1", at=t(1))
    thread = reject(thread, actor_id="mgr", proposal_id="p1", at=t(1), comment="not now")
    assert thread.state_of("p1") is ProposalState.REJECTED


def test_strangers_cannot_act():
    with pytest.raises(NotAllowed) as error:
        accept(opened(), actor_id="eve", proposal_id="p1", at=t(1))
    assert error.value.ids == ("eve",)


def test_only_the_proposer_may_withdraw():
    thread = opened()
    with pytest.raises(NotAllowed, match="proposer"):
        withdraw(thread, actor_id="mgr", proposal_id="p1", at=t(1))
    thread = withdraw(thread, actor_id="alice", proposal_id="p1", at=t(1))
    assert thread.state_of("p1") is ProposalState.WITHDRAWN


def test_counter_replaces_the_open_proposal():
    thread = opened()
    lower = (FieldChange("g1", ChangeField.TARGET, D(110)),)
    thread = counter(
        thread, actor_id="mgr", replaces="p1", proposal_id="p2", changes=lower, rationale="110 is enough", at=t(1)
    )
    assert thread.state_of("p1") is ProposalState.COUNTERED
    assert thread.open_proposal.proposal_id == "p2" and thread.awaiting is Party.OWNER
    with pytest.raises(Conflict):
        accept(thread, actor_id="mgr", proposal_id="p1", at=t(2))
    thread, change_set = accept(thread, actor_id="alice", proposal_id="p2", at=t(2))
    assert change_set.changes == lower
    assert [e.action for e in thread.entries] == [Action.PROPOSE, Action.COUNTER, Action.ACCEPT]
    assert thread.entries[1].replaces == "p1"


def test_counter_rules():
    thread = opened()
    with pytest.raises(NotAllowed, match="other party"):
        counter(thread, actor_id="alice", replaces="p1", proposal_id="p2", changes=RAISE_TARGET, rationale="r", at=t(1))
    with pytest.raises(NotFound) as error:
        counter(thread, actor_id="mgr", replaces="zz", proposal_id="p2", changes=RAISE_TARGET, rationale="r", at=t(1))
    assert error.value.field == "replaces" and error.value.ids == ("zz",)
    with pytest.raises(Conflict):
        counter(thread, actor_id="mgr", replaces="p1", proposal_id="p1", changes=RAISE_TARGET, rationale="r", at=t(1))
    with pytest.raises(NotFound):
        counter(THREAD, actor_id="mgr", replaces="p1", proposal_id="p2", changes=RAISE_TARGET, rationale="r", at=t(1))


def test_one_open_proposal_at_a_time():
    with pytest.raises(NotAllowed, match="still open"):
        propose(opened(), actor_id="mgr", proposal_id="p2", changes=RAISE_TARGET, rationale="mine", at=t(1))


def test_answering_a_settled_or_unknown_proposal():
    thread, _ = accept(opened(), actor_id="mgr", proposal_id="p1", at=t(1))
    with pytest.raises(Conflict, match="accepted, not open"):
        reject(thread, actor_id="mgr", proposal_id="p1", at=t(2))
    with pytest.raises(NotFound):
        accept(thread, actor_id="mgr", proposal_id="nope", at=t(2))
    with pytest.raises(NotFound):
        thread.state_of("nope")
    # a settled thread takes a new proposal, but not a reused id
    with pytest.raises(Conflict):
        propose(thread, actor_id="mgr", proposal_id="p1", changes=RAISE_TARGET, rationale="again", at=t(3))
    thread = propose(thread, actor_id="mgr", proposal_id="p3", changes=RAISE_TARGET, rationale="again", at=t(3))
    assert thread.awaiting is Party.OWNER


@pytest.mark.parametrize(
    "kwargs,error,field",
    [
        ({"rationale": "  "}, InvalidInput, "rationale"),
        ({"rationale": "x" * 2001}, InvalidInput, "rationale"),
        ({"changes": ()}, InvalidInput, "changes"),
        ({"changes": RAISE_TARGET * 2}, InvalidInput, "changes.g1.target"),
        ({"at": datetime(2025, 1, 10)}, InvalidInput, "at"),
    ],
)
def test_proposal_validation(kwargs, error, field):
    args = {"actor_id": "alice", "proposal_id": "p1", "changes": RAISE_TARGET, "rationale": "why", "at": t(0), **kwargs}
    with pytest.raises(error) as raised:
        propose(THREAD, **args)
    assert raised.value.field == field


def test_history_cannot_go_back_in_time():
    with pytest.raises(InvalidInput, match="append-only"):
        accept(opened(), actor_id="mgr", proposal_id="p1", at=t(-1))


def test_answer_comment_is_bounded():
    with pytest.raises(InvalidInput) as error:
        reject(opened(), actor_id="mgr", proposal_id="p1", at=t(1), comment="x" * 2001)
    assert error.value.field == "comment"


@pytest.mark.parametrize(
    "field,value",
    [
        (ChangeField.WEIGHT, D(0)),
        (ChangeField.WEIGHT, D("100.5")),
        (ChangeField.WEIGHT, D("10.123")),
        (ChangeField.TARGET, 1.5),
        (ChangeField.DEADLINE, datetime(2025, 1, 1, tzinfo=UTC)),
        (ChangeField.DEADLINE, "2025-01-01"),
        (ChangeField.RESOURCES, "a laptop"),
        (ChangeField.RESOURCES, []),
        (ChangeField.RESOURCES, ["ok", " "]),
        (ChangeField.RESOURCES, 3),
    ],
)
def test_field_change_validation(field, value):
    with pytest.raises(InvalidInput) as error:
        FieldChange("g9", field, value)
    assert error.value.field == f"changes.g9.{field.value}"


def test_owner_and_manager_must_differ():
    with pytest.raises(InvalidInput):
        Thread("n", "alice", "alice")


def test_entries_are_immutable_and_history_is_revalidated_on_load():
    thread = opened()
    with pytest.raises(FrozenInstanceError):
        thread.entries[0].text = "rewritten"
    loaded = Thread(thread.id, thread.owner_id, thread.manager_id, thread.entries)
    assert loaded == thread
    tampered = replace(thread.entries[0], party=Party.MANAGER)
    with pytest.raises(NotAllowed):
        Thread(thread.id, thread.owner_id, thread.manager_id, (tampered,))
    with pytest.raises(Conflict, match="out of sequence"):
        Thread(thread.id, thread.owner_id, thread.manager_id, (replace(thread.entries[0], seq=3),))


ACTORS = ["alice", "mgr", "eve"]
actions = st.tuples(
    st.sampled_from(["propose", "counter", "accept", "reject", "withdraw"]),
    st.sampled_from(ACTORS),
    st.sampled_from(["p1", "p2", "p3", "p4"]),
    st.sampled_from(["p1", "p2", "p3", "p4"]),
)


@given(st.lists(actions, max_size=25))
def test_random_negotiations_keep_the_invariants(steps):
    thread = THREAD
    open_by = None  # model: (proposal id, party) of the open proposal
    used: set[str] = set()
    for minute, (action, actor, pid, other) in enumerate(steps):
        party = {"alice": Party.OWNER, "mgr": Party.MANAGER}.get(actor)
        before = thread.entries
        try:
            if action == "propose":
                thread = propose(
                    thread, actor_id=actor, proposal_id=pid, changes=RAISE_TARGET, rationale="r", at=t(minute)
                )
            elif action == "counter":
                thread = counter(
                    thread,
                    actor_id=actor,
                    replaces=other,
                    proposal_id=pid,
                    changes=RAISE_TARGET,
                    rationale="r",
                    at=t(minute),
                )
            elif action == "accept":
                thread, change_set = accept(thread, actor_id=actor, proposal_id=pid, at=t(minute))
                assert change_set.changes == RAISE_TARGET
            elif action == "reject":
                thread = reject(thread, actor_id=actor, proposal_id=pid, at=t(minute))
            else:
                thread = withdraw(thread, actor_id=actor, proposal_id=pid, at=t(minute))
        except DomainError:
            assert thread.entries == before
            continue
        # it succeeded: check it was allowed by the model
        assert party is not None
        assert thread.entries[: len(before)] == before and len(thread.entries) == len(before) + 1
        if action == "propose":
            assert open_by is None and pid not in used
            open_by = (pid, party)
            used.add(pid)
        elif action == "counter":
            assert open_by == (other, open_by[1]) and open_by[1] is not party and pid not in used
            open_by = (pid, party)
            used.add(pid)
        elif action == "withdraw":
            assert open_by == (pid, party)
            open_by = None
        else:
            assert open_by is not None and open_by[0] == pid and open_by[1] is not party
            open_by = None
        current = thread.open_proposal
        assert (current.proposal_id, current.party) == open_by if current else open_by is None
