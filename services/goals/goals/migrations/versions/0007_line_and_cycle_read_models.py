"""Goals: read models per manager line and per cycle, so that a manager's dashboard and board are a few indexed
lookups whatever the size of the line (issue 16).

- rm_line_members (manager_id, person_id): the reporting lines as a closure table (every person under every
  manager above them, as the org read model's index walks them: erased people are in no line, a manager the
  directory does not know starts none). Kept by a row trigger on chassis_org_people: a person who moves takes
  their whole subtree from their old managers to the new ones.
- rm_board_lines (cycle, manager, kind, colour): the board sums of every goal owned in the manager's line.
- rm_board_cycles (cycle, kind, colour): the board sums of a whole cycle.
- rm_line_reviews (cycle, manager): open reviews (复盘) of goals owned in the manager's line.

Goals and reviews move the lines and cycles by their own triggers (statement-level with transition tables on
PostgreSQL, row-level on SQLite), in the transaction of the change, like migration 0006's; a move in the directory
moves the sums of the people it moves. The same SQL serves both databases: `{c}` is the person who changed, `{p}`
their new manager in the lines (NULL when none).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SUMS = ("goal_count", "weights_e2", "weighted_e11", "progress_e9", "confidence_e3", "confident")
LINE_KEY = ("cycle_id", "manager_id", "kind", "colour")
CYCLE_KEY = ("cycle_id", "kind", "colour")

def _add(table: str) -> str:
    # qualified by the table's name: PostgreSQL wants it, SQLite refuses an alias inside a trigger
    return ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s in SUMS)

# PostgreSQL: a change of the directory takes this advisory lock alone, goal and review writes share it, each until
# its transaction ends. Concurrent event handlers then keep the lines as if one after the other: a report and their
# new manager arriving in two transactions see each other, and a goal written while its owner moves lands in the
# lines the move leaves it in.
LINES_LOCK = 7_260_016

_NONZERO = " OR ".join(f"SUM({s}) <> 0" for s in SUMS)


# -- the directory: a person moving takes their subtree along ---------------------------------------------------

def _subtree(c: str) -> str:
    return f"SELECT {c} AS person_id UNION SELECT person_id FROM rm_line_members WHERE manager_id = {c}"


def _olds(c: str) -> str:
    return f"SELECT manager_id FROM rm_line_members WHERE person_id = {c}"


def _news(c: str, p: str) -> str:
    # the new manager and everyone above them; never someone of the moving subtree (a loop starts no line)
    return (f"SELECT x AS manager_id FROM (SELECT {p} AS x UNION SELECT manager_id FROM rm_line_members "
            f"WHERE person_id = {p}) n WHERE x IS NOT NULL AND x NOT IN ({_subtree(c)})")


def _move_sums(members: str, lines: str) -> list[str]:
    """Add (sign 1) and take away (sign -1) the goals and open reviews owned by `members` in `lines`."""
    signed = ", ".join(f"SUM(l.sign * o.{s})" for s in SUMS)
    return [
        f"INSERT INTO rm_board_lines ({', '.join(LINE_KEY)}, {', '.join(SUMS)}) "
        f"SELECT o.cycle_id, l.manager_id, o.kind, o.colour, {signed} FROM rm_board_owners o "
        f"JOIN ({lines}) l ON 1 = 1 WHERE o.owner_id IN ({members}) "
        f"GROUP BY o.cycle_id, l.manager_id, o.kind, o.colour "
        f"HAVING {' OR '.join(f'SUM(l.sign * o.{s}) <> 0' for s in SUMS)} "
        f"ORDER BY o.cycle_id, l.manager_id, o.kind, o.colour ON CONFLICT ({', '.join(LINE_KEY)}) DO UPDATE SET {_add('rm_board_lines')}",
        f"INSERT INTO rm_line_reviews (cycle_id, manager_id, open_reviews) "
        f"SELECT r.cycle_id, l.manager_id, SUM(l.sign) FROM reviews r JOIN ({lines}) l ON 1 = 1 "
        f"WHERE r.state = 'open' AND r.owner_id IN ({members}) GROUP BY r.cycle_id, l.manager_id "
        f"HAVING SUM(l.sign) <> 0 ORDER BY r.cycle_id, l.manager_id "
        f"ON CONFLICT (cycle_id, manager_id) DO UPDATE SET open_reviews = rm_line_reviews.open_reviews + excluded.open_reviews",
    ]


def reattach(c: str, p: str) -> list[str]:
    """Person `c` now reports to `p` in the lines (NULL: to nobody): their subtree leaves the managers above them
    that are not above `p`, and joins those above `p`."""
    lines = (f"SELECT manager_id, 1 AS sign FROM ({_news(c, p)}) nn "
             f"UNION ALL SELECT manager_id, -1 AS sign FROM ({_olds(c)}) oo")
    return [
        *_move_sums(_subtree(c), lines),
        f"DELETE FROM rm_line_members WHERE person_id IN ({_subtree(c)}) AND manager_id IN ({_olds(c)}) "
        f"AND manager_id NOT IN ({_news(c, p)})",
        f"INSERT INTO rm_line_members (manager_id, person_id) SELECT n.manager_id, s.person_id "
        f"FROM ({_news(c, p)}) n, ({_subtree(c)}) s WHERE 1 = 1 ORDER BY 1, 2 ON CONFLICT DO NOTHING",
    ]


def dissolve(c: str, when: str = "1 = 1") -> list[str]:
    """`c` left the directory (erased, removed): their line is no more (their reports start their own)."""
    zero = ", ".join(f"{s} = 0" for s in SUMS)
    return [f"UPDATE rm_board_lines SET {zero} WHERE manager_id = {c} AND {when}",
            f"UPDATE rm_line_reviews SET open_reviews = 0 WHERE manager_id = {c} AND {when}",
            f"DELETE FROM rm_line_members WHERE manager_id = {c} AND {when}"]


def adopt(c: str, when: str = "1 = 1") -> list[str]:
    """`c` entered the directory: the people who name them as manager (each heading a line of their own until
    now) join `c`'s line and the lines above `c`."""
    # reports already in `c`'s line are left alone: on PostgreSQL a statement writing several people (a snapshot
    # batch) fires the row triggers after all its rows are in, so a report may have joined `c`'s line first
    reports = (f"SELECT r.person_id FROM chassis_org_people r WHERE r.manager_id = {c} AND NOT r.erased "
               f"AND r.person_id <> {c} AND {when} AND NOT EXISTS (SELECT 1 FROM rm_line_members x "
               f"WHERE x.manager_id = {c} AND x.person_id = r.person_id)")
    members = (f"{reports} UNION SELECT l.person_id FROM rm_line_members l WHERE l.manager_id IN ({reports})")
    above = (f"SELECT x AS manager_id FROM (SELECT {c} AS x UNION SELECT manager_id FROM rm_line_members "
             f"WHERE person_id = {c}) a WHERE x NOT IN ({members})")
    return [
        *_move_sums(members, f"SELECT manager_id, 1 AS sign FROM ({above}) aa"),
        f"INSERT INTO rm_line_members (manager_id, person_id) SELECT a.manager_id, m.person_id "
        f"FROM ({above}) a, ({members}) m WHERE 1 = 1 ORDER BY 1, 2 ON CONFLICT DO NOTHING",
    ]


