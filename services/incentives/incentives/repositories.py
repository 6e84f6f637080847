"""Repositories: how the use cases load and store incentives data. SQLAlchemy 2 style, one session per unit of
work; `lock=True` takes the row locks (SELECT ... FOR UPDATE) a read-modify-write needs."""
from __future__ import annotations

import json
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Float, String, Table, and_, bindparam, case, func, insert, select, text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from chassis.access import AccessUnitOfWork
from chassis.access.readmodel import people_table
from incentives import models as m
from incentives.domain.menu import may_try_stock

CHUNK = 2000  # rows per executemany batch or IN list
UNNEST_ROWS = 20000  # rows per INSERT ... SELECT FROM unnest(...) statement


def table_of(model: Any) -> Table:
    """A model's Table (typed: SQLAlchemy types `__table__` as a FromClause)."""
    return cast(Table, model.__table__)


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update_columns: Sequence[str] = (), returning: Sequence[str] = (), *, add: Sequence[str] = ()) -> list[Any]:
    """INSERT ... ON CONFLICT (keys) DO UPDATE/NOTHING for many rows, on PostgreSQL or SQLite; the RETURNING rows
    (of the rows actually written). `add` columns are summed with the stored value on conflict (balances).

    On PostgreSQL the rows travel as one array per column through unnest(): one statement per UNNEST_ROWS, its
    text the same whatever the count (no per-row parameters to bind and parse). Elsewhere an executemany."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _unnest_insert(session, table, rows, _conflict_clause(table, keys, update_columns, add),
                              returning)
    stmt = sqlite_insert(table)
    if update_columns or add:
        changes = {c: stmt.excluded[c] for c in update_columns}
        changes.update({c: table.c[c] + stmt.excluded[c] for c in add})
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # RETURNING always: it is what makes SQLAlchemy batch the rows into multi-row statements ("insertmanyvalues")
    # instead of the driver's one statement per row
    returning_stmt = stmt.returning(*(table.c[c] for c in (returning or keys[:1])))
    out: list[Any] = []
    for start in range(0, len(rows), CHUNK):
        out.extend(session.execute(returning_stmt, list(rows[start:start + CHUNK])).all())
    return out if returning else []


def _names(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _conflict_clause(table: Table, keys: Sequence[str], update_columns: Sequence[str], add: Sequence[str]) -> str:
    target = _names(keys)
    changes = [f'"{c}" = EXCLUDED."{c}"' for c in update_columns]
    changes += [f'"{c}" = "{table.name}"."{c}" + EXCLUDED."{c}"' for c in add]
    return f"ON CONFLICT ({target}) " + (f"DO UPDATE SET {', '.join(changes)}" if changes else "DO NOTHING")


def _unnest_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]], tail: str = "",
                   returning: Sequence[str] = ()) -> list[Any]:
    """PostgreSQL: INSERT INTO table (columns) SELECT * FROM unnest(one typed array per column) + `tail`,
    UNNEST_ROWS per statement; each value goes through its column type's own bind processing (JSON, UTC datetimes)."""
    dialect = session.get_bind().dialect
    columns = [table.c[name] for name in rows[0]]
    arrays = ", ".join(f"CAST(:a{i} AS {column.type.compile(dialect)}[])" for i, column in enumerate(columns))
    back = f" RETURNING {_names(returning)}" if returning else ""
    statement = text(f'INSERT INTO "{table.name}" ({_names(c.name for c in columns)}) '
                     f"SELECT * FROM unnest({arrays}) {tail}{back}")
    processors = [column.type.bind_processor(dialect) for column in columns]
    out: list[Any] = []
    for start in range(0, len(rows), UNNEST_ROWS):
        chunk = rows[start:start + UNNEST_ROWS]
        params = {}
        for i, (column, process) in enumerate(zip(columns, processors, strict=True)):
            values = [row[column.key] for row in chunk]
            params[f"a{i}"] = _array_literal([process(v) for v in values] if process is not None else values)
        result = session.execute(statement, params)
        if returning:
            out.extend(result.all())
    return out


