"""SQLAlchemy models owned by the feedback service (and only by it)."""
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from chassis.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