def manager_in_lines(row: str) -> str:
    """The manager `row` (NEW) reports to in the lines: a known, not erased person other than themselves."""
    return (f"(SELECT {row}.manager_id WHERE NOT {row}.erased AND {row}.manager_id <> {row}.person_id AND EXISTS "
            f"(SELECT 1 FROM chassis_org_people m WHERE m.person_id = {row}.manager_id AND NOT m.erased))")


def _pg_people_function() -> str:
    def block(statements: list[str]) -> str:
        return "".join(f"    {s};\n" for s in statements)

    return f"""
CREATE FUNCTION rm_people_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moved_id text;
  new_manager text;
  was_in boolean := TG_OP <> 'INSERT' AND NOT OLD.erased;
  is_in boolean := TG_OP <> 'DELETE' AND NOT NEW.erased;
BEGIN
  PERFORM pg_advisory_xact_lock({LINES_LOCK});  -- see LINES_LOCK
  IF TG_OP = 'DELETE' THEN moved_id := OLD.person_id; ELSE moved_id := NEW.person_id; END IF;
  IF is_in THEN new_manager := {manager_in_lines('NEW')}; END IF;
  IF TG_OP <> 'UPDATE' OR was_in <> is_in OR OLD.manager_id IS DISTINCT FROM NEW.manager_id THEN
{block(reattach('moved_id', 'new_manager'))}  END IF;
  IF was_in AND NOT is_in THEN
{block(dissolve('moved_id'))}  END IF;
  IF is_in AND NOT was_in THEN
{block(adopt('moved_id'))}  END IF;
  RETURN NULL;
END $$"""