def _array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (`{"a","b",NULL}`): one text parameter per column instead of one adapted value
    per row and column, which is where the driver's time went. Every element is quoted, `"` and `\\` escaped;
    a value repeated down the column (a period, a timestamp, an amount) is spelled once."""
    spelled: dict[Any, str] = {}
    parts = []
    for value in values:
        text_ = spelled.get(value)
        if text_ is None:
            text_ = spelled[value] = "NULL" if value is None else '"' + _element(value).replace(
                "\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(text_)
    return "{" + ",".join(parts) + "}"


def _element(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


class RatingRow(NamedTuple):
    """One rating as the analytics read it (a plain tuple: cheap to build and to read by the hundred thousand)."""

    rating_id: str
    version: int
    person_id: str
    review_cycle_id: str
    label: str
    score: Decimal
    manager_id: str | None
    attainment: Decimal | None
    manager_score: Decimal | None


class PeopleRepository:
    """What incentives reads of the org read model beyond the access index: grade and hire date."""

    def __init__(self, session: Session):
        self.session = session

    def card(self, person_id: str) -> Any:
        p = people_table
        return self.session.execute(select(p.c.person_id, p.c.org_unit_id, p.c.manager_id, p.c.grade, p.c.hired_on)
                                    .where(p.c.person_id == person_id, p.c.erased.is_(False))).first()


class InputsRepository:
    def __init__(self, session: Session):
        self.session = session

    def observe(self, rows: Sequence[dict]) -> None:
        upsert(self.session, table_of(m.Observation), rows, ("person_id", "period", "name"),
               ("value", "source", "updated_at"))

    def observations(self, period: str) -> dict[str, dict[str, Decimal]]:
        o = table_of(m.Observation)
        found: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for person, name, value in self.session.execute(select(o.c.person_id, o.c.name, o.c.value)
                                                        .where(o.c.period == period)):
            found[person][name] = value
        return found

    def pivot(self, period: str, names: Sequence[str]) -> list[Any]:
        """(person_id, value of each of `names` as text or None) of everyone with at least one indicator value in
        the period: one row per person, pivoted in the database (no per-value rows to Python); as text, the values
        are hashed and compared cheaply, and made Decimals once per distinct value."""
        o = table_of(m.Observation)
        values = [sql_cast(func.max(case((o.c.name == name, o.c.value))), String).label(f"v{i}")
                  for i, name in enumerate(names)]
        return list(self.session.execute(select(o.c.person_id, *values).where(o.c.period == period)
                                         .group_by(o.c.person_id)).all())

    def track_goals(self, rows: Sequence[dict]) -> None:
        upsert(self.session, table_of(m.TrackedGoal), rows, ("goal_id",), ("person_id", "indicator_code"))

    def tracked_goal(self, goal_id: str) -> m.TrackedGoal | None:
        return self.session.get(m.TrackedGoal, goal_id)

    def add_rating(self, row: dict) -> bool:
        """False when this version of the rating is already known (a redelivery)."""
        return bool(upsert(self.session, table_of(m.Rating), [row], ("rating_id", "version"),
                           returning=("rating_id",)))

    def latest_rating(self, person_id: str, review_cycle_id: str) -> m.Rating | None:
        return self.session.scalars(select(m.Rating).where(m.Rating.person_id == person_id,
                                                           m.Rating.review_cycle_id == review_cycle_id)
                                    .order_by(m.Rating.version.desc(), m.Rating.at.desc()).limit(1)).first()

    def last_label(self, person_id: str) -> str | None:
        """The label of the person's newest finalized rating (any cycle)."""
        return self.session.scalars(select(m.Rating.label).where(m.Rating.person_id == person_id)
                                    .order_by(m.Rating.at.desc(), m.Rating.version.desc()).limit(1)).first()

    def latest_ratings(self, review_cycle_ids: Iterable[str], people: Iterable[str] | None = None) -> list[m.Rating]:
        """The newest version of each rating in the cycles (of `people` when given)."""
        r = m.Rating
        newest = (select(r.rating_id, func.max(r.version).label("version"))
                  .where(r.review_cycle_id.in_(list(review_cycle_ids))).group_by(r.rating_id).subquery())
        stmt = select(r).join(newest, and_(r.rating_id == newest.c.rating_id, r.version == newest.c.version))
        if people is not None:
            stmt = stmt.where(r.person_id.in_(list(people)))
        return list(self.session.scalars(stmt))


    def rating_rows(self, review_cycle_ids: Sequence[str]) -> list[RatingRow]:
        """The newest version of each rating in the cycles, as plain rows: no ORM objects, no JSON, for whole
        populations (see `_newest`)."""
        r = table_of(m.Rating)
        return [RatingRow._make(row) for row in self._newest(
            select(r.c.rating_id, r.c.version, r.c.person_id, r.c.review_cycle_id, r.c.label, r.c.score,
                   r.c.manager_id, r.c.attainment, r.c.manager_score), review_cycle_ids)]

    def labels(self, review_cycle_id: str) -> dict[str, str]:
        """person -> the label of their newest rating in the cycle (the 9-box reads nothing else)."""
        r = table_of(m.Rating)
        return {row[2]: row[3] for row in self._newest(
            select(r.c.rating_id, r.c.version, r.c.person_id, r.c.label), [review_cycle_id])}

    def rotation_rows(self, review_cycle_ids: Sequence[str]) -> list[Any]:
        """(rating_id, version, person_id, review_cycle_id, label, manager_id, attainment as a float) of the newest
        version of each rating in the cycles: what rotation detection reads, the attainment converted to a float
        by the database (a Decimal per value, half a million times, was the slowest part of the read)."""
        r = table_of(m.Rating)
        return self._newest(select(r.c.rating_id, r.c.version, r.c.person_id, r.c.review_cycle_id, r.c.label,
                                   r.c.manager_id, sql_cast(r.c.attainment, Float)), review_cycle_ids)

    def rotation_awards(self, review_cycle_ids: Sequence[str], units: Sequence[str],
                        top: Sequence[str]) -> list[Any]:
        """Rotation detection's input, computed set-wise by the database: (group, cycle, person, label, attainment
        as a float, at_or_below, known, top) for every top rating (`top`: label in `top`) of the newest rating
        versions of the people now in `units`, plus one row (top false) per group and cycle it was rated in. The
        percentile's two counts come from window counts over the group-cycle (known attainments <= this one,
        all known ones): a fifth of the rows and no per-rating work in Python."""
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":  # the window's sort in memory, not in temporary files (this transaction only)
            self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        return list(self.session.execute(_ROTATION[dialect], {"cycles": list(review_cycle_ids), "units": list(units),
                                                              "top": list(top), "no": False}).all())

    def _newest(self, stmt: Any, review_cycle_ids: Sequence[str]) -> list[Any]:
        """`stmt` (rating_id and version first) over the ratings of the cycles, keeping each rating's newest
        version. One index scan; the rare older versions (amended ratings) are dropped here, which is cheaper than
        a grouping or a sort of every rating in the database."""
        r = table_of(m.Rating)
        newest: dict[str, Any] = {}
        for row in self.session.execute(stmt.where(r.c.review_cycle_id.in_(list(review_cycle_ids)))).all():
            kept = newest.get(row[0])
            if kept is None or row[1] > kept[1]:
                newest[row[0]] = row
        return list(newest.values())


