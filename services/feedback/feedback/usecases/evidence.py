"""The goals part of a review form's evidence: the person's goals in the review cycle's goals cycle (title, kind,
weight, final progress, colour) and the goals service's score card per template, read from goals at the time the
form is read.

This is a fresh read that cannot wait for events, so it is a service-to-service RPC — one hop (goals calls nobody
for it), always within a short total budget, as the reading actor so that goals applies its own access decision.
When goals does not answer in time (or refuses), the review view still answers with feedback's own evidence and
names the missing part in `evidence_missing`; never a 500, never a hang."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from chassis.errors import RpcTimeout, ServiceError
from contracts import feedback as c
from contracts import goals as g

log = logging.getLogger(__name__)

PAGE = 200  # ListGoals' largest page
MAX_PAGES = 5  # a person has a handful of goals; more than 1,000 is not a review form's business


class GoalsReader(Protocol):
    """The two goals reads the evidence needs; each raises RpcTimeout past its budget, ServiceError on a problem."""

    def list_goals(self, payload: dict[str, Any]) -> Any: ...

    def get_scorecard(self, payload: dict[str, Any]) -> Any: ...


class RpcCaller(Protocol):
    """The chassis RPC client as the worker sees it (chassis.remote): a call with its own timeout."""

    def call(self, target: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any: ...


class RpcGoalsReader:
    """GoalsReader over the chassis RPC client (which carries the caller's actor): every call shares one deadline,
    so the whole goals part never takes longer than `timeout` seconds."""

    def __init__(self, rpc: RpcCaller, timeout: float):
        self.rpc = rpc
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def _call(self, target: str, payload: dict[str, Any]) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.01:
            raise RpcTimeout(f"{target} was not asked: the {self.timeout:g}s budget is spent", target=target)
        return self.rpc.call(target, payload, timeout=remaining)

    def list_goals(self, payload: dict[str, Any]) -> Any:
        return self._call("goals.list_goals", payload)

    def get_scorecard(self, payload: dict[str, Any]) -> Any:
        return self._call("goals.get_scorecard", payload)


@dataclass
class GoalsEvidence:
    goals: list[c.GoalEvidence] | None = None
    scorecards: list[c.ScoreCardEvidence] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def update(self) -> dict[str, Any]:
        """The ReviewView fields this part fills."""
        return {"goals": self.goals, "scorecards": self.scorecards, "evidence_missing": self.missing,
                "evidence_notes": self.notes}


def _why(error: Exception) -> str:
    if isinstance(error, RpcTimeout):
        return f"goals did not answer in time ({error.detail})"
    if isinstance(error, ServiceError):
        return f"goals answered {error.status}: {error.detail}"
    return f"goals answered something that is not its contract: {error}"


def read_goals(reader: GoalsReader, goals_cycle_id: str, person_id: str) -> GoalsEvidence:
    """The goals part of the evidence. Never raises for what goals does: a timeout, a refusal or a malformed
    answer becomes a named missing part (`goals`, or `scorecard` when only a score card could not be read)."""
    found = GoalsEvidence()
    goals: list[g.GoalView] = []
    cursor = None
    try:
        for _ in range(MAX_PAGES):
            payload = g.ListGoals(cycle_id=goals_cycle_id, owner_id=person_id, limit=PAGE, cursor=cursor)
            page = g.GoalList.model_validate(reader.list_goals(payload.model_dump(mode="json", exclude_none=True)))
            goals.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    except (ServiceError, ValidationError, ValueError, TypeError) as error:  # RpcTimeout is a ServiceError
        log.warning("review evidence without goals for %s: %s", person_id, _why(error))
        found.missing.append("goals")
        found.notes["goals"] = _why(error)
        return found
    found.goals = [c.GoalEvidence(id=x.id, title=x.title, kind=x.kind, weight=x.weight, progress=x.progress,
                                  colour=x.colour) for x in goals]
    for code in sorted({x.template_code for x in goals if x.template_code}):
        try:
            card = g.ScoreCard.model_validate(reader.get_scorecard(g.GetScoreCard(
                cycle_id=goals_cycle_id, person_id=person_id, template_code=code).model_dump(mode="json")))
        except ServiceError as error:
            if error.status in (404, 422) and not isinstance(error, RpcTimeout):
                continue  # no score card (yet) for this template: nothing is missing
            _miss_card(found, code, error)
            continue
        except (ValidationError, ValueError, TypeError) as error:
            _miss_card(found, code, error)
            continue
        found.scorecards.append(c.ScoreCardEvidence(
            template_code=card.template_code, total=card.total,
            items=[c.ScoreCardItemEvidence(**item.model_dump()) for item in card.items]))
    return found


def _miss_card(found: GoalsEvidence, code: str, error: Exception) -> None:
    log.warning("review evidence without the %s score card: %s", code, _why(error))
    if "scorecard" not in found.missing:
        found.missing.append("scorecard")
    found.notes["scorecard"] = f"{code}: {_why(error)}"
