"""Goals: the board's read models (rm_board_units, rm_board_owners, rm_open_reviews), kept by triggers on goals
and reviews so that every write path (the ORM, the sweep's UPDATE ... FROM, bulk inserts, retention, erasure)
moves them in its own transaction, and filled from the existing rows.

PostgreSQL: statement-level AFTER triggers with transition tables (one set-based upsert per statement, cells
in key order); SQLite: row-level triggers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SUMS = ("goal_count", "weights_e2", "weighted_e11", "progress_e9", "confidence_e3", "confident")
UNIT_KEY = ("cycle_id", "org_unit_id", "kind", "colour")
OWNER_KEY = ("cycle_id", "owner_id", "org_unit_id", "kind", "colour")
BOARD_FIELDS = ("cycle_id", "owner_id", "org_unit_id", "kind", "colour", "weight", "progress", "confidence")


def _sum_columns():
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS]


def _pg_terms(rows: str, sign: str) -> str:
    """The signed scaled terms of the goals in a transition table."""
    return (f"SELECT cycle_id, owner_id, COALESCE(org_unit_id, '') AS org_unit_id, kind, colour, {sign}1 AS n, "
            f"{sign}ROUND(weight * 100)::bigint AS w, "
            f"{sign}(ROUND(weight * 100) * ROUND(progress * 1000000000))::bigint AS wp, "
            f"{sign}ROUND(progress * 1000000000)::bigint AS p, "
            f"{sign}COALESCE(ROUND(confidence * 1000), 0)::bigint AS c, "
            f"{sign}(confidence IS NOT NULL)::int AS cc FROM {rows}")


def _pg_upsert(table: str, key: tuple[str, ...]) -> str:
    cols = ", ".join(key)
    sets = ", ".join(f"{s} = t.{s} + excluded.{s}" for s in SUMS)
    return (f"INSERT INTO {table} AS t ({cols}, {', '.join(SUMS)}) "
            f"SELECT {cols}, SUM(n), SUM(w), SUM(wp), SUM(p), SUM(c), SUM(cc) FROM d GROUP BY {cols} "
            f"HAVING SUM(n) <> 0 OR SUM(w) <> 0 OR SUM(wp) <> 0 OR SUM(p) <> 0 OR SUM(c) <> 0 OR SUM(cc) <> 0 "
            f"ORDER BY {cols} ON CONFLICT ({cols}) DO UPDATE SET {sets}")


def _pg_goals_function(name: str, source: str) -> str:
    # one statement: the owners' cells, then the units' cells, from the same deltas
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH d AS ({source}), owners AS ({_pg_upsert('rm_board_owners', OWNER_KEY)})
  {_pg_upsert('rm_board_units', UNIT_KEY)};
  RETURN NULL;
END $$"""