# newest version of each rating (no newer one: a probe of the primary key), people now in the units; the
# percentile's counts and one marker row per group-cycle from the same window (one sort). On PostgreSQL the
# window's keys compare bytewise (COLLATE "C": only equality matters for them), several times cheaper than the
# locale's collation on half a million keys.
_ROTATION_SQL = """
WITH current_ratings AS (
  SELECT COALESCE(NULLIF(r.manager_id, ''), '(none)') AS grp, r.review_cycle_id AS cycle, r.person_id AS person,
         r.label AS label, CAST(r.attainment AS FLOAT) AS attainment
  FROM inc_ratings r JOIN {people} p ON p.person_id = r.person_id AND p.erased = :no
  WHERE r.review_cycle_id IN :cycles AND p.org_unit_id IN :units
    AND NOT EXISTS (SELECT 1 FROM inc_ratings n WHERE n.rating_id = r.rating_id AND n.version > r.version)
), ranked AS (
  SELECT grp, cycle, person, label, attainment, label IN :top AS top,
         CASE WHEN attainment IS NULL THEN NULL ELSE count(attainment) OVER w END AS at_or_below,
         count(attainment) OVER (PARTITION BY grp{c}, cycle{c}) AS known,
         row_number() OVER w AS n
  FROM current_ratings
  WINDOW w AS (PARTITION BY grp{c}, cycle{c} ORDER BY attainment)
)
SELECT grp, cycle, person, label, attainment, at_or_below, known, top FROM ranked WHERE top OR n = 1
"""


def _rotation_statement(dialect: str) -> Any:
    sql = _ROTATION_SQL.format(people=people_table.name, c=' COLLATE "C"' if dialect == "postgresql" else "")
    return text(sql).bindparams(bindparam("cycles", expanding=True), bindparam("units", expanding=True),
                                bindparam("top", expanding=True))


_ROTATION = {dialect: _rotation_statement(dialect) for dialect in ("postgresql", "sqlite")}