def _sqlite_people_triggers() -> list[str]:
    def body(statements: list[str]) -> str:
        return "".join(f"{s};\n" for s in statements)

    left, entered = "NEW.erased AND NOT OLD.erased", "OLD.erased AND NOT NEW.erased"
    return [
        f"CREATE TRIGGER rm_people_inserted AFTER INSERT ON chassis_org_people BEGIN\n"
        f"{body(reattach('NEW.person_id', manager_in_lines('NEW')))}{body(adopt('NEW.person_id', 'NOT NEW.erased'))}"
        f"END",
        # one trigger, its statements in order: move, then dissolve or adopt (each a no-op unless its case holds)
        f"CREATE TRIGGER rm_people_updated AFTER UPDATE ON chassis_org_people "
        f"WHEN OLD.erased IS NOT NEW.erased OR OLD.manager_id IS NOT NEW.manager_id BEGIN\n"
        f"{body(reattach('NEW.person_id', manager_in_lines('NEW')))}{body(dissolve('NEW.person_id', left))}"
        f"{body(adopt('NEW.person_id', entered))}END",
        f"CREATE TRIGGER rm_people_deleted AFTER DELETE ON chassis_org_people BEGIN\n"
        f"{body(reattach('OLD.person_id', 'NULL'))}{body(dissolve('OLD.person_id', 'NOT OLD.erased'))}END",
    ]


# -- goals and reviews: every change moves the lines of its owner and its cycle -----------------------------------

def _terms(row: str, sign: str) -> list[str]:
    """A goal row's signed, scaled contributions to SUMS (exact integers on both databases)."""
    weight, progress = f"CAST(ROUND({row}.weight * 100) AS BIGINT)", f"CAST(ROUND({row}.progress * 1000000000) AS BIGINT)"
    return [f"{sign}1", f"{sign}{weight}", f"{sign}{weight} * {progress}", f"{sign}{progress}",
            f"{sign}COALESCE(CAST(ROUND({row}.confidence * 1000) AS BIGINT), 0)",
            f"{sign}CASE WHEN {row}.confidence IS NULL THEN 0 ELSE 1 END"]


def _goal_upserts(deltas: str) -> list[str]:
    """Upsert the lines and the cycle from `deltas` (rows: cycle_id, owner_id, kind, colour and the signed sums)."""
    summed = ", ".join(f"SUM(d.{s})" for s in SUMS)
    return [
        f"INSERT INTO rm_board_lines ({', '.join(LINE_KEY)}, {', '.join(SUMS)}) "
        f"SELECT d.cycle_id, l.manager_id, d.kind, d.colour, {summed} FROM ({deltas}) d "
        f"JOIN rm_line_members l ON l.person_id = d.owner_id WHERE 1 = 1 "
        f"GROUP BY d.cycle_id, l.manager_id, d.kind, d.colour HAVING {_NONZERO.replace('SUM(', 'SUM(d.')} "
        f"ORDER BY d.cycle_id, l.manager_id, d.kind, d.colour ON CONFLICT ({', '.join(LINE_KEY)}) DO UPDATE SET {_add('rm_board_lines')}",
        f"INSERT INTO rm_board_cycles ({', '.join(CYCLE_KEY)}, {', '.join(SUMS)}) "
        f"SELECT d.cycle_id, d.kind, d.colour, {summed} FROM ({deltas}) d WHERE 1 = 1 "
        f"GROUP BY d.cycle_id, d.kind, d.colour HAVING {_NONZERO.replace('SUM(', 'SUM(d.')} "
        f"ORDER BY d.cycle_id, d.kind, d.colour ON CONFLICT ({', '.join(CYCLE_KEY)}) DO UPDATE SET {_add('rm_board_cycles')}",
    ]


