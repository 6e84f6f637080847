"""The board's read models: aggregates of goals per cycle, org unit / owner, kind and colour, and open reviews per
cycle and manager (models.BoardUnitCell, BoardOwnerCell, OpenReviewCount); per manager line and per cycle
(models.LineMember, BoardLineCell, BoardCycleCell, LineReviewCount).

Database triggers keep them (migrations 0006 to 0008): every statement that writes goals or reviews, whatever
wrote it (the ORM, the sweep's UPDATE ... FROM, bulk inserts, retention, erasure), moves them in its own
transaction (on PostgreSQL at its commit, all of its changes at once, cells in one global order so that
concurrent writers never deadlock on them); every change of the org read model's people (directory events,
snapshots, erasure) moves the lines.
A board is then a sum of a few cells: a unit's subtree is the sum of its units' rows (the directory decides the
subtree when it is read, so a move in the directory needs no update here); a manager's line is one row per kind
and colour (rm_board_lines, over the closure table rm_line_members), its levels the rows of the direct reports.

    python -m goals.readmodels rebuild [--database-url URL]   # recompute them from the goals and reviews
    python -m goals.readmodels check   [--database-url URL]   # compare them with a rebuild, change nothing
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, String, and_, any_, cast, func, literal, select, text, union_all
from sqlalchemy.engine import Connection

from goals import models as m

SCALE_WEIGHT, SCALE_WEIGHTED, SCALE_PROGRESS, SCALE_CONFIDENCE = 2, 11, 9, 3
SUMS = ("goal_count", "weights_e2", "weighted_e11", "progress_e9", "confidence_e3", "confident")
REVIEWS = ("open_reviews",)
# table -> (key, values), in the order a rebuild fills them (lines and cycles are sums of the owners' cells)
TABLES = {"rm_board_owners": (("cycle_id", "owner_id", "org_unit_id", "kind", "colour"), SUMS),
          "rm_board_units": (("cycle_id", "org_unit_id", "kind", "colour"), SUMS),
          "rm_open_reviews": (("cycle_id", "manager_id"), REVIEWS),
          "rm_line_members": (("manager_id", "person_id"), ()),
          "rm_board_lines": (("cycle_id", "manager_id", "kind", "colour"), SUMS),
          "rm_board_cycles": (("cycle_id", "kind", "colour"), SUMS),
          "rm_line_reviews": (("cycle_id", "manager_id"), REVIEWS)}
LINE_TABLES = ("rm_line_members", "rm_board_lines", "rm_board_cycles", "rm_line_reviews")

_W = "CAST(ROUND(weight * 100) AS BIGINT)"
_P = "CAST(ROUND(progress * 1000000000) AS BIGINT)"
_TERMS = (f"COUNT(*), SUM({_W}), SUM({_W} * {_P}), SUM({_P}), "
          "COALESCE(SUM(CAST(ROUND(confidence * 1000) AS BIGINT)), 0), COUNT(confidence)")


# The reporting lines as the org index walks them (chassis.access.org.Forest): a person reports to a manager the
# directory knows and has not erased; people on a manager loop, and everyone under one, are in no line.
_CLOSURE = """
WITH RECURSIVE alive AS (SELECT person_id, manager_id FROM chassis_org_people WHERE NOT erased),
edge AS (SELECT a.person_id, a.manager_id FROM alive a JOIN alive m ON m.person_id = a.manager_id
         WHERE a.manager_id <> a.person_id),
walk (manager_id, person_id) AS (
  SELECT manager_id, person_id FROM edge
  UNION SELECT w.manager_id, e.person_id FROM walk w JOIN edge e ON e.manager_id = w.person_id),
looped AS (SELECT person_id FROM walk WHERE manager_id = person_id),
tainted AS (SELECT person_id FROM looped
            UNION SELECT w.person_id FROM walk w JOIN looped l ON w.manager_id = l.person_id)
