"""The gateway's own small database: Idempotency-Keys (remembered across restarts and replicas) and the org read
model (`chassis.access`, kept from compliance's directory events) that turns a token's subject into roles."""
from datetime import datetime

from sqlalchemy import Integer, MetaData, String, Text
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


include_org_read_model(Base.metadata)
