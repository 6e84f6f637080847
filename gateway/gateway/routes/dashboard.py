"""Dashboards: one request fanning out to several RPCs in parallel. Each section stands alone: a service that is
slow or down marks its sections unavailable, and the response is still a 200 with everything else."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from chassis.errors import ServiceError
from contracts import goals as g
from gateway.api import Ctx, Route
from gateway.problems import from_service_error
from gateway.schemas.convert import schema_of

TAG = "dashboards"


class DashboardQuery(Schema):
    class Meta:
        unknown = RAISE

    cycle_id = fields.String(required=True, validate=validate.Length(1, 128))


def _described(field: fields.Field, description: str) -> fields.Field:
    field.metadata = {"description": description, **field.metadata}
    return field


def section_of(name: str, data: fields.Field) -> type[Schema]:
    return type(name, (Schema,), {
        "__doc__": "`ok` with `data`; `unavailable` (the service is slow or down: try later) or `refused` "
                   "(the service said no: `detail` says why) without it.",
        "status": fields.String(required=True, validate=validate.OneOf(["ok", "unavailable", "refused"]),
                                metadata={"description": "ok (`data` holds the section), unavailable (the service "
                                                         "is slow or down) or refused (the caller may not see it)"}),
        "data": _described(data, "the section's content; present only when `status` is ok"),
        "reason": fields.String(metadata={"description": "the problem type when not ok"}),
        "detail": fields.String(),
    })


class MyTeam(Schema):
    """The manager's view of their reporting line in one cycle."""

    cycle_id = fields.String(required=True)
    colours = fields.Nested(section_of("ColoursSection", fields.Nested(schema_of(g.BoardAggregate))),
                            required=True, metadata={"description": "green/yellow/red counts, weighted progress"})
    at_risk = fields.Nested(section_of("AtRiskSection", fields.List(fields.Nested(schema_of(g.BoardGoal)))),
                            required=True, metadata={"description": "red goals, worst first"})
    open_proposals = fields.Nested(section_of("ProposalsSection", fields.List(fields.Nested(
        schema_of(g.ProposalSummary)))), required=True,
                                   metadata={"description": "proposals waiting for the caller's answer"})
    pending_reviews = fields.Nested(section_of("ReviewsSection", fields.List(fields.Nested(
        schema_of(g.ReviewView)))), required=True, metadata={"description": "open status reviews"})
    # feedback (one call, four sections)
    checkins_due = fields.Nested(section_of("CheckinsDueSection", fields.List(fields.Dict())), required=True,
                                 metadata={"description": "check-ins whose window is open or past, not held"})
    missing_reports = fields.Nested(section_of("MissingReportsSection", fields.Dict()), required=True,
                                    metadata={"description": "who has not reported last week"})
    zero_activity = fields.Nested(section_of("ZeroActivitySection", fields.List(fields.Dict())), required=True,
                                  metadata={"description": "people with no valid sales activity for N weeks"})
    coaching_cadence = fields.Nested(section_of("CoachingCadenceSection", fields.Dict()), required=True,
                                     metadata={"description": "the caller's coaching cadence this month"})


LIST_SIZE = 10


def fan_out(ctx: Ctx, calls: dict[str, tuple[str, dict[str, Any], Callable[[Any], Any]]]) -> dict[str, dict]:
    """Send every call at once, then collect each answer (or its failure) within the section timeout."""
    timeout = ctx.settings.section_timeout
    pending = {}
    for name, (target, payload, _) in calls.items():
        try:
            pending[name] = ctx.call_async(target, payload, timeout=timeout)
        except ServiceError as error:  # the broker refused the request itself
            pending[name] = error
    sections = {}
    for name, (_, _, pick) in calls.items():
        call = pending[name]
        try:
            if isinstance(call, ServiceError):
                raise call
            sections[name] = {"status": "ok", "data": pick(call.result())}
        except ServiceError as error:
            problem = from_service_error(error)
            status = "unavailable" if problem.status >= 500 else "refused"
            sections[name] = {"status": status, "reason": problem.code, "detail": problem.detail}
    return sections


def my_team(ctx: Ctx) -> dict:
    cycle_id = ctx.query["cycle_id"]
    sections = fan_out(ctx, {
        # goals answers its four sections in one call (one worker, one reply), each refused on its own
        "goals": ("goals.get_team_dashboard", {"cycle_id": cycle_id, "limit": LIST_SIZE}, lambda answer: answer),
        "feedback": ("feedback.get_team_board", {}, lambda answer: answer),
    })
    goals = sections.pop("goals")
    for name in GOALS_SECTIONS:
        if goals["status"] != "ok":
            sections[name] = dict(goals)
        elif name in goals["data"]["refused"]:
            refusal = goals["data"]["refused"][name]
            sections[name] = {"status": "refused", "reason": refusal["code"], "detail": refusal["detail"]}
        else:
            sections[name] = {"status": "ok", "data": goals["data"][name]}
    team = sections.pop("feedback")
    for name in FEEDBACK_SECTIONS:
        sections[name] = {**team, "data": team["data"][name]} if team["status"] == "ok" else dict(team)
    return {"cycle_id": cycle_id, **sections}


# every RPC one dashboard makes (bench/gateway compares the route with a stock gateway making as many)
DASHBOARD_RPCS = ("goals.get_team_dashboard", "feedback.get_team_board")
GOALS_SECTIONS = ("colours", "at_risk", "open_proposals", "pending_reviews")
FEEDBACK_SECTIONS = ("checkins_due", "missing_reports", "zero_activity", "coaching_cadence")


def routes() -> list[Route]:
    return [
        Route("GET", "/dashboard/my-team", my_team, "A manager's team at a glance: colours, goals at risk, open "
              "proposals, pending reviews; check-ins due, missing reports, zero activity, coaching cadence", TAG,
              "goals:read", query=DashboardQuery(), response=MyTeam(),
              operation_id="dashboard_my_team",
              description="The sections are fetched in parallel; each is `ok`, or `unavailable` when its "
                          "service is slow or down (the rest are still answered)."),
    ]