def _review_upsert(deltas: str) -> str:
    """Upsert the lines' open reviews from `deltas` (rows: cycle_id, owner_id, n)."""
    return (f"INSERT INTO rm_line_reviews (cycle_id, manager_id, open_reviews) "
            f"SELECT d.cycle_id, l.manager_id, SUM(d.n) FROM ({deltas}) d JOIN rm_line_members l "
            f"ON l.person_id = d.owner_id WHERE 1 = 1 GROUP BY d.cycle_id, l.manager_id HAVING SUM(d.n) <> 0 "
            f"ORDER BY d.cycle_id, l.manager_id "
            f"ON CONFLICT (cycle_id, manager_id) DO UPDATE SET open_reviews = rm_line_reviews.open_reviews + excluded.open_reviews")


def _pg_rows(table: str, sign: str) -> str:
    named = ", ".join(f"{term} AS {name}" for term, name in zip(_terms(table, sign), SUMS, strict=True))
    return f"SELECT cycle_id, owner_id, kind, colour, {named} FROM {table}"


def _pg_open(table: str, sign: str) -> str:
    return f"SELECT cycle_id, owner_id, {sign}1 AS n FROM {table} WHERE state = 'open'"


def _pg_function(name: str, statements: list[str]) -> str:
    body = "".join(f"  {s};\n" for s in [f"PERFORM pg_advisory_xact_lock_shared({LINES_LOCK})", *statements])
    return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}  RETURN NULL;\nEND $$"


