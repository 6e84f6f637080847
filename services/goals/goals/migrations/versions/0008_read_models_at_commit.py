"""Goals (PostgreSQL): the board's read models are moved once per transaction, at commit, in one order.

Until now every statement writing goals or reviews upserted the read-model cells it touched (migrations 0006 and
0007) and held their row locks to the end of its transaction. A progress update writes several statements (the
goal, then its parents as they roll up, a review), each locking cells — a cycle's few cells are shared by every
writer — so two updates could each hold a cell the other wanted next: deadlocks under concurrent progress
updates (issue 14).

Now the statement triggers only record their deltas (per owner cell, summed over the statement) in
rm_pending_goals / rm_pending_reviews under the transaction's id, and the first of them in a transaction queues a
deferred constraint trigger (one row in rm_pending_flush). At commit it applies the transaction's deltas to the
cells table by table (owners, units, open reviews, lines, cycles, lines' reviews), each in key order, and deletes
them: every transaction takes cell locks in the same global order and only at the very end, when it waits for
nothing else, so writers queue on hot cells but never in a circle. A bulk statement (sweep, template, COPY) is
one set of deltas and one application however many rows it wrote.

The pending tables are UNLOGGED: their rows live only inside the transaction that wrote them (a crash loses
those transactions anyway). The reporting lines' directory trigger (0007) is unchanged: it keeps its exclusive
advisory lock and goal/review statements keep taking it shared, so a move still sees every applied goal.
SQLite keeps its row triggers (one writer at a time, nothing to order).

Also for the directory's trigger (a person moving, joining or leaving): an index of the owners' cells by owner,
and generic plans for its statements.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
import importlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SUMS = ("goal_count", "weights_e2", "weighted_e11", "progress_e9", "confidence_e3", "confident")
LINES_LOCK = 7_260_016  # 0007's: directory changes take it alone, goal and review writes share it
OLD_TRIGGERS = {"goals": ("rm_goals_inserted", "rm_goals_updated", "rm_goals_deleted", "rm_lines_goals_inserted",
                          "rm_lines_goals_updated", "rm_lines_goals_deleted"),
                "reviews": ("rm_reviews_inserted", "rm_reviews_updated", "rm_reviews_deleted",
                            "rm_lines_reviews_inserted", "rm_lines_reviews_updated", "rm_lines_reviews_deleted")}
WHAT = {"inserted": ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
        "updated": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        "deleted": ("DELETE", "REFERENCING OLD TABLE AS old_rows")}
XID = "txid_current()"
# 0006's and 0007's statements, for their goal terms and sum columns, and for a downgrade
V6 = importlib.import_module("goals.migrations.versions.0006_board_read_models")
V7 = importlib.import_module("goals.migrations.versions.0007_line_and_cycle_read_models")


def _review_terms(rows: str, sign: str) -> str:
    return (f"SELECT cycle_id, owner_id, COALESCE(manager_id, '') AS manager_id, {sign}1 AS n FROM {rows} "
            f"WHERE state = 'open'")


def _deltas(terms, what: str) -> str:
    if what == "inserted":
        return terms("new_rows", "")
    if what == "deleted":
        return terms("old_rows", "-")
    return f"{terms('new_rows', '')} UNION ALL {terms('old_rows', '-')}"


def _record(name: str, insert: str) -> str:
    """A statement trigger's function: record the statement's deltas; the transaction's first queues the apply."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  recorded bigint;
