"""Repositories: how the use cases load and store goals data. SQLAlchemy 2 style, one session per unit of
work; `lock=True` takes the row locks (SELECT ... FOR UPDATE) a read-modify-write needs."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    Numeric,
    Result,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from chassis.access.guard import AccessUnitOfWork
from chassis.db import UTCDateTime
from goals import models as m

CHUNK = 5000  # ids per IN (...) list


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _array_type(column) -> str:
    kind = column.type
    if isinstance(kind, Numeric):
        return "numeric[]"
    if isinstance(kind, Date):
        return "date[]"
    if isinstance(kind, Boolean):
        return "boolean[]"
    if isinstance(kind, (Integer, BigInteger)):
        return "bigint[]"
    if isinstance(kind, UTCDateTime):
        return "timestamptz[]"
    return "text[]"


def table_of(model: type[m.Base]) -> Table:
    """A model's Table (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]], *,
                suffix: str = "") -> Result[Any] | None:
    """Insert many rows in one statement. On PostgreSQL, one array per column through unnest() (far cheaper
    than a multi-row VALUES list: one parameter per column), with `suffix` (ON CONFLICT ..., RETURNING ...)
    appended and the result returned; elsewhere an ordinary executemany (no suffix there)."""
    if not rows:
        return None
    if session.get_bind().dialect.name != "postgresql":
        if suffix:
            raise ValueError("bulk_insert's suffix is for PostgreSQL")
        return session.execute(insert(table), list(rows))
    columns = [column for column in table.columns if column.key in rows[0]]
    params, selects, arrays, aliases = {}, [], [], []
    for i, (column, values) in enumerate(zip(columns, zip(*(tuple(row[c.key] for c in columns) for row in rows),
                                                          strict=True), strict=True)):
        kind = _array_type(column)
        if isinstance(column.type, JSON):
            values = [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
        first = values[0]
        if all(v == first for v in values):  # the same for every row: one parameter, not an array
            params[f"c{i}"] = first
            selects.append(f"CAST(:c{i} AS {kind[:-2]})")
        else:
            params[f"c{i}"] = list(values)
            arrays.append(f"CAST(:c{i} AS {kind})")
            aliases.append(f"c{i}")
            selects.append(f"c{i}")
        if isinstance(column.type, JSON):
            selects[-1] = f"CAST({selects[-1]} AS json)"
    names = ", ".join(f'"{column.name}"' for column in columns)
    source = f" FROM unnest({', '.join(arrays)}) AS t({', '.join(aliases)})" if arrays else ""
    return session.execute(text(f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(selects)}{source} {suffix}'),
                           params)


def insert_by_shape(session: Session, table: Table, own: Mapping[str, Sequence[Any]], shape_of: Sequence[int],
                    shapes: Sequence[Mapping[str, Any]], constants: Mapping[str, Any]) -> None:
    """Insert len(shape_of) rows in one statement, each made of its `own` columns (one list per column, a value per
    row), the columns of its shape (`shapes[shape_of[i]]`: the few kinds of row there are, such as a template's
    goals, sent once rather than once per row) and the `constants`. On PostgreSQL one INSERT ... SELECT joining the
    rows' arrays to the shapes' (unnest); elsewhere the rows are put together here for an executemany."""
    if not shape_of:
        return
    if session.get_bind().dialect.name != "postgresql":
        names, columns = list(own), set(table.columns.keys())
        kinds = [{n: v for n, v in {**constants, **shape}.items() if n in columns} for shape in shapes]
        rows = [{**kinds[k], **{n: own[n][i] for n in names}} for i, k in enumerate(shape_of)]
        session.execute(insert(table), rows)
        return
    params: dict[str, Any] = {"r_shape": list(shape_of), "s_shape": list(range(len(shapes)))}
    names, selects = [], []

    def value(column: Column[Any], values: Any) -> Any:
        if isinstance(column.type, JSON):
            return [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
        return values

    def selected(column: Column[Any], expression: str) -> str:
        return f"CAST({expression} AS json)" if isinstance(column.type, JSON) else expression

    row_arrays, shape_arrays = ["CAST(:r_shape AS bigint[])"], ["CAST(:s_shape AS bigint[])"]
    row_aliases, shape_aliases = ["k"], ["k"]
    shape_columns = list(shapes[0]) if shapes else []
    for i, column in enumerate(table.columns):
        kind = _array_type(column)
        if column.key in own:
            params[f"r{i}"] = value(column, own[column.key])
            row_arrays.append(f"CAST(:r{i} AS {kind})")
            row_aliases.append(f"r{i}")
            selects.append(selected(column, f"r.r{i}"))
        elif column.key in shape_columns:
            params[f"s{i}"] = value(column, [shape[column.key] for shape in shapes])
            shape_arrays.append(f"CAST(:s{i} AS {kind})")
            shape_aliases.append(f"s{i}")
            selects.append(selected(column, f"s.s{i}"))
        elif column.key in constants:
            params[f"c{i}"] = value(column, [constants[column.key]])[0]
            selects.append(selected(column, f"CAST(:c{i} AS {kind[:-2]})"))
        else:
            continue
        names.append(f'"{column.name}"')
    session.execute(text(
        f'INSERT INTO "{table.name}" ({", ".join(names)}) SELECT {", ".join(selects)} '
        f'FROM unnest({", ".join(row_arrays)}) AS r({", ".join(row_aliases)}) '
        f'JOIN unnest({", ".join(shape_arrays)}) AS s({", ".join(shape_aliases)}) ON s.k = r.k'), params)


class CycleRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, cycle_id: str, *, lock: bool = False) -> m.Cycle | None:
        stmt = select(m.Cycle).where(m.Cycle.id == cycle_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def add(self, cycle: m.Cycle) -> None:
        self.session.add(cycle)

    def page(self, state: str | None, after: tuple[date, str] | None, limit: int) -> list[m.Cycle]:
        stmt = select(m.Cycle)
        if state is not None:
            stmt = stmt.where(m.Cycle.state == state)
        if after is not None:
            stmt = stmt.where(tuple_(m.Cycle.starts_on, m.Cycle.id) > tuple_(after[0], after[1]))
        return list(self.session.scalars(stmt.order_by(m.Cycle.starts_on, m.Cycle.id).limit(limit)))

    def swept(self) -> list[m.Cycle]:
        """Cycles whose goals the daily sweep colours: running ones."""
        return list(self.session.scalars(select(m.Cycle).where(m.Cycle.state.in_(("open", "locked")))
                                         .order_by(m.Cycle.id)))


class GoalRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, goal_id: str, *, lock: bool = False) -> m.Goal | None:
        stmt = select(m.Goal).where(m.Goal.id == goal_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def many(self, goal_ids: Sequence[str], *, lock: bool = False) -> dict[str, m.Goal]:
        found: dict[str, m.Goal] = {}
        ids = sorted(set(goal_ids))  # a stable lock order: no deadlocks between writers
        for chunk in _chunks(ids):
            stmt = select(m.Goal).where(m.Goal.id.in_(chunk)).order_by(m.Goal.id)
            if lock:
                stmt = stmt.with_for_update()
            found.update((goal.id, goal) for goal in self.session.scalars(stmt))
        return found

    def add(self, goal: m.Goal) -> None:
        self.session.add(goal)

    _SUMMARY = (m.Goal.id, m.Goal.parent_id, m.Goal.cycle_id, m.Goal.kind, m.Goal.target, m.Goal.responsible_id,
                m.Goal.org_unit_id, m.Goal.owner_kind, m.Goal.owner_id)

    def summaries(self, goal_ids: Sequence[str]) -> dict[str, Any]:
        """Light rows (what allocation needs) by id: no ORM objects for thousands of goals."""
        found = {}
        for chunk in _chunks(sorted(set(goal_ids))):
            found.update((row.id, row) for row in self.session.execute(select(*self._SUMMARY)
                                                                       .where(m.Goal.id.in_(chunk))))
        return found

    def children_summaries(self, parent_id: str) -> dict[str, Any]:
        return {row.id: row for row in self.session.execute(select(*self._SUMMARY)
                                                            .where(m.Goal.parent_id == parent_id))}

    def key_result_targets(self, goal_ids: Sequence[str]) -> dict[str, list[Any]]:
        """(id, goal_id, target) rows of the key results of some goals, in position order."""
        found: dict[str, list[Any]] = defaultdict(list)
        for chunk in _chunks(list(goal_ids)):
            for row in self.session.execute(select(m.KeyResult.id, m.KeyResult.goal_id, m.KeyResult.target)
                                            .where(m.KeyResult.goal_id.in_(chunk))
                                            .order_by(m.KeyResult.goal_id, m.KeyResult.position)):
                found[row.goal_id].append(row)
        return found

    def key_results(self, goal_ids: Sequence[str]) -> dict[str, list[m.KeyResult]]:
        found: dict[str, list[m.KeyResult]] = defaultdict(list)
        for chunk in _chunks(list(goal_ids)):
            for kr in self.session.scalars(select(m.KeyResult).where(m.KeyResult.goal_id.in_(chunk))
                                           .order_by(m.KeyResult.goal_id, m.KeyResult.position)):
                found[kr.goal_id].append(kr)
        return found

    def segments(self, goal_ids: Sequence[str]) -> dict[str, list[m.ScheduleSegment]]:
        found: dict[str, list[m.ScheduleSegment]] = defaultdict(list)
        for chunk in _chunks(list(goal_ids)):
            for piece in self.session.scalars(select(m.ScheduleSegment).where(m.ScheduleSegment.goal_id.in_(chunk))
                                              .order_by(m.ScheduleSegment.goal_id, m.ScheduleSegment.seq)):
                found[piece.goal_id].append(piece)
        return found

    def replace_segments(self, goal_id: str, pieces: Sequence[tuple]) -> None:
        for piece in self.session.scalars(select(m.ScheduleSegment).where(m.ScheduleSegment.goal_id == goal_id)):
            self.session.delete(piece)
        self.session.flush()
        for seq, (from_on, to_on, from_fraction, to_fraction) in enumerate(pieces):
            self.session.add(m.ScheduleSegment(goal_id=goal_id, seq=seq, from_on=from_on, to_on=to_on,
                                               from_fraction=from_fraction, to_fraction=to_fraction))

    def children_totals(self, parent_id: str) -> tuple[int, Decimal, Decimal, Decimal]:
        """(count, sum of weight x progress, sum of weights, sum of progress) of a goal's children."""
        row = self.session.execute(
            select(func.count(), func.coalesce(func.sum(m.Goal.weight * m.Goal.progress), 0),
                   func.coalesce(func.sum(m.Goal.weight), 0), func.coalesce(func.sum(m.Goal.progress), 0))
            .where(m.Goal.parent_id == parent_id)
        ).one()
        return int(row[0]), Decimal(row[1]), Decimal(row[2]), Decimal(row[3])

    def parent_chain(self, goal_id: str | None, limit: int = 100) -> list[m.Goal]:
        """The goal and its ancestors, nearest first (bounded: a tree is never this deep)."""
        chain: list[m.Goal] = []
        seen: set[str] = set()
        while goal_id is not None and goal_id not in seen and len(chain) < limit:
            goal = self.session.get(m.Goal, goal_id)
            if goal is None:
                break
            seen.add(goal_id)
            chain.append(goal)
            goal_id = goal.parent_id
        return chain

    def person_goals(self, cycle_id: str, person_id: str, *, lock: bool = False) -> list[m.Goal]:
        """A person's own goals in a cycle (the ones whose weights total 100)."""
        stmt = (select(m.Goal).where(m.Goal.cycle_id == cycle_id, m.Goal.owner_kind == "person",
                                     m.Goal.owner_id == person_id).order_by(m.Goal.id))
        if lock:
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    def page_of_owner(self, cycle_id: str, owner_id: str, after: str | None, limit: int) -> list[m.Goal]:
        stmt = select(m.Goal).where(m.Goal.cycle_id == cycle_id, m.Goal.owner_id == owner_id)
        if after is not None:
            stmt = stmt.where(m.Goal.id > after)
        return list(self.session.scalars(stmt.order_by(m.Goal.id).limit(limit)))

    def subtree(self, root_id: str, depth: int) -> list[m.Goal]:
        """Descendants of a goal, level by level, down to `depth` levels."""
        found: list[m.Goal] = []
        level = [root_id]
        seen = {root_id}
        for _ in range(depth):
            if not level:
                break
            children: list[m.Goal] = []
            for chunk in _chunks(level):
                children.extend(self.session.scalars(select(m.Goal).where(m.Goal.parent_id.in_(chunk))
                                                     .order_by(m.Goal.id)))
            children = [c for c in children if c.id not in seen]
            seen.update(c.id for c in children)
            found.extend(children)
            level = [c.id for c in children]
        return found


class ProgressRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, update: m.ProgressUpdate) -> m.ProgressUpdate:
        self.session.add(update)
        self.session.flush()
        return update

    def page(self, goal_id: str, before: int | None, limit: int) -> list[m.ProgressUpdate]:
        """Newest first."""
        stmt = select(m.ProgressUpdate).where(m.ProgressUpdate.goal_id == goal_id)
        if before is not None:
            stmt = stmt.where(m.ProgressUpdate.id < before)
        return list(self.session.scalars(stmt.order_by(m.ProgressUpdate.id.desc()).limit(limit)))


class NegotiationRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, negotiation_id: str, *, lock: bool = False) -> m.Negotiation | None:
        stmt = select(m.Negotiation).where(m.Negotiation.id == negotiation_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def between(self, cycle_id: str, owner_id: str, manager_id: str, *, lock: bool = False) -> m.Negotiation | None:
        stmt = select(m.Negotiation).where(m.Negotiation.cycle_id == cycle_id, m.Negotiation.owner_id == owner_id,
                                           m.Negotiation.manager_id == manager_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def between_many(self, cycle_id: str, owner_ids: Sequence[str], manager_id: str) -> dict[str, m.Negotiation]:
        found = {}
        for chunk in _chunks(sorted(set(owner_ids))):
            stmt = (select(m.Negotiation).where(m.Negotiation.cycle_id == cycle_id,
                                                m.Negotiation.owner_id.in_(chunk),
                                                m.Negotiation.manager_id == manager_id)
                    .order_by(m.Negotiation.id).with_for_update())
            found.update((n.owner_id, n) for n in self.session.scalars(stmt))
        return found

    def of_proposal(self, proposal_id: str) -> str | None:
        return self.session.scalars(select(m.NegotiationEntry.negotiation_id)
                                    .where(m.NegotiationEntry.proposal_id == proposal_id).limit(1)).first()

    def entries(self, negotiation_ids: Sequence[str]) -> dict[str, list[m.NegotiationEntry]]:
        found: dict[str, list[m.NegotiationEntry]] = defaultdict(list)
        for chunk in _chunks(list(negotiation_ids)):
            for entry in self.session.scalars(select(m.NegotiationEntry)
                                              .where(m.NegotiationEntry.negotiation_id.in_(chunk))
                                              .order_by(m.NegotiationEntry.negotiation_id, m.NegotiationEntry.seq)):
                found[entry.negotiation_id].append(entry)
        return found

    def of_goal(self, goal_id: str) -> list[m.Negotiation]:
        ids = select(m.ProposalGoal.negotiation_id).where(m.ProposalGoal.goal_id == goal_id).distinct()
        return list(self.session.scalars(select(m.Negotiation).where(m.Negotiation.id.in_(ids))
                                         .order_by(m.Negotiation.created_at, m.Negotiation.id)))

    def proposals_of(self, person_id: str, *, cycle_id: str | None, open_only: bool, awaiting: bool,
                     after: tuple[datetime, str, int] | None, limit: int) -> list[Any]:
        """Proposal entries of the threads `person_id` takes part in, newest first, joined with their thread.
        `open_only`: a thread's open proposal is its last entry; `awaiting`: open and proposed by the other
        party."""
        n, e = m.Negotiation, m.NegotiationEntry
        stmt = (select(n.id.label("negotiation_id"), n.cycle_id, n.owner_id, n.manager_id, e.seq, e.proposal_id,
                       e.actor_id, e.party, e.at, e.text, e.changes, e.replaces)
                .join(e, e.negotiation_id == n.id).where(e.action.in_(("propose", "counter"))))
        if awaiting:
            stmt = stmt.where(or_(and_(n.owner_id == person_id, e.party == "manager"),
                                  and_(n.manager_id == person_id, e.party == "owner")))
        else:
            stmt = stmt.where(or_(n.owner_id == person_id, n.manager_id == person_id))
        if open_only or awaiting:
            stmt = stmt.where(e.seq == n.entry_count - 1)
        if cycle_id is not None:
            stmt = stmt.where(n.cycle_id == cycle_id)
        if after is not None:
            stmt = stmt.where(tuple_(e.at, n.id, e.seq) < tuple_(*after))
        return list(self.session.execute(stmt.order_by(e.at.desc(), n.id.desc(), e.seq.desc()).limit(limit)))

    def actions(self, negotiation_ids: Sequence[str]) -> dict[str, list[Any]]:
        """(action, proposal_id) of every entry of some threads, in order: enough to replay their states."""
        found: dict[str, list[Any]] = defaultdict(list)
        for chunk in _chunks(sorted(set(negotiation_ids))):
            e = m.NegotiationEntry
            for row in self.session.execute(select(e.negotiation_id, e.action, e.proposal_id)
                                            .where(e.negotiation_id.in_(chunk)).order_by(e.negotiation_id, e.seq)):
                found[row.negotiation_id].append(row)
        return found


class CommitmentRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, commitment_id: str, *, lock: bool = False) -> m.Commitment | None:
        stmt = select(m.Commitment).where(m.Commitment.id == commitment_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def of_goal(self, goal_id: str) -> list[m.Commitment]:
        return list(self.session.scalars(select(m.Commitment).where(m.Commitment.goal_id == goal_id)
                                         .order_by(m.Commitment.created_at, m.Commitment.id)))

    def history(self, commitment_ids: Sequence[str]) -> dict[str, list[m.CommitmentChange]]:
        found: dict[str, list[m.CommitmentChange]] = defaultdict(list)
        for chunk in _chunks(list(commitment_ids)):
            for change in self.session.scalars(select(m.CommitmentChange)
                                               .where(m.CommitmentChange.commitment_id.in_(chunk))
                                               .order_by(m.CommitmentChange.id)):
                found[change.commitment_id].append(change)
        return found


class ReviewRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, review_id: str, *, lock: bool = False) -> m.Review | None:
        stmt = select(m.Review).where(m.Review.id == review_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def page_for(self, person_id: str, state: str | None, cycle_id: str | None, after: str | None,
                 limit: int) -> list[m.Review]:
        stmt = select(m.Review).where((m.Review.owner_id == person_id) | (m.Review.manager_id == person_id))
        if state is not None:
            stmt = stmt.where(m.Review.state == state)
        if cycle_id is not None:
            stmt = stmt.where(m.Review.cycle_id == cycle_id)
        if after is not None:
            stmt = stmt.where(m.Review.id > after)
        return list(self.session.scalars(stmt.order_by(m.Review.id).limit(limit)))


class LibraryRepository:
    """The indicator library, formula versions, templates and custom field values."""

    def __init__(self, session: Session):
        self.session = session

    def indicator(self, code: str, *, lock: bool = False) -> m.Indicator | None:
        stmt = select(m.Indicator).where(m.Indicator.code == code)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def indicators(self, codes: Iterable[str] | None = None) -> dict[str, m.Indicator]:
        stmt = select(m.Indicator)
        if codes is not None:
            stmt = stmt.where(m.Indicator.code.in_(sorted(set(codes))))
        return {i.code: i for i in self.session.scalars(stmt.order_by(m.Indicator.code))}

    def indicator_page(self, after: str | None, limit: int) -> list[m.Indicator]:
        stmt = select(m.Indicator)
        if after is not None:
            stmt = stmt.where(m.Indicator.code > after)
        return list(self.session.scalars(stmt.order_by(m.Indicator.code).limit(limit)))

    def formula_versions(self, codes: Iterable[str]) -> dict[str, list[m.FormulaVersion]]:
        found: dict[str, list[m.FormulaVersion]] = defaultdict(list)
        for version in self.session.scalars(select(m.FormulaVersion)
                                            .where(m.FormulaVersion.indicator_code.in_(sorted(set(codes))))
                                            .order_by(m.FormulaVersion.indicator_code, m.FormulaVersion.version)):
            found[version.indicator_code].append(version)
        return found

    def template(self, code: str, *, lock: bool = False) -> m.Template | None:
        stmt = select(m.Template).where(m.Template.code == code)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def template_page(self, job_family: str | None, after: str | None, limit: int) -> list[m.Template]:
        stmt = select(m.Template)
        if job_family is not None:
            stmt = stmt.where(m.Template.job_family == job_family)
        if after is not None:
            stmt = stmt.where(m.Template.code > after)
        return list(self.session.scalars(stmt.order_by(m.Template.code).limit(limit)))

    def custom_values(self, cycle_id: str, person_id: str, *, lock: bool = False) -> dict[str, m.CustomFieldValue]:
        stmt = select(m.CustomFieldValue).where(m.CustomFieldValue.cycle_id == cycle_id,
                                                m.CustomFieldValue.person_id == person_id)
        if lock:
            stmt = stmt.with_for_update()
        return {v.field: v for v in self.session.scalars(stmt)}


class GoalsUnitOfWork(AccessUnitOfWork):
    """The goals unit of work: `uow.access` (chassis.access) and the repositories."""

    session: Session  # inside `with uow:` (the use cases only touch it there)
    cycles: CycleRepository
    goals: GoalRepository
    progress: ProgressRepository
    negotiations: NegotiationRepository
    commitments: CommitmentRepository
    reviews: ReviewRepository
    library: LibraryRepository

    def open(self, session: Session) -> None:
        super().open(session)
        self.cycles = CycleRepository(session)
        self.goals = GoalRepository(session)
        self.progress = ProgressRepository(session)
        self.negotiations = NegotiationRepository(session)
        self.commitments = CommitmentRepository(session)
        self.reviews = ReviewRepository(session)
        self.library = LibraryRepository(session)
