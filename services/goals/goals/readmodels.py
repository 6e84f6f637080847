"""The board's read models: aggregates of goals per cycle, org unit / owner, kind and colour, and open reviews per
cycle and manager (models.BoardUnitCell, BoardOwnerCell, OpenReviewCount).

Database triggers keep them (migration 0006): every statement that writes goals or reviews, whatever wrote it (the
ORM, the sweep's UPDATE ... FROM, bulk inserts, retention, erasure), moves them in its own transaction. A board is
then a sum of a few cells: a unit's subtree is the sum of its units' rows (the directory decides the subtree when it
is read, so a move in the directory needs no update here); a manager's line the sum of its people's rows.

    python -m goals.readmodels rebuild [--database-url URL]   # recompute them from the goals and reviews
    python -m goals.readmodels check   [--database-url URL]   # compare them with a rebuild, change nothing
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, String, and_, any_, cast, func, literal, select, text
from sqlalchemy.engine import Connection

from goals import models as m

SCALE_WEIGHT, SCALE_WEIGHTED, SCALE_PROGRESS, SCALE_CONFIDENCE = 2, 11, 9, 3
SUMS = ("goal_count", "weights_e2", "weighted_e11", "progress_e9", "confidence_e3", "confident")
TABLES = {"rm_board_units": ("cycle_id", "org_unit_id", "kind", "colour"),
          "rm_board_owners": ("cycle_id", "owner_id", "org_unit_id", "kind", "colour"),
          "rm_open_reviews": ("cycle_id", "manager_id")}

_W = "CAST(ROUND(weight * 100) AS BIGINT)"
_P = "CAST(ROUND(progress * 1000000000) AS BIGINT)"
_TERMS = (f"COUNT(*), SUM({_W}), SUM({_W} * {_P}), SUM({_P}), "
          "COALESCE(SUM(CAST(ROUND(confidence * 1000) AS BIGINT)), 0), COUNT(confidence)")


def rebuild(connection: Connection) -> None:
    """Recompute every read model from scratch, in the caller's transaction (set-based: one INSERT ... SELECT
    per table)."""
    for table in TABLES:
        connection.execute(text(f"DELETE FROM {table}"))
    connection.execute(text(
        f"INSERT INTO rm_board_owners (cycle_id, owner_id, org_unit_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT cycle_id, owner_id, COALESCE(org_unit_id, ''), kind, colour, {_TERMS} FROM goals "
        "GROUP BY cycle_id, owner_id, COALESCE(org_unit_id, ''), kind, colour"))
    connection.execute(text(
        f"INSERT INTO rm_board_units (cycle_id, org_unit_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT cycle_id, org_unit_id, kind, colour, {', '.join(f'SUM({s})' for s in SUMS)} FROM rm_board_owners "
        "GROUP BY cycle_id, org_unit_id, kind, colour"))
    connection.execute(text(
        "INSERT INTO rm_open_reviews (cycle_id, manager_id, open_reviews) "
        "SELECT cycle_id, COALESCE(manager_id, ''), COUNT(*) FROM reviews WHERE state = 'open' "
        "GROUP BY cycle_id, COALESCE(manager_id, '')"))


def snapshot(connection: Connection) -> dict[str, set[tuple]]:
    """Every read model's rows that count something (cells emptied by the triggers keep a row of zeros)."""
    found = {}
    for table, key in TABLES.items():
        values = SUMS if table != "rm_open_reviews" else ("open_reviews",)
        rows = connection.execute(text(f"SELECT {', '.join(key + values)} FROM {table}")).all()
        found[table] = {tuple(int(v) if i >= len(key) else v for i, v in enumerate(row))
                        for row in rows if any(row[len(key):])}
    return found


def check(connection: Connection) -> dict[str, tuple[set[tuple], set[tuple]]]:
    """Differences between the maintained read models and a rebuild: {table: (only kept, only rebuilt)}; the
    rebuild is rolled back (a SAVEPOINT)."""
    kept = snapshot(connection)
    nested = connection.begin_nested()
    try:
        rebuild(connection)
        fresh = snapshot(connection)
    finally:
        nested.rollback()
    return {t: (kept[t] - fresh[t], fresh[t] - kept[t]) for t in TABLES if kept[t] != fresh[t]}


# -- reading -----------------------------------------------------------------------------------------------------

def member_of(session, column, values: Sequence[str]):
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(cast(literal(list(values), ARRAY(String)), ARRAY(String)))
    return column.in_(list(values))


