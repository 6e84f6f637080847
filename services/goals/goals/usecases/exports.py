"""Exports: the board's goals a page at a time in key order (goal id), for the gateway to stream into CSV/XLSX.

The access rule is the board's (goals.usecases.board): a unit's goals for company managers, the unit's line and
colleagues as the cycle's visibility allows; without a unit, the whole cycle for company managers only. Each page
is one short read (no aggregate), so 100,000 goals are read in pages of a few thousand with constant memory.
"""
from __future__ import annotations

from sqlalchemy import and_, select

from chassis.errors import InvalidInput
from contracts import bulk as b
from contracts.actor import Actor
from goals import models as m
from goals.access import can, require, require_read, unit_resource
from goals.readmodels import member_of
from goals.repositories import GoalsUnitOfWork
from goals.usecases.common import load_cycle
from goals.views import decode_cursor, encode_cursor

BOARD_COLUMNS = ["goal_id", "title", "kind", "owner_kind", "owner_id", "org_unit_id", "parent_id", "weight",
                 "progress", "colour", "confidence", "due_on"]


def export_board(uow: GoalsUnitOfWork, actor: Actor | None, query: b.ExportPage) -> b.ExportRows:
    after = decode_cursor(query.cursor)
    with uow:
        cycle = load_cycle(uow, query.cycle_id)
        g = m.Goal
        where = [g.cycle_id == cycle.id]
        if query.org_unit_id is not None:
            index = uow.access.index
            if index.unit(query.org_unit_id) is None:
                raise InvalidInput.field("org_unit_id", "no such org unit in the directory")
            if not can(uow, actor, "company.manage"):
                require_read(uow, actor, unit_resource(query.org_unit_id), cycle)
            where.append(member_of(uow.session, g.org_unit_id, index.units_within(query.org_unit_id)))
        else:
            require(uow, actor, "company.manage")  # the whole company's goals: HR and company managers
        if after:
            where.append(g.id > str(after[0]))
        found = uow.session.execute(
            select(g.id, g.title, g.kind, g.owner_kind, g.owner_id, g.org_unit_id, g.parent_id, g.weight, g.progress,
                   g.colour, g.confidence, g.due_on)
            .where(and_(*where)).order_by(g.id).limit(query.limit + 1)).all()
        more = len(found) > query.limit
        page = found[:query.limit]
        rows = [[r.id, r.title, r.kind, r.owner_kind, r.owner_id, r.org_unit_id, r.parent_id, str(r.weight),
                 str(r.progress), r.colour, None if r.confidence is None else str(r.confidence), r.due_on.isoformat()]
                for r in page]
        return b.ExportRows(columns=BOARD_COLUMNS, rows=rows, next_cursor=encode_cursor(page[-1].id) if more else None)