def _pg_review_function(name: str, source: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rm_open_reviews AS t (cycle_id, manager_id, open_reviews)
  SELECT cycle_id, manager_id, SUM(n) FROM ({source}) d GROUP BY cycle_id, manager_id HAVING SUM(n) <> 0
  ORDER BY cycle_id, manager_id
  ON CONFLICT (cycle_id, manager_id) DO UPDATE SET open_reviews = t.open_reviews + excluded.open_reviews;
  RETURN NULL;
END $$"""


def _pg_open(rows: str, sign: str) -> str:
    return f"SELECT cycle_id, COALESCE(manager_id, '') AS manager_id, {sign}1 AS n FROM {rows} WHERE state = 'open'"


def _pg_triggers() -> list[str]:
    sql = [
        _pg_goals_function("rm_goals_inserted", _pg_terms("new_rows", "")),
        _pg_goals_function("rm_goals_updated", f"{_pg_terms('new_rows', '')} UNION ALL {_pg_terms('old_rows', '-')}"),
        _pg_goals_function("rm_goals_deleted", _pg_terms("old_rows", "-")),
        _pg_review_function("rm_reviews_inserted", _pg_open("new_rows", "")),
        _pg_review_function("rm_reviews_updated", f"{_pg_open('new_rows', '')} UNION ALL {_pg_open('old_rows', '-')}"),
        _pg_review_function("rm_reviews_deleted", _pg_open("old_rows", "-")),
    ]
    for table in ("goals", "reviews"):
        sql += [
            f"CREATE TRIGGER rm_{table}_inserted AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION rm_{table}_inserted()",
            f"CREATE TRIGGER rm_{table}_updated AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_{table}_updated()",
            f"CREATE TRIGGER rm_{table}_deleted AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION rm_{table}_deleted()",
        ]
    return sql


def _sqlite_upserts(row: str, sign: str) -> str:
    """Add (sign '') or take away (sign '-') one goal row (NEW or OLD) from its owner's and its unit's cells."""
    terms = (f"{sign}1, {sign}CAST(ROUND({row}.weight * 100) AS INTEGER), "
             f"{sign}CAST(ROUND({row}.weight * 100) AS INTEGER) * CAST(ROUND({row}.progress * 1000000000) AS INTEGER), "
             f"{sign}CAST(ROUND({row}.progress * 1000000000) AS INTEGER), "
             f"{sign}COALESCE(CAST(ROUND({row}.confidence * 1000) AS INTEGER), 0), "
             f"{sign}({row}.confidence IS NOT NULL)")
    sets = ", ".join(f"{s} = {s} + excluded.{s}" for s in SUMS)
    unit = f"COALESCE({row}.org_unit_id, '')"
    return (f"INSERT INTO rm_board_owners ({', '.join(OWNER_KEY)}, {', '.join(SUMS)}) VALUES ({row}.cycle_id, "
            f"{row}.owner_id, {unit}, {row}.kind, {row}.colour, {terms}) "
            f"ON CONFLICT ({', '.join(OWNER_KEY)}) DO UPDATE SET {sets};\n"
            f"INSERT INTO rm_board_units ({', '.join(UNIT_KEY)}, {', '.join(SUMS)}) VALUES ({row}.cycle_id, "
            f"{unit}, {row}.kind, {row}.colour, {terms}) "
            f"ON CONFLICT ({', '.join(UNIT_KEY)}) DO UPDATE SET {sets};\n")


def _sqlite_review(row: str, sign: str) -> str:
    return (f"INSERT INTO rm_open_reviews (cycle_id, manager_id, open_reviews) VALUES ({row}.cycle_id, "
            f"COALESCE({row}.manager_id, ''), {sign}1) "
            f"ON CONFLICT (cycle_id, manager_id) DO UPDATE SET open_reviews = open_reviews + excluded.open_reviews;\n")


def _sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{f} IS NOT NEW.{f}" for f in BOARD_FIELDS)
    review_moved = "OLD.state IS NOT NEW.state OR OLD.manager_id IS NOT NEW.manager_id OR OLD.cycle_id IS NOT NEW.cycle_id"
    return [
        f"CREATE TRIGGER rm_goals_inserted AFTER INSERT ON goals BEGIN\n{_sqlite_upserts('NEW', '')}END",
        f"CREATE TRIGGER rm_goals_updated AFTER UPDATE ON goals WHEN {changed} BEGIN\n"
        f"{_sqlite_upserts('OLD', '-')}{_sqlite_upserts('NEW', '')}END",
        f"CREATE TRIGGER rm_goals_deleted AFTER DELETE ON goals BEGIN\n{_sqlite_upserts('OLD', '-')}END",
        f"CREATE TRIGGER rm_reviews_inserted AFTER INSERT ON reviews WHEN NEW.state = 'open' BEGIN\n"
        f"{_sqlite_review('NEW', '')}END",
        f"CREATE TRIGGER rm_reviews_closed AFTER UPDATE ON reviews WHEN OLD.state = 'open' AND ({review_moved}) "
        f"BEGIN\n{_sqlite_review('OLD', '-')}END",
        f"CREATE TRIGGER rm_reviews_opened AFTER UPDATE ON reviews WHEN NEW.state = 'open' AND ({review_moved}) "
        f"BEGIN\n{_sqlite_review('NEW', '')}END",
        f"CREATE TRIGGER rm_reviews_deleted AFTER DELETE ON reviews WHEN OLD.state = 'open' BEGIN\n"
        f"{_sqlite_review('OLD', '-')}END",
    ]


TRIGGERS = (("goals", ("rm_goals_inserted", "rm_goals_updated", "rm_goals_deleted")),
            ("reviews", ("rm_reviews_inserted", "rm_reviews_updated", "rm_reviews_closed", "rm_reviews_opened",
                         "rm_reviews_deleted")))


def upgrade() -> None:
    op.create_table(
        "rm_board_units",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("org_unit_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint(*UNIT_KEY, name=op.f("pk_rm_board_units")),
    )
    op.create_table(
        "rm_board_owners",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("org_unit_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint(*OWNER_KEY, name=op.f("pk_rm_board_owners")),
    )
    op.create_index("ix_rm_board_owners_unit", "rm_board_owners", ["cycle_id", "org_unit_id"], unique=False)
    op.create_table(
        "rm_open_reviews",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("manager_id", sa.String(length=128), nullable=False),
        sa.Column("open_reviews", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", "manager_id", name=op.f("pk_rm_open_reviews")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)
    from goals.readmodels import rebuild  # fill from the rows already there (the same code as the command)

    rebuild(op.get_bind(), ("rm_board_owners", "rm_board_units", "rm_open_reviews"))  # 0007 adds the others


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, names in TRIGGERS:
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgres else f"DROP TRIGGER IF EXISTS {name}")
            if postgres:
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("rm_open_reviews")
    op.drop_index("ix_rm_board_owners_unit", table_name="rm_board_owners")
    op.drop_table("rm_board_owners")
    op.drop_table("rm_board_units")
