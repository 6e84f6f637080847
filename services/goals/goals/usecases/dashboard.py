"""A manager's "my team" dashboard, goals' sections in one call: the line's colours, its red goals, the proposals
waiting for the manager and their open reviews.

Each section answers what its own query answers — `board(reports_of=me)`'s total and its red page, `list_proposals
(state=open, awaiting=me)`, `list_reviews(state=open)` — and a section refused (not found, not allowed, bad input)
is named with why while the others stand, as when the gateway asked for each separately. But the call is read as
one: one unit of work, one cycle read, one access decision for the line, and four indexed reads through
statements built once (module level, bound parameters: SQLAlchemy keeps their compiled form), rows as plain
tuples (no ORM objects). The line's colours are the manager's own row of the line read model (rm_board_lines,
kept by triggers): the sum of every goal owned in the line, which is what board() adds up level by level
(tests/usecases/test_readmodels.py checks both agree after random changes)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Integer, String, and_, bindparam, or_, select

from chassis.errors import InvalidInput, ServiceError
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import person_resource, require_read
from goals.repositories import GoalsUnitOfWork, table_of
from goals.usecases.board import Sums
from goals.usecases.common import no_cycle

_cy, _g, _lm, _bl = table_of(m.Cycle), table_of(m.Goal), table_of(m.LineMember), table_of(m.BoardLineCell)
_n, _e, _r = table_of(m.Negotiation), table_of(m.NegotiationEntry), table_of(m.Review)
_CYCLE: BindParameter[str] = bindparam("cycle_id", type_=String)
_ME: BindParameter[str] = bindparam("me", type_=String)
_LIMIT: BindParameter[int] = bindparam("limit", type_=Integer)

# the cycle (no row: it does not exist) with the manager's line, every kind and colour (at most six rows of the
# line read model's primary key; none: nothing counted)
CYCLE_AND_LINE = (select(_cy.c.visibility, _bl.c.colour, _bl.c.goal_count, _bl.c.weights_e2, _bl.c.weighted_e11,
                         _bl.c.progress_e9, _bl.c.confidence_e3, _bl.c.confident)
                  .select_from(_cy.outerjoin(_bl, and_(_bl.c.cycle_id == _cy.c.id, _bl.c.manager_id == _ME)))
                  .where(_cy.c.id == _CYCLE))
# board(reports_of=me, colour=red)'s first page: the line's members from the closure table, goals by id
AT_RISK = (select(_g.c.id, _g.c.title, _g.c.owner_kind, _g.c.owner_id, _g.c.org_unit_id, _g.c.kind, _g.c.weight,
                  _g.c.progress, _g.c.confidence, _g.c.colour, _g.c.due_on)
           .where(_g.c.cycle_id == _CYCLE, _g.c.colour == "red",
                  _g.c.owner_id.in_(select(_lm.c.person_id).where(_lm.c.manager_id == _ME).scalar_subquery()))
           .order_by(_g.c.id).limit(_LIMIT))
# NegotiationRepository.proposals_of(me, open_only, awaiting=me): a thread's open proposal is its last entry,
# and it waits for me when the other party made it
AWAITING = (select(_n.c.id.label("negotiation_id"), _n.c.cycle_id, _n.c.owner_id, _n.c.manager_id, _e.c.seq,
                   _e.c.proposal_id, _e.c.actor_id, _e.c.party, _e.c.at, _e.c.text, _e.c.changes, _e.c.replaces)
            .join(_e, _e.c.negotiation_id == _n.c.id)
            .where(_e.c.action.in_(("propose", "counter")),
                   or_(and_(_n.c.owner_id == _ME, _e.c.party == "manager"),
                       and_(_n.c.manager_id == _ME, _e.c.party == "owner")),
                   _e.c.seq == _n.c.entry_count - 1, _n.c.cycle_id == _CYCLE)
            .order_by(_e.c.at.desc(), _n.c.id.desc(), _e.c.seq.desc()).limit(_LIMIT))
# ReviewRepository.page_for(me, "open", cycle): the reviews I own or hold
OPEN_REVIEWS = (select(*(_r.c[name] for name in c.ReviewView.model_fields))
                .where(or_(_r.c.owner_id == _ME, _r.c.manager_id == _ME), _r.c.state == "open",
                       _r.c.cycle_id == _CYCLE)
                .order_by(_r.c.id).limit(_LIMIT))


def team_dashboard(uow: GoalsUnitOfWork, actor: Actor | None, query: c.GetTeamDashboard) -> c.TeamDashboard:
    me = actor.subject if actor is not None else None
    answered: dict[str, Any] = {}
    refused: dict[str, c.SectionRefused] = {}
    with uow:
        session = uow.session
        params = {"cycle_id": query.cycle_id, "me": me, "limit": query.limit}
        # the line's sections, decided as board() decides them: the cycle, then the scope, then the access
        try:
            line = session.execute(CYCLE_AND_LINE, params).all()
            if not line:
                raise no_cycle(query.cycle_id)
            if me is None:
                raise InvalidInput.field("owner_id", "give the scope of the board")
            require_read(uow, actor, person_resource(me), line[0])  # the cycle's visibility
        except ServiceError as error:
            if error.status >= 500:  # the database is away: the whole call fails, and the caller says unavailable
                raise
            refused["colours"] = refused["at_risk"] = c.SectionRefused(code=error.code, detail=error.detail)
        else:
            total = Sums()
            for row in line:
                if row.colour is not None:
                    total.add(row, row.colour)
            answered["colours"] = total.view(None, None)
            answered["at_risk"] = [
                c.BoardGoal(id=r.id, title=r.title, owner=c.OwnerRef(kind=r.owner_kind, id=r.owner_id),
                            org_unit_id=r.org_unit_id, kind=r.kind, weight=r.weight, progress=r.progress,
                            confidence=r.confidence, colour=r.colour, due_on=r.due_on)
                for r in session.execute(AT_RISK, params)]
        # list_proposals answers a person's own threads only; list_reviews the caller's own reviews
        person = me if actor is not None and actor.kind == "person" else None
        answered["open_proposals"] = [] if person is None else [
            c.ProposalSummary(
                negotiation_id=r.negotiation_id, proposal_id=r.proposal_id, cycle_id=r.cycle_id, owner_id=r.owner_id,
                manager_id=r.manager_id, state="open", proposed_by=r.party, proposer_id=r.actor_id,
                awaiting="manager" if r.party == "owner" else "owner", opened_at=r.at, rationale=r.text,
                replaces=r.replaces, changes=[c.ChangeView(**item) for item in r.changes])
            for r in session.execute(AWAITING, params)]
        reviews = session.execute(OPEN_REVIEWS, {**params, "me": me or ""})  # list_reviews asks as "" for nobody
        answered["pending_reviews"] = [c.ReviewView(**r._mapping) for r in reviews]  # views.review_view's fields
    return c.TeamDashboard(cycle_id=query.cycle_id, refused=refused, **answered)
