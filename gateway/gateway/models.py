"""The gateway's own small database: Idempotency-Keys (remembered across restarts and replicas) and the org read
model (`chassis.access`, kept from compliance's directory events) that turns a token's subject into roles."""
from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access import include_org_read_model
from chassis.db import NAMING_CONVENTION, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdempotencyRecord(Base):
    """One creating request a client asked to be done at most once: `pending` while it runs, then its answer."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(160), primary_key=True)  # "<actor kind>:<subject>"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was asked: method, path, body
    state: Mapped[str] = mapped_column(String(10))  # pending | done
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[str | None] = mapped_column(Text)  # JSON object of the replayed headers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdempotencyReply(Base):
    """What one RPC of an Idempotency-Key's request answered, kept when the request ended without a known outcome
    (a 504): a retry the service finds already carried out answers it (gateway.idempotency.FirstOutcomes)."""

    __tablename__ = "idempotency_replies"

    call_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # chassis.requestkeys.call_key
    reply: Mapped[str] = mapped_column(Text)  # the RPC reply, JSON
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


include_org_read_model(Base.metadata)


class RateLimitRow(Base):
    """One client's request budget shared by every replica (gateway.ratelimit, GCRA): the time (Unix seconds) at
    which its bucket is full again, and the last request's decision (read back by RETURNING)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float(precision=53))
    allowed: Mapped[bool] = mapped_column(Boolean)