INSERT INTO rm_line_members (manager_id, person_id)
SELECT manager_id, person_id FROM walk WHERE person_id NOT IN (SELECT person_id FROM tainted)"""

_FILL = {
    "rm_board_owners":
        f"INSERT INTO rm_board_owners (cycle_id, owner_id, org_unit_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT cycle_id, owner_id, COALESCE(org_unit_id, ''), kind, colour, {_TERMS} FROM goals "
        "GROUP BY cycle_id, owner_id, COALESCE(org_unit_id, ''), kind, colour",
    "rm_board_units":
        f"INSERT INTO rm_board_units (cycle_id, org_unit_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT cycle_id, org_unit_id, kind, colour, {', '.join(f'SUM({s})' for s in SUMS)} FROM rm_board_owners "
        "GROUP BY cycle_id, org_unit_id, kind, colour",
    "rm_open_reviews":
        "INSERT INTO rm_open_reviews (cycle_id, manager_id, open_reviews) "
        "SELECT cycle_id, COALESCE(manager_id, ''), COUNT(*) FROM reviews WHERE state = 'open' "
        "GROUP BY cycle_id, COALESCE(manager_id, '')",
    "rm_line_members": _CLOSURE,
    "rm_board_lines":
        f"INSERT INTO rm_board_lines (cycle_id, manager_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT o.cycle_id, l.manager_id, o.kind, o.colour, {', '.join(f'SUM(o.{s})' for s in SUMS)} "
        "FROM rm_board_owners o JOIN rm_line_members l ON l.person_id = o.owner_id "
        "GROUP BY o.cycle_id, l.manager_id, o.kind, o.colour",
    "rm_board_cycles":
        f"INSERT INTO rm_board_cycles (cycle_id, kind, colour, {', '.join(SUMS)}) "
        f"SELECT cycle_id, kind, colour, {', '.join(f'SUM({s})' for s in SUMS)} FROM rm_board_owners "
        "GROUP BY cycle_id, kind, colour",
    "rm_line_reviews":
        "INSERT INTO rm_line_reviews (cycle_id, manager_id, open_reviews) "
        "SELECT r.cycle_id, l.manager_id, COUNT(*) FROM reviews r JOIN rm_line_members l ON l.person_id = r.owner_id "
        "WHERE r.state = 'open' GROUP BY r.cycle_id, l.manager_id",
}


def rebuild(connection: Connection, tables: Sequence[str] | None = None) -> None:
    """Recompute the read models (`tables`, default all) from scratch, in the caller's transaction (set-based:
    one INSERT ... SELECT per table)."""
    chosen = [t for t in TABLES if tables is None or t in tables]
    if connection.dialect.name == "postgresql" and tables is None:
        # this transaction's own changes not yet applied (migration 0008): the rebuild counts them already
        for pending in ("rm_pending_goals", "rm_pending_reviews"):
            connection.execute(text(f"DELETE FROM {pending} WHERE txid = txid_current()"))
    for table in chosen:
        connection.execute(text(f"DELETE FROM {table}"))
    for table in chosen:
        connection.execute(text(_FILL[table]))


def snapshot(connection: Connection) -> dict[str, set[tuple]]:
    """Every read model's rows that count something (cells emptied by the triggers keep a row of zeros)."""
    found = {}
    for table, (key, values) in TABLES.items():
        rows = connection.execute(text(f"SELECT {', '.join(key + values)} FROM {table}")).all()
        found[table] = {tuple(int(v) if i >= len(key) else v for i, v in enumerate(row))
                        for row in rows if not values or any(row[len(key):])}
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


def _summed(table, key, where: list):
    return (select(key.label("key"), table.colour,
                   *(cast(func.sum(getattr(table, s)), BigInteger).label(s) for s in SUMS))  # ints, not numerics
            .where(and_(*where)).group_by(key, table.colour).having(func.sum(table.goal_count) != 0))


def board_cells(session, cycle_id: str, *, units: Sequence[str] | None = None, unit: str | None = None,
                owners: Sequence[str] | None = None, kind: str | None = None, colour: str | None = None,
                group_by: str) -> list:
    """Cells summed by `group_by` (org_unit_id, owner_id or kind) and colour: the goals of `units` (their own,
    from the units' table), or of `owners`, or of a `unit` alone. Rows: key, colour and the sums."""
    table = m.BoardUnitCell if units is not None else m.BoardOwnerCell
    where = [table.cycle_id == cycle_id]
    if units is not None:
        where.append(member_of(session, table.org_unit_id, units))
    if owners is not None:
        where.append(member_of(session, table.owner_id, owners) if owners else table.owner_id.is_(None))
    if unit is not None:
        where.append(table.org_unit_id == unit)
    where += _filters(table, kind, colour)
    return session.execute(_summed(table, getattr(table, group_by), where)).all()


def line_cells(session, cycle_id: str, heads: Sequence[str], *, kind: str | None = None,
               colour: str | None = None) -> list:
    """A manager's line by level: for each of `heads` (the manager's direct reports), their own goals and their
    line's, summed by colour. Rows: key (the head), colour and the sums; two indexed reads whatever the line's
    size (rm_board_owners and rm_board_lines, kept by triggers)."""
    if not heads:
        return []
    own, line = m.BoardOwnerCell, m.BoardLineCell
    heads_own = _summed(own, own.owner_id, [own.cycle_id == cycle_id, member_of(session, own.owner_id, heads),
                                            *_filters(own, kind, colour)])
    heads_lines = _summed(line, line.manager_id, [line.cycle_id == cycle_id, member_of(session, line.manager_id, heads),
                                                  *_filters(line, kind, colour)])
    return session.execute(union_all(heads_own, heads_lines)).all()  # one round trip


def _filters(table, kind: str | None, colour: str | None) -> list:
    found = []
    if kind is not None:
        found.append(table.kind == kind)
    if colour is not None:
        found.append(table.colour == colour)
    return found


def line_of(manager_id: str):
    """The people of a manager's line, as a subquery (for the goals' page: no list of ids travels)."""
    return select(m.LineMember.person_id).where(m.LineMember.manager_id == manager_id)


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
                    connection.execute(text("LOCK TABLE goals, reviews, chassis_org_people IN SHARE MODE"))
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
