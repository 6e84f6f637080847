"""Alembic, the same way for every service: migrations live in the service package (`<package>/migrations`),
and the chassis's own tables (outbox, inbox) are created by explicit, versioned helpers that a service's
migration calls.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from chassis.db import NAMING_CONVENTION, chassis_metadata


def alembic_config(package: str, url: str) -> Config:
    # Found through the package's own file: from the repository root a project folder named like its package
    # (gateway/gateway) shadows it as a namespace package, and "package:migrations" would look in the wrong place.
    location = Path(import_module(f"{package}.models").__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service_package"] = package
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(package, url), revision)


def downgrade(package: str, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(package, url), revision)


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    metadata = [target_metadata, chassis_metadata]
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from chassis.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def create_chassis_tables_v1(op) -> None:
    """Outbox and inbox, version 1. Call from a service's first migration."""
    from chassis.db import BigId, UTCDateTime

    op.create_table(
        "chassis_outbox",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.PrimaryKeyConstraint("seq", name="pk_chassis_outbox"),
        sa.UniqueConstraint("event_id", name="uq_chassis_outbox_event_id"),
    )
    op.create_index("ix_chassis_outbox_pending", "chassis_outbox", ["seq"],
                    sqlite_where=sa.text("sent_at IS NULL"), postgresql_where=sa.text("sent_at IS NULL"))
    op.create_index("ix_chassis_outbox_sent_at", "chassis_outbox", ["sent_at"])
    op.create_table(
        "chassis_inbox",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("handler", sa.String(200), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", "handler", name="pk_chassis_inbox"),
    )
    op.create_index("ix_chassis_inbox_processed_at", "chassis_inbox", ["processed_at"])


def drop_chassis_tables_v1(op) -> None:
    op.drop_table("chassis_inbox")
    op.drop_table("chassis_outbox")


__all__ = ["NAMING_CONVENTION", "alembic_config", "create_chassis_tables_v1", "downgrade",
           "drop_chassis_tables_v1", "run_env", "upgrade"]
