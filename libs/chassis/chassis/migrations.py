"""Alembic, the same way for every service: migrations live in the service package (`<package>/migrations`),
and the chassis's own tables (outbox, inbox) are created by explicit, versioned helpers that a service's
migration calls.

From the command line (what the Kubernetes Job and the Deployments' init containers run, from the image as built:
migrations are found through the installed package, the database URL through the service's settings, nothing is
written to disk):

    python -m chassis.migrations upgrade goals [--package goals] [--config config/goals.yaml]
    python -m chassis.migrations wait goals [--timeout 600]    # until the schema is at this image's head (or newer)
    python -m chassis.migrations current goals
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from chassis.db import NAMING_CONVENTION, chassis_metadata


def alembic_config(package: str, url: str) -> Config:
    # Found through the package's own file: from the repository root a project folder named like its package
    # (gateway/gateway) shadows it as a namespace package, and "package:migrations" would look in the wrong place.
    location = Path(str(import_module(f"{package}.models").__file__)).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service_package"] = package
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(package, url), revision)


def downgrade(package: str, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(package, url), revision)


def heads(package: str, url: str) -> set[str]:
    """The head revisions of the package's migrations (what this code expects)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(package, url)).get_heads())


def current(url: str) -> set[str]:
    """The revisions the database is at (empty when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from chassis.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def is_migrated(package: str, url: str) -> bool:
    """True when the database is at this code's head or beyond it: a revision this code does not know is a newer
    release's (schema changes stay compatible for one release), so an old pod may still start during a rollout."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(package, url))
    at = current(url)
    if not at:
        return False
    known = {revision.revision for revision in script.walk_revisions()}
    if any(revision not in known for revision in at):
        return True
    reached: set[str] = set()
    for revision in at:
        reached.update(r.revision for r in script.iterate_revisions(revision, "base"))
    return set(script.get_heads()) <= reached


def wait_migrated(package: str, url: str, timeout: float, interval: float = 2.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if is_migrated(package, url):
                return True
        except Exception as error:  # the database may not accept connections yet: keep waiting
            print(f"waiting: {type(error).__name__}: {str(error)[:200]}", flush=True)
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _database_url(service: str, config_path: str | None) -> str:
    from chassis.settings import load_settings

    config: dict[str, Any] = {}
    if config_path:
        import yaml
        from nameko.cli.main import setup_yaml_parser  # ${ENV:default} substitution, as `nameko run` reads it

        setup_yaml_parser()
        with open(config_path) as handle:
            config = yaml.safe_load(handle) or {}
    return load_settings(service, config).effective_database_url


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chassis.migrations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["upgrade", "wait", "current"])
    parser.add_argument("service", help="the service name: its settings give the database URL "
                                        "(<SERVICE>_DATABASE_URL)")
    parser.add_argument("--package", help="the package holding migrations/ (default: the service name)")
    parser.add_argument("--config", help="the service's nameko config file (optional)")
    parser.add_argument("--timeout", type=float, default=600.0, help="wait: seconds before giving up")
    args = parser.parse_args(argv)
    package = args.package or args.service
    url = _database_url(args.service, args.config)
    if args.command == "upgrade":
        upgrade(package, url)
        print(f"{args.service}: at {', '.join(sorted(current(url)))}", flush=True)
        return 0
    if args.command == "current":
        print(f"{args.service}: at {', '.join(sorted(current(url))) or 'nothing'}; "
              f"this code's head {', '.join(sorted(heads(package, url)))}", flush=True)
        return 0 if is_migrated(package, url) else 1
    if wait_migrated(package, url, args.timeout):
        print(f"{args.service}: schema is migrated", flush=True)
        return 0
    print(f"{args.service}: schema not migrated after {args.timeout:.0f}s (at {sorted(current(url)) or 'nothing'}, "
          f"expected {sorted(heads(package, url))}): has the migration Job run?", flush=True)
    return 1


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

    engine = create_db_engine(str(url))
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def create_chassis_tables_v1(op: Any) -> None:
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


def drop_chassis_tables_v1(op: Any) -> None:
    op.drop_table("chassis_inbox")
    op.drop_table("chassis_outbox")


__all__ = ["NAMING_CONVENTION", "alembic_config", "create_chassis_tables_v1", "current", "downgrade",
           "drop_chassis_tables_v1", "heads", "is_migrated", "run_env", "upgrade", "wait_migrated"]


if __name__ == "__main__":
    import sys

    sys.exit(main())
