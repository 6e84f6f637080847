"""Engines and the chassis's own tables (outbox, inbox), shared by every service's database.

SQLite is the embedded default. Under eventlet a file database with concurrent writers needs a pool of one
connection (greenthreads then queue for it instead of tripping over SQLite's locks); an in-memory database
needs one static connection shared by every greenthread.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.pool import QueuePool, StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY

chassis_metadata = MetaData(naming_convention=NAMING_CONVENTION)

outbox_table = Table(
    "chassis_outbox",
    chassis_metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("subject", String(200)),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_chassis_outbox_pending", "seq", sqlite_where=text("sent_at IS NULL"),
          postgresql_where=text("sent_at IS NULL")),
    Index("ix_chassis_outbox_sent_at", "sent_at"),
)

inbox_table = Table(
    "chassis_inbox",
    chassis_metadata,
    Column("event_id", String(64), primary_key=True),
    Column("handler", String(200), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False, index=True),
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg2 here: eventlet makes it cooperative (SQLAlchemy 2.1 defaults to psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, pool_size: int = 10, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            engine = create_engine(url, echo=echo, poolclass=StaticPool,
                                   connect_args={"check_same_thread": False})
        else:
            engine = create_engine(url, echo=echo, poolclass=QueuePool, pool_size=1, max_overflow=0,
                                   pool_timeout=60, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is off so that BEGIN is ours (SQLAlchemy's recipe).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks

        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         pool_timeout=30, pool_recycle=1800)
