"""What every service's `models.py` starts with, defined once: the id column types and the metadata (the chassis'
naming convention, with the org read model's tables, which autogenerate and the schema-drift test must see).

    from chassis.models import PersonId, Uuid, service_metadata

    class Base(DeclarativeBase):
        metadata = service_metadata()
"""
from __future__ import annotations

from sqlalchemy import MetaData, String

from chassis.access.readmodel import include_org_read_model
from chassis.db import NAMING_CONVENTION

# Ids as every service stores them: a person's id (the directory's, up to 128 characters) and the uuid4 text of the
# ids a service makes itself (chassis.ids). One type object may serve every column that uses it.
PersonId = String(128)
Uuid = String(36)


def service_metadata(*, org_read_model: bool = True) -> MetaData:
    """A service's MetaData: the chassis naming convention (stable constraint names for migrations), and the org
    read model's tables unless the service keeps none (`org_read_model=False`)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if org_read_model:
        include_org_read_model(metadata)
    return metadata
