"""A manager's "my team" dashboard, goals' sections in one call: the line's colours, its red goals, the proposals
waiting for the manager and their open reviews. Each section is what its own query answers (board, list_proposals,
list_reviews); a section refused (not found, not allowed, bad input) is named with why, and the others stand, as
they did when the gateway asked for each separately."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chassis.errors import ServiceError
from contracts import goals as c
from contracts.actor import Actor
from goals.repositories import GoalsUnitOfWork
from goals.usecases.board import board
from goals.usecases.negotiation import list_proposals
from goals.usecases.status import list_reviews


def team_dashboard(uow: GoalsUnitOfWork, actor: Actor | None, query: c.GetTeamDashboard) -> c.TeamDashboard:
    me = actor.subject if actor is not None else None
    line = {"cycle_id": query.cycle_id, "reports_of": me}
    sections: dict[str, Callable[[], Any]] = {
        "colours": lambda: board(uow, actor, c.BoardQuery(**line, limit=1)).total,
        "at_risk": lambda: board(uow, actor, c.BoardQuery(**line, colour="red", limit=query.limit)).items,
        "open_proposals": lambda: list_proposals(uow, actor, c.ListProposals(
            cycle_id=query.cycle_id, state="open", awaiting="me", limit=query.limit)).items,
        "pending_reviews": lambda: list_reviews(uow, actor, c.ListReviews(
            cycle_id=query.cycle_id, state="open", limit=query.limit)).items,
    }
    answered: dict[str, Any] = {}
    refused: dict[str, c.SectionRefused] = {}
    for name, section in sections.items():
        try:
            answered[name] = section()
        except ServiceError as error:
            if error.status >= 500:  # the database is away: the whole call fails, and the caller says unavailable
                raise
            refused[name] = c.SectionRefused(code=error.code, detail=error.detail)
    return c.TeamDashboard(cycle_id=query.cycle_id, refused=refused, **answered)
