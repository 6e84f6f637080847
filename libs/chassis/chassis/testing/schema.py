"""Schema drift: what alembic's autogenerate would still change after the migrations ran (empty = in step)."""
from __future__ import annotations

from importlib import import_module
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chassis.db import chassis_metadata, create_db_engine


def schema_drift(package: str, url: str) -> list[Any]:
    metadata = import_module(f"{package}.models").Base.metadata
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            # alembic compares against a sequence of MetaData (as its target_metadata allows); its annotation says one
            return [diff for diff in compare_metadata(context, [metadata, chassis_metadata])  # type: ignore[arg-type]
                    if not _ignorable(diff)]
    finally:
        engine.dispose()


def _ignorable(diff: Any) -> bool:  # one of alembic's diff tuples or lists
    # alembic's own bookkeeping table is not part of the models
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"