class BonusRepository:
    def __init__(self, session: Session):
        self.session = session

    def pool(self, code: str, *, lock: bool = False) -> m.Pool | None:
        stmt = select(m.Pool).where(m.Pool.code == code)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def pools_for_cycle(self, review_cycle_id: str) -> list[m.Pool]:
        return list(self.session.scalars(select(m.Pool).where(m.Pool.review_cycle_id == review_cycle_id)
                                         .order_by(m.Pool.code)))

    def pools(self) -> list[m.Pool]:
        return list(self.session.scalars(select(m.Pool).order_by(m.Pool.code)))

    def rule(self, code: str) -> m.ProcessRule | None:
        return self.session.get(m.ProcessRule, code)

    def rules(self, period: str | None = None, active_only: bool = False) -> list[m.ProcessRule]:
        stmt = select(m.ProcessRule)
        if period is not None:
            stmt = stmt.where(m.ProcessRule.period == period)
        if active_only:
            stmt = stmt.where(m.ProcessRule.active.is_(True))
        return list(self.session.scalars(stmt.order_by(m.ProcessRule.code)))

    def add_rewards(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Insert earned rewards; the ones already there (same rule, person, period) are skipped: the rows
        returned (rule_code, person_id, period, reward, amount) are the new ones only."""
        return upsert(self.session, table_of(m.ProcessReward), rows, ("rule_code", "person_id", "period"),
                      returning=("rule_code", "person_id", "period", "reward", "amount"))

    def settled(self, period: str) -> set[tuple[str, str]]:
        """(rule, person) pairs already rewarded in the period: not evaluated again."""
        r = table_of(m.ProcessReward)
        rows = self.session.execute(select(r.c.rule_code, r.c.person_id).where(r.c.period == period)).all()
        return {(rule, person) for rule, person in rows}  # plain tuples: a Row compares slowly

    def rewards(self, person_id: str, *, period: str | None = None, reward: str | None = None,
                between: tuple[date, date] | None = None) -> list[m.ProcessReward]:
        r = m.ProcessReward
        stmt = select(r).where(r.person_id == person_id)
        if period is not None:
            stmt = stmt.where(r.period == period)
        if reward is not None:
            stmt = stmt.where(r.reward == reward)
        if between is not None:
            stmt = stmt.where(r.period_start >= between[0], r.period_start <= between[1])
        return list(self.session.scalars(stmt.order_by(r.period, r.rule_code)))

    def proposal(self, proposal_id: str, *, lock: bool = False) -> m.Proposal | None:
        stmt = select(m.Proposal).where(m.Proposal.id == proposal_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def proposal_for_rating(self, pool_code: str, person_id: str, rating_id: str, version: int) -> m.Proposal | None:
        p = m.Proposal
        return self.session.scalars(select(p).where(p.pool_code == pool_code, p.person_id == person_id,
                                                    p.rating_id == rating_id, p.rating_version == version)).first()

    def current_proposal(self, pool_code: str, person_id: str, *, lock: bool = False) -> m.Proposal | None:
        p = m.Proposal
        stmt = (select(p).where(p.pool_code == pool_code, p.person_id == person_id)
                .order_by(p.version.desc()).limit(1))
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def committed(self, pool_code: str, statuses: Sequence[str], *, except_person: str | None = None) -> Decimal:
        p = m.Proposal
        stmt = select(func.coalesce(func.sum(p.total), 0)).where(p.pool_code == pool_code, p.status.in_(statuses))
        if except_person is not None:
            stmt = stmt.where(p.person_id != except_person)
        return Decimal(self.session.execute(stmt).scalar_one())

    def proposals(self, *, pool_code: str | None, person_id: str | None, status: str | None,
                  limit: int) -> list[m.Proposal]:
        p = m.Proposal
        stmt = select(p)
        if pool_code is not None:
            stmt = stmt.where(p.pool_code == pool_code)
        if person_id is not None:
            stmt = stmt.where(p.person_id == person_id)
        if status is not None:
            stmt = stmt.where(p.status == status)
        return list(self.session.scalars(stmt.order_by(p.created_at.desc(), p.version.desc(), p.id).limit(limit)))


def _offer_statement() -> Any:
    r, b, p = table_of(m.Reward), table_of(m.Balance), people_table
    balance = select(b.c.balance).where(b.c.account == bindparam("account")).scalar_subquery()
    person = and_(p.c.person_id == bindparam("person_id"), p.c.erased.is_(False))
    return (select(r.c.code, r.c.cost, r.c.stock, r.c.eligibility, r.c.requires_approval, r.c.active,
                   func.coalesce(balance, 0).label("balance"), p.c.person_id, p.c.grade, p.c.hired_on)
            .select_from(r.outerjoin(p, person)).where(r.c.code == bindparam("code")))


_OFFER = _offer_statement()  # built once: the redemption path runs it 50 times at once

# A redemption's writes in one statement (PostgreSQL): the person's balance by a conditional update, then (only if
# it was covered) the stock by a conditional update, then (only if there was stock) the redemption row and the
# ledger's two entries. The balance's CTE is referenced by the stock's, so it runs first: balances before stock,
# as in refunds, so the two locks are never taken in opposite orders. The stock row's lock, which every redeemer
# of the item waits for, is held from this statement to the commit (the outbox row and COMMIT: two round trips).
_SPEND_ON_REWARD = text("""
WITH spent AS (
    UPDATE inc_balances SET balance = balance - :points
    WHERE account = :account AND balance >= :points
    RETURNING balance
), taken AS (
    UPDATE inc_rewards SET stock = stock - :quantity
    WHERE code = :code AND active AND (stock IS NULL OR stock >= :quantity) AND EXISTS (SELECT FROM spent)
    RETURNING code
), redemption AS (
    INSERT INTO inc_redemptions (id, person_id, reward_code, quantity, points, status, approval, refunded, note,
                                 created_at, updated_at)
    SELECT :id, :person_id, :code, :quantity, :points, :status, CAST(:approval AS json), false, :note, :at, :at
    FROM taken
    RETURNING id
), ledger AS (
    INSERT INTO inc_ledger (transaction_id, account, delta, kind, reason, ref, at)
    SELECT :transaction_id, e.account, e.delta, :kind, :reason, :ref, :at
    FROM taken, (VALUES (:account, CAST(:debit AS bigint)), (:sink, CAST(:points AS bigint))) AS e(account, delta)
    RETURNING id
)
SELECT EXISTS (SELECT FROM spent) AS covered, EXISTS (SELECT FROM taken) AS taken,
       (SELECT count(*) FROM redemption) + (SELECT count(*) FROM ledger) AS written
""")


# The offers of many (reward, person) pairs in one read (PostgreSQL), for OfferReads.
_OFFERS = text(f"""
SELECT q.code AS asked_code, q.person_id AS asked_by, r.code, r.cost, r.stock, r.eligibility, r.requires_approval,
       r.active, coalesce(b.balance, 0) AS balance, p.person_id, p.grade, p.hired_on
FROM unnest(CAST(:codes AS text[]), CAST(:people AS text[])) AS q(code, person_id)
JOIN inc_rewards r ON r.code = q.code
LEFT JOIN {people_table.name} p ON p.person_id = q.person_id AND p.erased IS false
LEFT JOIN inc_balances b ON b.account = 'person:' || q.person_id
""").columns(eligibility=m.Reward.__table__.c.eligibility.type)


# Transfers from one source, two ledger entries each, written by the database from one row each (append_transfers).
_APPEND_TRANSFERS = text("""
INSERT INTO inc_ledger (transaction_id, account, delta, kind, reason, ref, at)
SELECT t.txn, side.account, side.sign * t.points, :kind, t.reason, t.ref, :at
FROM unnest(CAST(:txns AS text[]), CAST(:accounts AS text[]), CAST(:points AS bigint[]), CAST(:reasons AS text[]),
            CAST(:refs AS text[])) WITH ORDINALITY AS t(txn, account, points, reason, ref, n)
CROSS JOIN LATERAL (VALUES (1, CAST(:source AS text), -1), (2, t.account, 1)) AS side(k, account, sign)
ORDER BY t.n, side.k
""")


class _Ask:
    __slots__ = ("code", "done", "failed", "lead", "person_id", "row")

    def __init__(self, code: str, person_id: str):
        self.code, self.person_id = code, person_id
        self.done = threading.Event()
        self.lead, self.failed = False, False
        self.row: Any = None


class OfferReads:
    """The redemptions' offer reads of one process (one engine), gathered: a read asked for while another is in
    flight waits for that one to end and goes out with the next, in one statement with every other asked for
    meanwhile; the first of them sends it, on its own session. So 50 people asking at once cost a few reads, and
    the ones refused (the item sold out, the balance too small) never take a connection. Each row is read after
    its caller asked (never an answer read before the question), so a refusal decided on it is as true as one
    decided on a read of its own. PostgreSQL only (SQLite's one connection serializes anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Ask] = []
        self._busy = False

    def read(self, session: Session, code: str, person_id: str) -> Any:
        ask = _Ask(code, person_id)
        with self._lock:
            self._waiting.append(ask)
            lead = not self._busy
            self._busy = True
        if not lead:
            ask.done.wait()
            if not ask.lead:
                if ask.failed:  # the leader's read failed: read alone (its own error, if any, is then ours)
                    return _read_offer(session, code, person_id)
                return ask.row
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            rows = {(r.asked_code, r.asked_by): r for r in session.execute(_OFFERS, {
                "codes": [a.code for a in batch], "people": [a.person_id for a in batch]})}
        except BaseException:
            for other in batch:
                other.failed = other is not ask
            raise
        else:
            for other in batch:
                other.row = rows.get((other.code, other.person_id))
        finally:
            with self._lock:  # the next batch is led by the first who waits for it
                if self._waiting:
                    self._waiting[0].lead = True
                    self._waiting[0].done.set()
                else:
                    self._busy = False
            for other in batch:
                if other is not ask:
                    other.done.set()
        return ask.row


_offer_reads: weakref.WeakKeyDictionary[Any, OfferReads] = weakref.WeakKeyDictionary()


class StockGate:
    """The redemptions of one process (one engine) writing each item's stock now, in units. When 50 people ask for
    the last 5 at once, the first wave of workers all read stock 5: without the gate ~11 of them try the write and
    queue behind the winners' lock on the stock's row, then lose and roll back. With it, a redemption whose read
    stock does not cover what is already being written (`may_try_stock`) waits for those writes to end (commit or
    roll back) and decides on a fresh read: a refusal is still decided on a row read after the writers ended.
    Only a hint within a process; the stock's conditional update stays the guard (other processes, a timeout)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._writing: dict[str, int] = {}

    def admit(self, code: str, quantity: int, stock: int | None) -> bool:
        """True (and counted as writing until `release`) when the stock as read covers this and the writes in
        flight."""
        with self._changed:
            writing = self._writing.get(code, 0)
            if not may_try_stock(stock, writing, quantity):
                return False
            self._writing[code] = writing + quantity
            return True

    def release(self, code: str, quantity: int) -> None:
        """An admitted redemption's unit of work has ended (committed or rolled back)."""
        with self._changed:
            left = self._writing.get(code, 0) - quantity
            if left > 0:
                self._writing[code] = left
            else:
                self._writing.pop(code, None)
            self._changed.notify_all()

    def wait_idle(self, code: str, timeout: float) -> bool:
        """Wait until nobody in this process writes the item's stock; False when `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: code not in self._writing, timeout)


_stock_gates: weakref.WeakKeyDictionary[Any, StockGate] = weakref.WeakKeyDictionary()


def _read_offer(session: Session, code: str, person_id: str) -> Any:
    return session.execute(_OFFER, {"code": code, "person_id": person_id, "account": f"person:{person_id}"}).first()


class Spent(NamedTuple):
    covered: bool  # the balance covered the points (False: nothing was written)
    taken: bool  # and the stock the quantity (False: the balance was moved; the caller must roll back)


class PointsRepository:
    def __init__(self, session: Session):
        self.session = session

    def ensure_accounts(self, accounts: Iterable[str]) -> None:
        upsert(self.session, table_of(m.Balance), [{"account": a, "balance": 0} for a in sorted(set(accounts))],
               ("account",))

    def credit(self, credits: Sequence[tuple[str, int]]) -> None:
        """Add positive amounts to many accounts in one statement (credits cannot overdraw anything)."""
        upsert(self.session, table_of(m.Balance), [{"account": a, "balance": d} for a, d in credits], ("account",),
               add=("balance",))

    def move(self, account: str, delta: int, may_go_negative: bool) -> int | None:
        """Add `delta` to the balance in one statement (the row lock serializes concurrent spends); None when it
        would go below zero."""
        b = table_of(m.Balance)
        stmt = update(b).where(b.c.account == account).values(balance=b.c.balance + delta)
        if not may_go_negative:
            stmt = stmt.where(b.c.balance + delta >= 0)
        row = self.session.execute(stmt.returning(b.c.balance)).first()
        return None if row is None else int(row[0])

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        table = table_of(m.LedgerEntry)
        if rows and self.session.get_bind().dialect.name == "postgresql":
            _unnest_insert(self.session, table, rows)
            return
        for start in range(0, len(rows), CHUNK):  # RETURNING: batched multi-row INSERTs (see upsert)
            self.session.execute(insert(table).returning(table.c.id), list(rows[start:start + CHUNK])).all()

    def append_transfers(self, kind: str, source: str, transfers: Sequence[tuple[str, str, int, str, str]],
                         at: datetime) -> None:
        """Many transfers from one source account, (transaction_id, account, points, reason, ref) each, appended as
        the two entries of each (the source's -points first, then the account's +points, one transaction id).
        On PostgreSQL set-wise: one row per transfer travels (an array per column) and the database writes both
        entries (INSERT ... SELECT with a two-row VALUES per transfer), in the order given."""
        if not transfers:
            return
        if self.session.get_bind().dialect.name != "postgresql":
            self.append([{"transaction_id": txn, "account": acc, "delta": delta, "kind": kind, "reason": reason,
                          "ref": ref, "at": at}
                         for txn, account, points, reason, ref in transfers
                         for acc, delta in ((source, -points), (account, points))])
            return
        for start in range(0, len(transfers), UNNEST_ROWS):
            chunk = transfers[start:start + UNNEST_ROWS]
            self.session.execute(_APPEND_TRANSFERS, {
                "kind": kind, "source": source, "at": at,
                **{name: _array_literal(t[i] for t in chunk)
                   for i, name in enumerate(("txns", "accounts", "points", "reasons", "refs"))}})

    def claim_fact(self, ref: str, at: Any) -> bool:
        """True for the one caller that records this fact as paid (a unique key: concurrent claims wait and lose)."""
        return bool(upsert(self.session, table_of(m.PaidFact), [{"ref": ref, "paid_at": at}], ("ref",),
                           returning=("ref",)))

    def balance(self, account: str) -> int:
        if account.startswith(("source:", "sink:")):  # no balance row: the ledger's sum
            e = m.LedgerEntry
            return int(self.session.execute(select(func.coalesce(func.sum(e.delta), 0))
                                            .where(e.account == account)).scalar_one())
        row = self.session.get(m.Balance, account)
        return 0 if row is None else row.balance

    def entries(self, account: str, limit: int = 200) -> list[m.LedgerEntry]:
        e = m.LedgerEntry
        return list(self.session.scalars(select(e).where(e.account == account).order_by(e.id.desc()).limit(limit)))

    def reward(self, code: str, *, lock: bool = False) -> m.Reward | None:
        stmt = select(m.Reward).where(m.Reward.code == code)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def rewards(self) -> list[m.Reward]:
        return list(self.session.scalars(select(m.Reward).order_by(m.Reward.code)))

    def offer(self, code: str, person_id: str) -> Any:
        """What a redemption is decided on, in one read and no lock: the menu item (code, cost, stock, eligibility,
        requires_approval, active), the person's balance and directory card (person_id, grade, hired_on; None when
        not in the directory). None when the reward does not exist. On PostgreSQL, gathered with the reads other
        redemptions of this process ask for at the same time (OfferReads): the row may come from another session's
        connection, so call it before this unit of work has written or locked anything (it sees committed rows)."""
        bind = self.session.get_bind()
        if bind.dialect.name != "postgresql":
            return _read_offer(self.session, code, person_id)
        engine = getattr(bind, "engine", bind)  # a session bound to engine.execution_options(): the same pool
        reads = _offer_reads.get(engine)
        if reads is None:
            reads = _offer_reads.setdefault(engine, OfferReads())
        return reads.read(self.session, code, person_id)

    def stock_gate(self) -> StockGate | None:
        """The process's StockGate for this engine (PostgreSQL; None on SQLite, whose one connection serializes)."""
        bind = self.session.get_bind()
        if bind.dialect.name != "postgresql":
            return None
        engine = getattr(bind, "engine", bind)
        gate = _stock_gates.get(engine)
        if gate is None:
            gate = _stock_gates.setdefault(engine, StockGate())
        return gate

    def spend_on_reward(self, redemption: dict[str, Any], ledger_rows: Sequence[dict[str, Any]]) -> Spent:
        """A redemption's writes: the debited account's balance (the first ledger row's account, which must cover
        it), then the stock, then the redemption row and the ledger. One statement on PostgreSQL; elsewhere the same
        steps one by one. When `taken` is False the caller must roll back (the balance may have moved)."""
        debit, credit = ledger_rows
        if self.session.get_bind().dialect.name == "postgresql":
            # the approval as the column's JSON type spells it (None is JSON null: the column is NOT NULL)
            to_json = table_of(m.Redemption).c.approval.type.bind_processor(self.session.get_bind().dialect)
            row = self.session.execute(_SPEND_ON_REWARD, {
                **{k: redemption[k] for k in ("id", "person_id", "quantity", "points", "status", "note")},
                "code": redemption["reward_code"], "at": redemption["created_at"],
                "approval": to_json(redemption["approval"]) if to_json else json.dumps(redemption["approval"]),
                "account": debit["account"], "debit": debit["delta"], "sink": credit["account"],
                "transaction_id": debit["transaction_id"], "kind": debit["kind"], "reason": debit["reason"],
                "ref": debit["ref"]}).one()
            return Spent(bool(row.covered), bool(row.taken))
        if self.move(debit["account"], debit["delta"], False) is None:
            return Spent(False, False)
        if not self.take_stock(redemption["reward_code"], redemption["quantity"]):
            return Spent(True, False)
        self.add_redemption(redemption)
        self.append(ledger_rows)
        return Spent(True, True)

    def add_redemption(self, row: dict[str, Any]) -> None:
        """One plain INSERT (no ORM unit of work to flush on the redemption path)."""
        self.session.execute(insert(table_of(m.Redemption)).values(**row))

    def take_stock(self, code: str, quantity: int) -> bool:
        r = table_of(m.Reward)
        stmt = (update(r).where(r.c.code == code, r.c.active.is_(True),
                                (r.c.stock.is_(None)) | (r.c.stock >= quantity))
                .values(stock=r.c.stock - quantity).returning(r.c.code))
        return self.session.execute(stmt).first() is not None

    def return_stock(self, code: str, quantity: int) -> None:
        r = table_of(m.Reward)
        self.session.execute(update(r).where(r.c.code == code, r.c.stock.is_not(None))
                             .values(stock=r.c.stock + quantity))

    def redemption(self, redemption_id: str, *, lock: bool = False) -> m.Redemption | None:
        stmt = select(m.Redemption).where(m.Redemption.id == redemption_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def leave_state(self, redemption_id: str, from_states: Sequence[str], to: str, refunded: bool, at) -> bool:
        """Move a redemption out of one of `from_states` in one conditional statement: True for the one caller
        that moved it (so a refund happens exactly once)."""
        r = table_of(m.Redemption)
        values: dict[str, Any] = {"status": to, "updated_at": at}
        if refunded:
            values["refunded"] = True
        stmt = (update(r).where(r.c.id == redemption_id, r.c.status.in_(list(from_states)))
                .values(**values).returning(r.c.id))
        return self.session.execute(stmt).first() is not None

    def redemptions(self, person_id: str | None, status: str | None, limit: int = 200) -> list[m.Redemption]:
        r = m.Redemption
        stmt = select(r)
        if person_id is not None:
            stmt = stmt.where(r.person_id == person_id)
        if status is not None:
            stmt = stmt.where(r.status == status)
        return list(self.session.scalars(stmt.order_by(r.created_at.desc(), r.id).limit(limit)))


class TalentRepository:
    def __init__(self, session: Session):
        self.session = session

    def idp(self, person_id: str, review_cycle_id: str | None = None, *, lock: bool = False) -> m.Idp | None:
        stmt = select(m.Idp).where(m.Idp.person_id == person_id)
        if review_cycle_id is not None:
            stmt = stmt.where(m.Idp.review_cycle_id == review_cycle_id)
        stmt = stmt.order_by(m.Idp.created_at.desc()).limit(1)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def idp_by_id(self, plan_id: str, *, lock: bool = False) -> m.Idp | None:
        stmt = select(m.Idp).where(m.Idp.id == plan_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def actions(self, plan_id: str) -> list[m.IdpAction]:
        return list(self.session.scalars(select(m.IdpAction).where(m.IdpAction.plan_id == plan_id)
                                         .order_by(m.IdpAction.priority, m.IdpAction.code)))

    def potential(self, person_id: str, review_cycle_id: str, *, lock: bool = False) -> m.Potential | None:
        stmt = select(m.Potential).where(m.Potential.person_id == person_id,
                                         m.Potential.review_cycle_id == review_cycle_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def levels(self, review_cycle_id: str) -> dict[str, str]:
        """person -> potential (calibrated, else assessed) in the cycle, in one query."""
        t = table_of(m.Potential)
        level = func.coalesce(t.c.calibrated, t.c.assessed)
        return dict(self.session.execute(select(t.c.person_id, level)
                                         .where(t.c.review_cycle_id == review_cycle_id, level.is_not(None))).all())

    def boxes(self, review_cycle_id: str) -> dict[str, str]:
        """person -> 9-box placement in the cycle, in one query."""
        t = table_of(m.Placement)
        return dict(self.session.execute(select(t.c.person_id, t.c.box)
                                         .where(t.c.review_cycle_id == review_cycle_id)).all())

    def potentials(self, review_cycle_id: str, people: Sequence[str]) -> dict[str, m.Potential]:
        out = {}
        for start in range(0, len(people), CHUNK):
            for row in self.session.scalars(select(m.Potential).where(
                    m.Potential.review_cycle_id == review_cycle_id,
                    m.Potential.person_id.in_(people[start:start + CHUNK]))):
                out[row.person_id] = row
        return out

    def placements(self, review_cycle_id: str, people: Sequence[str]) -> dict[str, m.Placement]:
        out = {}
        for start in range(0, len(people), CHUNK):
            for row in self.session.scalars(select(m.Placement).where(
                    m.Placement.review_cycle_id == review_cycle_id,
                    m.Placement.person_id.in_(people[start:start + CHUNK]))):
                out[row.person_id] = row
        return out

    def place(self, row: dict) -> None:
        upsert(self.session, table_of(m.Placement), [row], ("person_id", "review_cycle_id"),
               ("box", "performance", "potential", "placed_at"))

    def nomination(self, nomination_id: str, *, lock: bool = False) -> m.Nomination | None:
        stmt = select(m.Nomination).where(m.Nomination.id == nomination_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def star(self, star_id: str, *, lock: bool = False) -> m.Star | None:
        stmt = select(m.Star).where(m.Star.id == star_id)
        return self.session.scalars(stmt.with_for_update() if lock else stmt).first()

    def flag_rotations(self, managers: Sequence[tuple[str, Decimal]], cycles: str, at: datetime) -> set[str]:
        """Record the suspicions (manager, score) over these cycles in one statement; the managers not flagged
        for them before (the ones to publish)."""
        rows = [{"manager_id": manager, "cycles": cycles, "score": score, "flagged_at": at}
                for manager, score in managers]
        return {row[0] for row in upsert(self.session, table_of(m.RotationFlag), rows, ("manager_id", "cycles"),
                                         returning=("manager_id",))}


class IncentivesUnitOfWork(AccessUnitOfWork):
    """The incentives unit of work: `uow.access` (chassis.access) and the repositories."""

    def open(self, session: Session) -> None:
        super().open(session)
        self.people = PeopleRepository(session)
        self.inputs = InputsRepository(session)
        self.bonus = BonusRepository(session)
        self.points = PointsRepository(session)
        self.talent = TalentRepository(session)