def _pg_triggers() -> list[str]:
    goals = {"inserted": _pg_rows("new_rows", ""), "deleted": _pg_rows("old_rows", "-"),
             "updated": f"{_pg_rows('new_rows', '')} UNION ALL {_pg_rows('old_rows', '-')}"}
    reviews = {"inserted": _pg_open("new_rows", ""), "deleted": _pg_open("old_rows", "-"),
               "updated": f"{_pg_open('new_rows', '')} UNION ALL {_pg_open('old_rows', '-')}"}
    tables = {"inserted": "REFERENCING NEW TABLE AS new_rows", "deleted": "REFERENCING OLD TABLE AS old_rows",
              "updated": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    event = {"inserted": "INSERT", "deleted": "DELETE", "updated": "UPDATE"}
    sql = [_pg_people_function(),
           "CREATE TRIGGER rm_lines_people AFTER INSERT OR UPDATE OR DELETE ON chassis_org_people "
           "FOR EACH ROW EXECUTE FUNCTION rm_people_changed()"]
    for what, deltas in goals.items():
        sql.append(_pg_function(f"rm_lines_goals_{what}", _goal_upserts(deltas)))
        sql.append(f"CREATE TRIGGER rm_lines_goals_{what} AFTER {event[what]} ON goals {tables[what]} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rm_lines_goals_{what}()")
    for what, deltas in reviews.items():
        sql.append(_pg_function(f"rm_lines_reviews_{what}", [_review_upsert(deltas)]))
        sql.append(f"CREATE TRIGGER rm_lines_reviews_{what} AFTER {event[what]} ON reviews {tables[what]} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rm_lines_reviews_{what}()")
    return sql


def _sqlite_row(row: str, sign: str) -> str:
    named = ", ".join(f"{term} AS {name}" for term, name in zip(_terms(row, sign), SUMS, strict=True))
    return (f"SELECT {row}.cycle_id AS cycle_id, {row}.owner_id AS owner_id, {row}.kind AS kind, "
            f"{row}.colour AS colour, {named}")


def _sqlite_triggers() -> list[str]:
    fields = ("cycle_id", "owner_id", "kind", "colour", "weight", "progress", "confidence")
    changed = " OR ".join(f"OLD.{f} IS NOT NEW.{f}" for f in fields)
    moved = "OLD.state IS NOT NEW.state OR OLD.owner_id IS NOT NEW.owner_id OR OLD.cycle_id IS NOT NEW.cycle_id"

    def body(statements: list[str]) -> str:
        return "".join(f"{s};\n" for s in statements)

    def open_row(row: str, sign: str) -> str:
        return f"SELECT {row}.cycle_id AS cycle_id, {row}.owner_id AS owner_id, {sign}1 AS n WHERE {row}.state = 'open'"

    return [
        *_sqlite_people_triggers(),
        f"CREATE TRIGGER rm_lines_goals_inserted AFTER INSERT ON goals BEGIN\n"
        f"{body(_goal_upserts(_sqlite_row('NEW', '')))}END",
        f"CREATE TRIGGER rm_lines_goals_updated AFTER UPDATE ON goals WHEN {changed} BEGIN\n"
        f"{body(_goal_upserts(_sqlite_row('OLD', '-') + ' UNION ALL ' + _sqlite_row('NEW', '')))}END",
        f"CREATE TRIGGER rm_lines_goals_deleted AFTER DELETE ON goals BEGIN\n"
        f"{body(_goal_upserts(_sqlite_row('OLD', '-')))}END",
        f"CREATE TRIGGER rm_lines_reviews_inserted AFTER INSERT ON reviews BEGIN\n"
        f"{body([_review_upsert(open_row('NEW', ''))])}END",
        f"CREATE TRIGGER rm_lines_reviews_updated AFTER UPDATE ON reviews WHEN {moved} BEGIN\n"
        f"{body([_review_upsert(open_row('OLD', '-') + ' UNION ALL ' + open_row('NEW', ''))])}END",
        f"CREATE TRIGGER rm_lines_reviews_deleted AFTER DELETE ON reviews BEGIN\n"
        f"{body([_review_upsert(open_row('OLD', '-'))])}END",
    ]


PG_TRIGGERS = (("chassis_org_people", ("rm_lines_people",)),
               ("goals", ("rm_lines_goals_inserted", "rm_lines_goals_updated", "rm_lines_goals_deleted")),
               ("reviews", ("rm_lines_reviews_inserted", "rm_lines_reviews_updated", "rm_lines_reviews_deleted")))
PG_FUNCTIONS = ("rm_people_changed", *PG_TRIGGERS[1][1], *PG_TRIGGERS[2][1])
SQLITE_TRIGGERS = ("rm_people_inserted", "rm_people_updated", "rm_people_deleted", *PG_TRIGGERS[1][1],
                   *PG_TRIGGERS[2][1])


def _sum_columns():
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS]


def upgrade() -> None:
    op.create_table(
        "rm_line_members",
        sa.Column("manager_id", sa.String(length=128), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("manager_id", "person_id", name=op.f("pk_rm_line_members")),
    )
    op.create_index("ix_rm_line_members_person", "rm_line_members", ["person_id"], unique=False)
    op.create_table(
        "rm_board_lines",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("manager_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint(*LINE_KEY, name=op.f("pk_rm_board_lines")),
    )
    op.create_table(
        "rm_board_cycles",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        *_sum_columns(),
        sa.PrimaryKeyConstraint(*CYCLE_KEY, name=op.f("pk_rm_board_cycles")),
    )
    op.create_table(
        "rm_line_reviews",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("manager_id", sa.String(length=128), nullable=False),
        sa.Column("open_reviews", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", "manager_id", name=op.f("pk_rm_line_reviews")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)
    from goals.readmodels import LINE_TABLES, rebuild  # fill from the rows already there (the command's code)

    rebuild(op.get_bind(), LINE_TABLES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, names in PG_TRIGGERS:
            for name in names:
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("rm_line_reviews")
    op.drop_table("rm_board_cycles")
    op.drop_table("rm_board_lines")
    op.drop_index("ix_rm_line_members_person", table_name="rm_line_members")
    op.drop_table("rm_line_members")
