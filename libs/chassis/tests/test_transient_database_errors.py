"""A database that is down, restarting or that picked this transaction as a deadlock victim answers 503 (retry;
nothing happened), while a broken query stays a 500 — on the real PostgreSQL and SQLite."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from chassis.errors import ServiceUnavailable, is_transient_database_error, to_service_error
from chassis.testing.infra import test_pg_url


def raised(engine: sa.Engine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
        conn.execute(sa.text(sql))
    return caught.value


def test_an_unreachable_postgresql_is_a_503():
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/postgres",
                              connect_args={"connect_timeout": 2})
    error = raised(engine, "SELECT 1")
    assert is_transient_database_error(error)
    mapped = to_service_error(error)
    assert isinstance(mapped, ServiceUnavailable) and mapped.status == 503 and mapped.extra["retry_after"] == 1


def test_a_deadlock_victim_is_a_503_and_a_bad_query_a_500():
    engine = sa.create_engine(test_pg_url())
    deadlock = raised(engine, "DO $$ BEGIN RAISE EXCEPTION 'victim' USING ERRCODE = 'deadlock_detected'; END $$")
    assert isinstance(to_service_error(deadlock), ServiceUnavailable)
    serialization = raised(engine,
                           "DO $$ BEGIN RAISE EXCEPTION 'race' USING ERRCODE = 'serialization_failure'; END $$")
    assert isinstance(to_service_error(serialization), ServiceUnavailable)
    assert to_service_error(raised(engine, "SELECT * FROM no_such_table")) is None  # a bug: 500, logged
    engine.dispose()


def test_sqlite_locked_is_a_503_and_a_missing_table_is_not(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect_args={"timeout": 0.05})
    with engine.connect() as holder:
        holder.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        holder.commit()
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        holder.execute(sa.text("INSERT INTO t VALUES (1)"))
        other = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect_args={"timeout": 0.05})
        locked = raised(other, "INSERT INTO t VALUES (2)")
        holder.rollback()
    assert isinstance(to_service_error(locked), ServiceUnavailable)
    assert to_service_error(raised(engine, "SELECT * FROM missing")) is None


def test_a_connection_killed_mid_transaction_under_lazy_begin_stays_a_503():
    """The fault harness's last 500 with PostgreSQL stopping: the rollback after the lost connection read the lazy
    BEGIN's state from the invalidated connection and raised PendingRollbackError over the transient error."""
    from sqlalchemy.orm import Session

    from chassis.lazy_begin import lazy_begin

    engine = sa.create_engine(test_pg_url())
    assert lazy_begin(engine)
    killer = sa.create_engine(test_pg_url(), isolation_level="AUTOCOMMIT")
    try:
        with pytest.raises(DBAPIError) as caught, Session(engine) as session:
            try:
                pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                session.execute(sa.text("CREATE TEMP TABLE lost (x int)"))  # a write: BEGIN went out
                with killer.connect() as other:  # what a server shutdown does to every backend
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                session.execute(sa.text("SELECT 1"))
            finally:
                session.rollback()  # what the unit of work does on the way out
        assert isinstance(to_service_error(caught.value), ServiceUnavailable)
    finally:
        engine.dispose()
        killer.dispose()