BEGIN
  PERFORM pg_advisory_xact_lock_shared({LINES_LOCK});
  {insert};
  GET DIAGNOSTICS recorded = ROW_COUNT;
  IF recorded > 0 THEN
    INSERT INTO rm_pending_flush (txid) VALUES ({XID}) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$"""


def _record_goals(what: str) -> str:
    key = "cycle_id, owner_id, org_unit_id, kind, colour"
    return _record(f"rm_pending_goals_{what}", (
        f"INSERT INTO rm_pending_goals (txid, {key}, {', '.join(SUMS)}) "
        f"SELECT {XID}, {key}, SUM(n), SUM(w), SUM(wp), SUM(p), SUM(c), SUM(cc) FROM ({_deltas(V6._pg_terms, what)}) d "
        f"GROUP BY {key} HAVING SUM(n) <> 0 OR SUM(w) <> 0 OR SUM(wp) <> 0 OR SUM(p) <> 0 OR SUM(c) <> 0 "
        f"OR SUM(cc) <> 0"))


def _record_reviews(what: str) -> str:
    return _record(f"rm_pending_reviews_{what}", (
        f"INSERT INTO rm_pending_reviews (txid, cycle_id, owner_id, manager_id, n) "
        f"SELECT {XID}, cycle_id, owner_id, manager_id, SUM(n) FROM ({_deltas(_review_terms, what)}) d "
        f"GROUP BY cycle_id, owner_id, manager_id HAVING SUM(n) <> 0"))


def _upsert(table: str, key: tuple[str, ...], source: str, values: tuple[str, ...] = SUMS,
            into: tuple[str, ...] | None = None) -> str:
    """Add the summed `source` rows (columns: the key's, then `values`) to `table`'s columns `into` (default the
    same names), in key order."""
    cols, into = ", ".join(key), into or values
    summed = ", ".join(f"SUM({v})" for v in values)
    nonzero = " OR ".join(f"SUM({v}) <> 0" for v in values)
    sets = ", ".join(f"{v} = t.{v} + excluded.{v}" for v in into)
    return (f"INSERT INTO {table} AS t ({cols}, {', '.join(into)}) SELECT {cols}, {summed} FROM ({source}) s "
            f"GROUP BY {cols} HAVING {nonzero} ORDER BY {cols} ON CONFLICT ({cols}) DO UPDATE SET {sets}")


def _apply_function() -> str:
    goals = "SELECT * FROM rm_pending_goals WHERE txid = NEW.txid"
    reviews = "SELECT * FROM rm_pending_reviews WHERE txid = NEW.txid"
    in_lines = "JOIN rm_line_members l ON l.person_id = d.owner_id"
    sums = ", ".join(f"d.{s}" for s in SUMS)
    # the one order every transaction follows: these tables in this order, each by its key
    statements = [
        _upsert("rm_board_owners", ("cycle_id", "owner_id", "org_unit_id", "kind", "colour"), goals),
        _upsert("rm_board_units", ("cycle_id", "org_unit_id", "kind", "colour"), goals),
        _upsert("rm_open_reviews", ("cycle_id", "manager_id"), reviews, ("n",), ("open_reviews",)),
        _upsert("rm_board_lines", ("cycle_id", "manager_id", "kind", "colour"),
                f"SELECT d.cycle_id, l.manager_id, d.kind, d.colour, {sums} FROM ({goals}) d {in_lines}"),
        _upsert("rm_board_cycles", ("cycle_id", "kind", "colour"), goals),
        _upsert("rm_line_reviews", ("cycle_id", "manager_id"),
                f"SELECT d.cycle_id, l.manager_id, d.n FROM ({reviews}) d {in_lines}", ("n",), ("open_reviews",)),
        "DELETE FROM rm_pending_goals WHERE txid = NEW.txid",
        "DELETE FROM rm_pending_reviews WHERE txid = NEW.txid",
        "DELETE FROM rm_pending_flush WHERE txid = NEW.txid",
    ]
    body = "".join(f"  {s};\n" for s in statements)
    return f"CREATE FUNCTION rm_apply_pending() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}  RETURN NULL;\nEND $$"


def pg_statements() -> list[str]:
    sql = [_apply_function(),
           "CREATE CONSTRAINT TRIGGER rm_apply_pending AFTER INSERT ON rm_pending_flush DEFERRABLE INITIALLY DEFERRED "
           "FOR EACH ROW EXECUTE FUNCTION rm_apply_pending()"]
    for what, (event, tables) in WHAT.items():
        sql.append(_record_goals(what))
        sql.append(f"CREATE TRIGGER rm_pending_goals_{what} AFTER {event} ON goals {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rm_pending_goals_{what}()")
        sql.append(_record_reviews(what))
        sql.append(f"CREATE TRIGGER rm_pending_reviews_{what} AFTER {event} ON reviews {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rm_pending_reviews_{what}()")
    return sql


def upgrade() -> None:
    op.create_table(
        "rm_pending_goals",
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("org_unit_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        *V6._sum_columns(),
    )
    op.create_index("ix_rm_pending_goals_txid", "rm_pending_goals", ["txid"], unique=False)
    op.create_table(
        "rm_pending_reviews",
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("manager_id", sa.String(length=128), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_rm_pending_reviews_txid", "rm_pending_reviews", ["txid"], unique=False)
    op.create_table(
        "rm_pending_flush",
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("txid", name=op.f("pk_rm_pending_flush")),
    )
    # the directory's trigger (0007) sums the cells of the people who move by owner alone: without this index,
    # a scan of every cell per person (85 ms each at 100,000 goals), minutes for an import of 10,000 people
    op.create_index("ix_rm_board_owners_owner", "rm_board_owners", ["owner_id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps 0006's and 0007's row triggers; the tables stay empty
    for table in ("rm_pending_goals", "rm_pending_reviews", "rm_pending_flush"):
        op.execute(f"ALTER TABLE {table} SET UNLOGGED")
    for table, names in OLD_TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    for statement in pg_statements():
        op.execute(statement)
    # the directory trigger's statements are large and the same for every person: planning them anew for each row
    # cost more than running them (an import of 250 people: 2.9 s with custom plans, 0.9 s with generic ones)
    op.execute("ALTER FUNCTION rm_people_changed() SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for what in WHAT:
            for table in ("goals", "reviews"):
                op.execute(f"DROP TRIGGER rm_pending_{table}_{what} ON {table}")
                op.execute(f"DROP FUNCTION rm_pending_{table}_{what}()")
        op.execute("DROP TRIGGER rm_apply_pending ON rm_pending_flush")
        op.execute("DROP FUNCTION rm_apply_pending()")
        op.execute("ALTER FUNCTION rm_people_changed() RESET plan_cache_mode")
        # back to the statement triggers of 0006 and 0007 on goals and reviews (the directory's stays)
        for statement in V6._pg_triggers() + V7._pg_triggers()[2:]:
            op.execute(statement)
    op.drop_index("ix_rm_board_owners_owner", table_name="rm_board_owners")
    op.drop_table("rm_pending_flush")
    op.drop_index("ix_rm_pending_reviews_txid", table_name="rm_pending_reviews")
    op.drop_table("rm_pending_reviews")
    op.drop_index("ix_rm_pending_goals_txid", table_name="rm_pending_goals")
    op.drop_table("rm_pending_goals")