def board_cells(session, cycle_id: str, *, units: Sequence[str] | None = None, unit: str | None = None,
                owners: Sequence[str] | None = None, kind: str | None = None, colour: str | None = None,
                group_by: str, level_of: Mapping[str, str] | None = None) -> list:
    """Cells summed by `group_by` (org_unit_id, owner_id or kind) and colour: the goals of `units` (their own,
    from the units' table), or of `owners`, or of a `unit` alone. Rows: key, colour and the sums. `level_of` (owner
    -> level) lets PostgreSQL sum a manager's line by level itself: tens of rows back instead of one per person."""
    table = m.BoardUnitCell if units is not None else m.BoardOwnerCell
    if level_of and owners is not None and session.get_bind().dialect.name == "postgresql":
        return _line_cells(session, cycle_id, level_of, kind, colour)
    where = [table.cycle_id == cycle_id]
    if units is not None:
        where.append(member_of(session, table.org_unit_id, units))
    if owners is not None:
        where.append(member_of(session, table.owner_id, owners) if owners else table.owner_id.is_(None))
    if unit is not None:
        where.append(table.org_unit_id == unit)
    if kind is not None:
        where.append(table.kind == kind)
    if colour is not None:
        where.append(table.colour == colour)
    key = getattr(table, group_by)
    return session.execute(
        select(key.label("key"), table.colour,
               *(cast(func.sum(getattr(table, s)), BigInteger).label(s) for s in SUMS))  # ints, not numerics
        .where(and_(*where)).group_by(key, table.colour).having(func.sum(table.goal_count) != 0)).all()


def _line_cells(session, cycle_id: str, level_of: Mapping[str, str], kind: str | None, colour: str | None) -> list:
    t = m.BoardOwnerCell
    pairs = func.unnest(cast(literal(list(level_of)), ARRAY(String)),
                        cast(literal(list(level_of.values())), ARRAY(String))).table_valued("owner", "level").render_derived("line")
    where = [t.cycle_id == cycle_id]
    if kind is not None:
        where.append(t.kind == kind)
    if colour is not None:
        where.append(t.colour == colour)
    return session.execute(
        select(pairs.c.level.label("key"), t.colour, *(cast(func.sum(getattr(t, s)), BigInteger).label(s)
                                                       for s in SUMS))
        .join_from(t, pairs, t.owner_id == pairs.c.owner).where(and_(*where))
        .group_by(pairs.c.level, t.colour).having(func.sum(t.goal_count) != 0)).all()


def by_colour(session) -> dict[str, int]:
    """Goals of the running (open or locked) cycles by colour."""
    u, cy = m.BoardUnitCell, m.Cycle
    rows = session.execute(select(u.colour, func.sum(u.goal_count)).join(cy, cy.id == u.cycle_id)
                           .where(cy.state.in_(("open", "locked"))).group_by(u.colour)).all()
    found = dict.fromkeys(("green", "yellow", "red"), 0)
    found.update((colour, int(count or 0)) for colour, count in rows)
    return found


def open_reviews(session, cycle_id: str | None = None, manager_id: str | None = None) -> int:
    r = m.OpenReviewCount
    stmt = select(func.coalesce(func.sum(r.open_reviews), 0))
    if cycle_id is not None:
        stmt = stmt.where(r.cycle_id == cycle_id)
    if manager_id is not None:
        stmt = stmt.where(r.manager_id == manager_id)
    return int(session.execute(stmt).scalar() or 0)


def scaled(value: int | None, places: int) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-places)


# -- the command -------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m goals.readmodels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("rebuild", "check"))
    parser.add_argument("--database-url", help="default: the goals settings (GOALS_DATABASE_URL, or the embedded "
                                               "SQLite file)")
    args = parser.parse_args(argv)
    from chassis.db import create_db_engine
    from chassis.settings import load_settings

    url = args.database_url or load_settings("goals").effective_database_url()
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            if args.command == "rebuild":
                if engine.dialect.name == "postgresql":  # writers wait: no change lands between delete and insert
                    connection.execute(text("LOCK TABLE goals, reviews IN SHARE MODE"))
                rebuild(connection)
                print(snapshot_summary(connection))
                return 0
            differences = check(connection)
        for table, (kept, fresh) in differences.items():
            print(f"{table}: {len(kept)} rows only kept, {len(fresh)} rows only rebuilt")
        print("read models match a rebuild" if not differences else "read models differ from a rebuild")
        return 1 if differences else 0
    finally:
        engine.dispose()


def snapshot_summary(connection: Connection) -> str:
    rows = {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
    return "rebuilt: " + ", ".join(f"{t} {n} rows" for t, n in rows.items())


if __name__ == "__main__":
    sys.exit(main())
