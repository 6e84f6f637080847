"""Lazy BEGIN: a PostgreSQL optimisation of the unit of work, separate from what a unit of work means.

What a unit of work means (chassis.uow) does not change with it: everything a use case writes, the events it
publishes (outbox) and the event it handles (inbox) commit together or not at all; a failure rolls everything
back. What lazy BEGIN changes is when the transaction starts on the server:

- a unit of work's connection runs in the driver's autocommit mode until its first statement that writes or locks;
  that statement goes out as "BEGIN;<statement>" (one round trip, not two), and COMMIT or ROLLBACK is sent only when
  BEGIN was. A unit of work that only reads sends no BEGIN and no COMMIT at all (three round trips fewer);
- plain SELECTs before the first write run on their own. Under PostgreSQL's READ COMMITTED (the default, and what
  every service uses) each statement takes a fresh snapshot anyway, so the isolation a use case sees is the same.
  What is NOT the same: a use case that needs several reads to see one snapshot must take a lock first
  (`SELECT ... FOR UPDATE` / `FOR SHARE` starts the transaction) — the repositories' `lock=True` does;
- a server-side cursor (`yield_per`) keeps the driver's own transaction.

The setting: `<SERVICE>_DB_LAZY_BEGIN` (chassis.settings `db_lazy_begin`): unset means on for PostgreSQL; `false`
turns it off (the driver's ordinary BEGIN ... COMMIT around every unit of work), e.g. to rule it out when
investigating. SQLite never uses it: there the chassis takes `BEGIN IMMEDIATE` (chassis.db) so that writers queue
for the one write lock instead of deadlocking on an upgrade. The suite libs/chassis/tests/test_uow_backends.py runs
the unit of work's meaning on SQLite, PostgreSQL with lazy BEGIN and PostgreSQL without it.
"""
from __future__ import annotations

import re
import weakref
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

LAZY_BEGIN = {"jixiao_lazy_begin": True}  # the execution option of a unit of work's connection
_STATE = "jixiao_lazy_begin"  # in the pooled connection's info: "pending" until BEGIN went out, then "begun"
_PENDING, _BEGUN, _DRIVER = "pending", "begun", "driver"
# what may run before BEGIN: a SELECT that neither locks rows nor has effects of its own
_NOT_A_PLAIN_READ = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|\bINTO\b|nextval|setval"
                               r"|pg_advisory|pg_notify|set_config|txid_current|pg_current_xact_id", re.IGNORECASE)
_configured: weakref.WeakSet[Engine] = weakref.WeakSet()
# the verdict of `plain_read` per statement text: SQLAlchemy hands the same compiled strings over and over, and the
# regular expression took ~20 us on a short SELECT (~100 us on a long one), on every statement of every call
_VERDICTS: dict[str, bool] = {}
_VERDICTS_MAX = 4096  # distinct statements remembered (text() built per call with literals would grow it for ever)
_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE (no import of the driver at module load)


def plain_read(statement: str) -> bool:
    """A statement that may run before BEGIN: a SELECT that neither locks rows nor has effects of its own."""
    verdict = _VERDICTS.get(statement)
    if verdict is None:
        verdict = statement.lstrip()[:6].upper() == "SELECT" and not _NOT_A_PLAIN_READ.search(statement)
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.clear()
        _VERDICTS[statement] = verdict
    return verdict


def nothing_begun(connection: Connection) -> bool:
    """On a unit of work's connection with lazy BEGIN: no BEGIN went out yet, so every statement so far was a plain
    read in autocommit and the server holds no transaction to commit."""
    return connection.info.get(_STATE) == _PENDING


def wanted(engine: Engine, setting: bool | None = None) -> bool:
    """Whether units of work on this engine use lazy BEGIN: the setting when given, else on for PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return False
    return True if setting is None else bool(setting)


def lazy_begin(engine: Engine) -> bool:
    """Install lazy BEGIN on a PostgreSQL engine (once); True when units of work may use it.

    A unit of work's connection (execution option `jixiao_lazy_begin`) runs in the driver's autocommit mode until
    its first statement that is not a plain read, which goes out as "BEGIN;<statement>"; COMMIT or ROLLBACK is
    sent only when BEGIN was. A server-side cursor (`yield_per`) is left to the driver's own transaction."""
    if engine.dialect.name != "postgresql":
        return False
    if engine in _configured:
        return True
    _configured.add(engine)
    dialect = engine.dialect

    def finish(connection: Connection, sql: str | None) -> None:
        """End the lazy transaction (`sql`: COMMIT or ROLLBACK, when BEGIN went out) and leave autocommit."""
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None or dbapi_connection.closed:
            return
        try:
            if sql is not None:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute(sql)
                finally:
                    cursor.close()
        except dialect.loaded_dbapi.Error as error:
            if sql == "ROLLBACK":  # a broken connection must not go back to the pool
                connection.invalidate(error)
                return
            raise exc.DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
        finally:
            if not dbapi_connection.closed:
                dbapi_connection.autocommit = False

    @sa_event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        dbapi_connection: Any = connection.connection.dbapi_connection  # psycopg2's: .info, .autocommit
        # only on a connection that is idle in the driver (anything else keeps the driver's own transaction)
        if (connection.get_execution_options().get("jixiao_lazy_begin")
                and dbapi_connection.info.transaction_status == _IDLE):
            dbapi_connection.autocommit = True  # local to the driver: no round trip
            connection.info[_STATE] = _PENDING
        else:
            connection.info.pop(_STATE, None)

    @sa_event.listens_for(engine, "before_cursor_execute", retval=True)
    def _begin_with_first_write(connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                                executemany: bool) -> tuple[str, Any]:
        state = connection.info.get(_STATE)
        if state is None or state == _DRIVER:
            return statement, parameters
        if getattr(cursor, "name", None):  # server-side cursor: the driver's own transaction, or WITH HOLD in ours
            if state == _PENDING:
                driver: Any = connection.connection.dbapi_connection
                driver.autocommit = False
                connection.info[_STATE] = _DRIVER
            else:
                cursor.withhold = True
            return statement, parameters
        if state == _PENDING and not plain_read(statement):
            connection.info[_STATE] = _BEGUN
            if executemany:
                cursor.execute("BEGIN")
            else:
                statement = "BEGIN;" + statement
        return statement, parameters

    @sa_event.listens_for(engine, "commit")
    def _commit(connection: Connection) -> None:
        state = connection.info.pop(_STATE, None)
        if state in (_PENDING, _BEGUN):
            finish(connection, "COMMIT" if state == _BEGUN else None)

    @sa_event.listens_for(engine, "rollback")
    def _rollback(connection: Connection) -> None:
        if connection.invalidated:
            # the server dropped the connection mid-transaction (a restart, a stop): nothing to roll back, and
            # reading .info here raised PendingRollbackError over the real, transient error (a 500, not a 503)
            return
        state = connection.info.pop(_STATE, None)
        if state in (_PENDING, _BEGUN):
            finish(connection, "ROLLBACK" if state == _BEGUN else None)

    return True


__all__ = ["LAZY_BEGIN", "lazy_begin", "nothing_begun", "plain_read", "wanted"]
