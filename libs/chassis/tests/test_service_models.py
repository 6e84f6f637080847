"""chassis.models: the start every service's models.py shares (id types, the metadata with its naming convention and
the org read model), checked on a real SQLite database."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access.readmodel import TABLES as ORG_TABLES
from chassis.db import create_db_engine
from chassis.ids import new_id
from chassis.models import PersonId, Uuid, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Review(Base):
    __tablename__ = "example_reviews"
    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(PersonId, index=True)
    __table_args__ = (sa.UniqueConstraint("person_id", "id"),)


def test_the_metadata_holds_the_org_read_model_and_names_constraints_by_convention(tmp_path):
    assert {table.name for table in ORG_TABLES} <= set(Base.metadata.tables)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'models.db'}")
    try:
        Base.metadata.create_all(engine)
        inspector = sa.inspect(engine)
        assert {table.name for table in ORG_TABLES} | {"example_reviews"} <= set(inspector.get_table_names())
        assert [c["name"] for c in inspector.get_unique_constraints("example_reviews")] == \
            ["uq_example_reviews_person_id"]  # the convention: table and first column
        assert [i["name"] for i in inspector.get_indexes("example_reviews")] == ["ix_example_reviews_person_id"]
        columns = {c["name"]: c["type"] for c in inspector.get_columns("example_reviews")}
        assert (columns["id"].length, columns["person_id"].length) == (36, 128)
        assert len(new_id()) == columns["id"].length  # the ids a service makes fit the column made for them
    finally:
        engine.dispose()


def test_a_service_without_the_org_read_model_keeps_only_its_own_tables():
    metadata = service_metadata(org_read_model=False)
    assert not metadata.tables
    assert metadata.naming_convention == service_metadata().naming_convention
