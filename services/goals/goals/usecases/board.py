"""The goal board: one cycle's goals scoped to an org unit (and its descendants), an owner, or a manager's
reporting line, filtered by kind and colour; aggregates for the whole scope and one level down (count by
colour, weighted progress, average confidence), and the goals themselves a page at a time.

The aggregates come from the read models (goals/readmodels.py: sums per cycle, org unit, owner or manager line,
kind and colour, kept by triggers in the transaction of every change), folded into levels here: sums add up, so a
level is the sum of its units, or a direct report's own goals and their line's (domain/board.py is the reference
for the arithmetic). Only the page of goals reads the goals table."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, select

from chassis.errors import InvalidInput
from contracts import goals as c
from contracts.actor import Actor
from goals import models as m
from goals.access import can, person_resource, require_read, unit_resource
from goals.readmodels import board_cells, line_cells, line_of, member_of, scaled
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import load_cycle
from goals.views import decode_cursor, encode_cursor

QUANTUM = Decimal("0.0001")


@dataclass
class Sums:
    """Exact sums, as the read models keep them (scaled integers: see goals/readmodels.py)."""

    count: int = 0
    green: int = 0
    yellow: int = 0
    red: int = 0
    weighted_e11: int = 0
    weights_e2: int = 0
    progress_e9: int = 0
    confidence_e3: int = 0
    confident: int = 0

    def add(self, row: Any, colour: str | None) -> None:
        """Add a read-model row (its sums) or another Sums (`colour` None: its colour counts too)."""
        count = row.goal_count if colour is not None else row.count
        self.count += count
        if colour is None:
            self.green += row.green
            self.yellow += row.yellow
            self.red += row.red
        elif colour == "green":
            self.green += count
        elif colour == "yellow":
            self.yellow += count
        elif colour == "red":
            self.red += count
        self.weighted_e11 += row.weighted_e11
        self.weights_e2 += row.weights_e2
        self.progress_e9 += row.progress_e9
        self.confidence_e3 += row.confidence_e3
        self.confident += row.confident

    def view(self, key: str | None, name: str | None) -> c.BoardAggregate:
        if not self.count:
            progress = None
        elif self.weights_e2:
            progress = (scaled(self.weighted_e11, 11) / scaled(self.weights_e2, 2)).quantize(
                QUANTUM, rounding=ROUND_HALF_UP)
        else:
            progress = (scaled(self.progress_e9, 9) / self.count).quantize(QUANTUM, rounding=ROUND_HALF_UP)
        confidence = ((scaled(self.confidence_e3, 3) / self.confident).quantize(QUANTUM, rounding=ROUND_HALF_UP)
                      if self.confident else None)
        # built, not validated: every field is computed here with its contract's type (a unit's board has a level
        # per person, and validating 10,000 of them was a third of its time)
        return c.BoardAggregate.model_construct(key=key, name=name, count=self.count, green=self.green,
                                                yellow=self.yellow, red=self.red, weighted_progress=progress,
                                                average_confidence=confidence)


def board(uow: GoalsUnitOfWork, actor: Actor | None, query: c.BoardQuery) -> c.Board:
    scopes = [x for x in (query.org_unit_id, query.owner_id, query.reports_of) if x is not None]
    if len(scopes) > 1:
        raise InvalidInput.field("org_unit_id", "scope the board by one of org_unit_id, owner_id, reports_of")
    after = decode_cursor(query.cursor)
    with uow:
        cycle = load_cycle(uow, query.cycle_id)
        session = uow.session
        index = uow.access.index
        g = m.Goal
        where = [g.cycle_id == query.cycle_id]
        if query.org_unit_id is not None:
            unit = query.org_unit_id
            if index.unit(unit) is None:
                raise InvalidInput.field("org_unit_id", "no such org unit in the directory")
            if not can(uow, actor, "company.manage"):
                require_read(uow, actor, unit_resource(unit), cycle)  # the line, or colleagues as the cycle allows
            if query.include_descendants:
                units = index.units_within(unit)
                group_of = {unit: unit}
                for child in sorted(u.id for u in index.units.values() if u.parent_id == unit):
                    group_of.update(dict.fromkeys(index.units_within(child), child))
                names = {u: getattr(index.unit(u), "name", None) for u in set(group_of.values())}
                cells: dict[str, Any] = {"units": units, "group_by": "org_unit_id"}  # board_cells' keywords
            else:
                units, group_of, names = [unit], None, None
                cells = {"owners": None, "unit": unit, "group_by": "owner_id"}
            where.append(member_of(session, g.org_unit_id, units))
        else:
            person = query.owner_id or query.reports_of or (actor.subject if actor else None)
            if person is None:
                raise InvalidInput.field("owner_id", "give the scope of the board")
            require_read(uow, actor, person_resource(person), cycle)
            if query.reports_of is not None:
                # the line's sums are kept per manager (readmodels.line_cells): a level is a direct report's own
                # goals and their line's, whatever the line's size
                heads = sorted(p for p in index.direct_reports(person) if index.reports_to(p, person))
                where.append(g.owner_id.in_(line_of(person)))
                group_of, cells = None, {"heads": heads}
                names = {p: getattr(index.person(p), "name", None) for p in heads}
            else:
                where.append(g.owner_id == person)
                group_of, names = None, None
                cells = {"owners": [person], "group_by": "kind"}
        if query.kind is not None:
            where.append(g.kind == query.kind)
        if query.colour is not None:
            where.append(g.colour == query.colour)

        if "heads" in cells:
            rows = line_cells(session, query.cycle_id, cells["heads"], kind=query.kind, colour=query.colour)
        else:
            rows = board_cells(session, query.cycle_id, kind=query.kind, colour=query.colour, **cells)
        total = Sums()
        levels: dict[str, Sums] = {}
        for row in rows:
            level = group_of.get(row.key, row.key) if group_of is not None else row.key
            levels.setdefault(level, Sums()).add(row, row.colour)
        for sums in levels.values():  # every row is in exactly one level
            total.add(sums, None)
        page_where = [*where, g.id > after[0]] if after else where
        goals = session.execute(
            select(g.id, g.title, g.owner_kind, g.owner_id, g.org_unit_id, g.kind, g.weight, g.progress,
                   g.confidence, g.colour, g.due_on, g.responsible_id)
            .where(and_(*page_where)).order_by(g.id).limit(query.limit + 1)
        ).all()
        more = len(goals) > query.limit
        goals = goals[:query.limit]
        items = [c.BoardGoal(id=r.id, title=r.title, owner=c.OwnerRef(kind=r.owner_kind, id=r.owner_id),
                             org_unit_id=r.org_unit_id, kind=r.kind, weight=r.weight, progress=r.progress,
                             confidence=r.confidence, colour=r.colour, due_on=r.due_on)
                 for r in goals]
        level_names = names or {}
        if names is None and cells.get("group_by") == "owner_id":
            level_names = {k: getattr(index.person(k), "name", None) for k in levels}
        return c.Board(
            cycle_id=query.cycle_id, total=total.view(None, None),
            levels=[levels[k].view(k, level_names.get(k)) for k in sorted(levels, key=str)],
            items=items, next_cursor=encode_cursor(goals[-1].id) if more else None)
